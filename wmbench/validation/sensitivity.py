"""The sensitivity matrix: every corruption scored through the run's own scoring path,
and the properties the indices promise, checked on it.

Each corruption's futures are scored as predictions with the task's metrics by
:func:`~wmbench.metrics.scoring.score_episodes` (the references from the same cache a
run reads) and normalised into indices by :func:`~wmbench.results.headline.task_indices`,
exactly as a result's headline is. A corruption is compared with the true future on
the episodes it applies to, with the same bootstrap resamples (paired intervals).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.stats import spearmanr
from tqdm import tqdm

from wmbench.frames import unit_float
from wmbench.metrics import Truth, build_metrics
from wmbench.metrics.references import ReferenceCache
from wmbench.metrics.scoring import score_episodes
from wmbench.results.headline import SEED, bootstrap_counts, interval, task_indices
from wmbench.results.record import scoring_record
from wmbench.tasks.schema import Task
from wmbench.tasks.seeds import split_seeds
from wmbench.validation.corruptions import CATALOGUE, Corruption, ladder_shows
from wmbench.worlds.cache import EpisodeCache
from wmbench.worlds.episode import Episode

#: Areas whose indices carry the promises.
AREAS = ("physics", "coherence")
#: Every physical violation costs the physics index at least this much (points) ...
PHYSICAL_DROP = 15.0
#: ... and a mild appearance change at most this much (physics and coherence alike); a
#: temporal incoherence costs the coherence index at least ``PHYSICAL_DROP``.
APPEARANCE_DROP = 10.0
#: A ladder's index may rise by this much from one rung to the next and still fall monotonically.
LADDER_TOLERANCE = 0.5


@dataclass
class TaskScores:
    """One task's scored corruptions: per corruption, a row per episode it applies to
    (``None`` where it does not), in the order of ``episodes``."""

    task: Task
    episodes: list[Episode]
    record: dict[str, Any]
    rows: dict[str, list[dict[str, Any] | None]] = field(default_factory=dict)


def _rows(
    task: Task,
    episodes: list[Episode],
    futures: list[np.ndarray],
    metrics: dict,
    references: ReferenceCache | None,
    batch_size: int,
) -> list[dict[str, Any]]:
    """Score ``futures`` as predictions of ``episodes``, in batches, as a run does."""
    rows = []
    for start in range(0, len(episodes), batch_size):
        batch = episodes[start : start + batch_size]
        truth = Truth(
            frames=unit_float(np.stack([e.future_frames for e in batch])),
            context=unit_float(np.stack([e.context_frames for e in batch])),
            episodes=batch,
        )
        pred = unit_float(np.stack(futures[start : start + batch_size]))
        for episode, scored in zip(batch, score_episodes(metrics, pred, truth, references)):
            rows.append({"task": task.name, "seed": episode.seed, "status": "ok", **scored})
    return rows


def score_task(
    task: Task,
    episodes: list[Episode],
    references: ReferenceCache | None,
    corruptions: Iterable[Corruption] = CATALOGUE,
    batch_size: int = 8,
    progress: Callable[[str], None] = lambda name: None,
) -> TaskScores:
    """Every corruption of ``episodes`` scored with the task's metrics."""
    metrics, _ = build_metrics(task.metrics, task.source)
    scores = TaskScores(task, episodes, scoring_record(task))
    ladders: dict[str, list[bool]] = {}
    for corruption in corruptions:
        if corruption.parameter is not None and corruption.parameter not in ladders:
            ladders[corruption.parameter] = [ladder_shows(corruption.parameter, task, e) for e in episodes]
        shows = ladders.get(corruption.parameter or "", [True] * len(episodes))
        futures = [corruption.make(task, e) if ok else None for e, ok in zip(episodes, shows)]
        kept = [(i, f) for i, f in enumerate(futures) if f is not None]
        rows = _rows(task, [episodes[i] for i, _ in kept], [f for _, f in kept], metrics, references, batch_size)
        scores.rows[corruption.name] = [None] * len(episodes)
        for (i, _), row in zip(kept, rows):
            scores.rows[corruption.name][i] = row
        progress(corruption.name)
    return scores


# -- indices and comparisons -----------------------------------------------------------------


@dataclass
class Scored:
    """A corruption's indices and normalised scores on one task, beside the truth's on
    the same episodes and resamples: ``(1 + B,)`` arrays (the point, then resamples)."""

    episodes: int
    indices: dict[str, np.ndarray]
    truth: dict[str, np.ndarray]
    metrics: dict[str, dict[str, Any]]

    def index(self, area: str) -> float | None:
        return float(self.indices[area][0]) if area in self.indices else None

    def drop(self, area: str) -> tuple[float, list[float] | None] | None:
        """How much lower than the truth's the index is: the point and its 95% interval."""
        if area not in self.indices or area not in self.truth:
            return None
        drop = self.truth[area] - self.indices[area]
        return float(drop[0]), interval(drop[1:])


def compare(scores: TaskScores, name: str) -> Scored | None:
    """Corruption ``name`` against the true future on the episodes it applies to; ``None``
    where it applies to none."""
    rows = scores.rows[name]
    kept = [i for i, row in enumerate(rows) if row is not None]
    if not kept:
        return None
    counts = bootstrap_counts(np.random.default_rng(SEED), len(kept))
    truth_rows = [row for i in kept if (row := scores.rows["truth"][i]) is not None]
    metrics, indices = task_indices([row for row in rows if row is not None], scores.record, counts)
    _, truth = task_indices(truth_rows, scores.record, counts)
    return Scored(len(kept), indices, truth, metrics)


# -- the properties --------------------------------------------------------------------------


@dataclass
class Check:
    """One property on one task: what was measured and whether it holds."""

    task: str
    subject: str
    passed: bool
    detail: str

    def __post_init__(self) -> None:
        self.passed = bool(self.passed)  # comparisons of numpy scalars give numpy bools, which JSON refuses


@dataclass
class Property:
    name: str
    promise: str
    checks: list[Check] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)


def _fmt(value: float | None, interval: list[float] | None = None) -> str:
    if value is None:
        return "-"
    return f"{value:.1f}" + (f" [{interval[0]:.1f}, {interval[1]:.1f}]" if interval else "")


def _areas(scored: Scored | None) -> list[str]:
    return [] if scored is None else [a for a in AREAS if a in scored.indices]


def check_properties(tasks: list[TaskScores]) -> list[Property]:
    """The promises of the indices (docs/metrics.md, "Properties"), checked per task."""
    anchors = Property("anchors", "the true future scores 100 and the frozen world 0 (within the interval)")
    physical = Property(
        "physical_violations_cost",
        f"every physical violation scores at least {PHYSICAL_DROP:g} "
        "points below the truth on the physics index (the whole interval)",
    )
    appearance = Property(
        "appearance_is_harmless",
        f"every mild appearance change loses at most {APPEARANCE_DROP:g} "
        "points on the physics and coherence indices (the whole interval)",
    )
    ordering = Property(
        "physics_below_appearance",
        "every physical violation scores below every mild appearance change on the physics index",
    )
    coherence = Property(
        "incoherence_costs",
        f"every temporal incoherence scores at least {PHYSICAL_DROP:g} points "
        "below the truth on the coherence index (the whole interval)",
    )
    graded = Property(
        "graded",
        "along a ladder of physical error the physics index never rises (by more than "
        f"{LADDER_TOLERANCE:g}); Spearman correlation of error and index reported",
    )
    kinds = {c.name: c.kind for c in CATALOGUE}
    for scores in tasks:
        name = scores.task.name
        compared = {c: compare(scores, c) for c in scores.rows}
        truth, frozen = compared.get("truth"), compared.get("frozen")
        if truth is None:
            continue
        for area in _areas(truth):
            t_index, f_index = truth.indices[area], frozen.indices[area] if frozen else None
            t_ci = interval(t_index[1:])
            ok = t_ci is not None and t_ci[1] >= 100 - 1e-9 and t_index[0] >= 100 - 1e-9
            anchors.checks.append(Check(name, f"truth {area}", ok, _fmt(t_index[0], t_ci)))
            if f_index is not None:
                f_ci = interval(f_index[1:])
                ok = f_ci is not None and f_ci[0] <= 1e-9
                anchors.checks.append(Check(name, f"frozen {area}", ok, _fmt(f_index[0], f_ci)))
        physics_points: dict[str, list[tuple[str, float]]] = {"physical": [], "appearance": []}
        for corruption, scored in compared.items():
            kind = kinds.get(corruption)
            if scored is None or kind not in ("physical", "appearance", "coherence"):
                continue
            for area in _areas(scored):
                drop, ci = scored.drop(area)  # type: ignore[misc]
                label = f"{corruption} {area} drop {_fmt(drop, ci)} ({scored.episodes} episodes)"
                if kind == "physical" and area == "physics":
                    physical.checks.append(Check(name, corruption, ci is not None and ci[0] >= PHYSICAL_DROP, label))
                elif kind == "appearance":
                    appearance.checks.append(
                        Check(name, f"{corruption} {area}", ci is not None and ci[1] <= APPEARANCE_DROP, label)
                    )
                elif kind == "coherence" and area == "coherence":
                    coherence.checks.append(Check(name, corruption, ci is not None and ci[0] >= PHYSICAL_DROP, label))
                if area == "physics" and kind in physics_points:
                    physics_points[kind].append((corruption, float(scored.indices[area][0])))
        if physics_points["physical"] and physics_points["appearance"]:
            worst_look = min(physics_points["appearance"], key=lambda x: x[1])
            best_violation = max(physics_points["physical"], key=lambda x: x[1])
            ordering.checks.append(
                Check(
                    name,
                    f"{best_violation[0]} vs {worst_look[0]}",
                    best_violation[1] < worst_look[1],
                    f"highest violation {best_violation[0]} {best_violation[1]:.1f} < lowest "
                    f"appearance change {worst_look[0]} {worst_look[1]:.1f}",
                )
            )
        graded.checks += _ladder_checks(scores, compared)
    return [anchors, physical, appearance, ordering, coherence, graded]


def ladders(scores: TaskScores) -> dict[str, list[Corruption]]:
    out: dict[str, list[Corruption]] = {}
    for corruption in CATALOGUE:
        if corruption.parameter is not None and corruption.name in scores.rows:
            out.setdefault(corruption.parameter, []).append(corruption)
    return out


def ladder_points(
    rungs: list[Corruption], compared: dict[str, Scored | None]
) -> tuple[list[tuple[float, float]], int] | None:
    """``(relative error, physics index)`` from the truth (error 0) up the ladder, and the
    episodes scored; ``None`` where the parameter shows on no episode."""
    first = compared.get(rungs[0].name)
    if first is None or "physics" not in first.indices:
        return None
    points = [(0.0, float(first.truth["physics"][0]))]
    for rung in rungs:
        scored = compared.get(rung.name)
        if scored is not None and "physics" in scored.indices:
            points.append((rung.error, float(scored.indices["physics"][0])))
    return points, first.episodes


def _ladder_checks(scores: TaskScores, compared: dict[str, Scored | None]) -> list[Check]:
    checks = []
    for parameter, rungs in ladders(scores).items():
        found = ladder_points(rungs, compared)
        if found is None:
            continue
        points, episodes = found
        errors, index = np.abs([p[0] for p in points]), np.array([p[1] for p in points])
        rho = float(spearmanr(errors, index).statistic) if np.ptp(index) > 0 else float("nan")
        rises = float(np.max(np.diff(index), initial=0.0))
        steps = ", ".join(f"{e:+.0%}: {v:.1f}" for e, v in points)
        passed = rises <= LADDER_TOLERANCE and np.ptp(index) > 0
        detail = f"{parameter} {steps}; Spearman {rho:.2f} on {episodes} episodes"
        checks.append(Check(scores.task.name, parameter, bool(passed), detail))
    return checks


def matrix(tasks: list[TaskScores]) -> dict[str, Any]:
    """Per corruption: each task's indices (with intervals) and normalised metric scores,
    and the mean over the tasks it applies to."""
    out: dict[str, Any] = {}
    for corruption in CATALOGUE:
        per_task: dict[str, dict[str, Any]] = {}
        for scores in tasks:
            if corruption.name not in scores.rows:
                continue
            scored = compare(scores, corruption.name)
            if scored is None:
                continue
            per_task[scores.task.name] = {
                "episodes": scored.episodes,
                "areas": {a: {"score": float(v[0]), "ci": interval(v[1:])} for a, v in scored.indices.items()},
                "metrics": {m: e["score"] for m, e in scored.metrics.items()},
            }
        if not per_task:
            continue
        areas = sorted({a for t in per_task.values() for a in t["areas"]})
        metrics = sorted({m for t in per_task.values() for m in t["metrics"]})
        out[corruption.name] = {
            "kind": corruption.kind,
            "description": corruption.description,
            "tasks": per_task,
            "areas": {a: _mean([t["areas"][a]["score"] for t in per_task.values() if a in t["areas"]]) for a in areas},
            "metrics": {m: _mean([t["metrics"].get(m) for t in per_task.values()]) for m in metrics},
        }
    return out


def _mean(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return float(np.mean(present)) if present else None


def scored_areas(task: Task) -> set[str]:
    """The promised areas (:data:`AREAS`) a task has metrics in."""
    from wmbench.metrics import METRICS

    return {METRICS[m].area for m in task.metrics if m in METRICS} & set(AREAS)


def validate(
    tasks: list[Task],
    split: str,
    limit: int | None,
    cache: EpisodeCache,
    corruptions: list[Corruption],
    secret: str | None = None,
    batch_size: int = 8,
    progress: bool = True,
) -> tuple[list[TaskScores], dict[str, str]]:
    """Score every corruption of the tasks' first ``limit`` episodes of ``split``, reading
    and filling the reference cache beside ``cache`` (a temporary one without a cache).
    Returns the scores and, per task left out, why."""
    skipped = {t.name: "no physics or coherence metric" for t in tasks if not scored_areas(t)}
    kept = [t for t in tasks if t.name not in skipped]
    total = len(kept) * len(corruptions)
    with (
        tempfile.TemporaryDirectory(prefix="wmbench-references-") as scratch,
        tqdm(total=total, disable=not progress, desc="validate", unit="corruption") as bar,
    ):
        references = ReferenceCache.alongside(cache) or ReferenceCache(scratch)
        scores = []
        for task in kept:
            episodes = [cache.get(task, split, s) for s in split_seeds(task, split, limit, secret)]

            def advance(name: str, task: Task = task) -> None:
                bar.set_postfix_str(f"{task.name}: {name}")
                bar.update(1)

            scores.append(score_task(task, episodes, references, corruptions, batch_size, advance))
    return scores, skipped
