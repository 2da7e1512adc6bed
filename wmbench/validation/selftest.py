"""The metrics' self-test: corrupt true futures and see which metric notices, and which
stays quiet.

Every catalogued corruption (:mod:`wmbench.validation.corruptions`; not the ladders)
and :func:`occluded_vanish` turns an episode's true future into another one. Every
registered metric scores the true future and the corrupted one against the same
truth; a metric *detects* a corruption on an episode when the corrupted future scores
worse than the true one by more than the metric's ``margin`` (physics metrics declare
one in their unit) or, for metrics without one, by more than
``DEFAULT_RELATIVE_MARGIN * |truth score| + DEFAULT_ABSOLUTE_MARGIN``. A metric must
detect every corruption it claims (``catches``) on every episode where it scores it,
and a physics or coherence metric must detect no appearance change (a false alarm).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from wmbench.frames import unit_float
from wmbench.metrics.base import METRICS, EpisodeMetric, MetricUnavailable, Truth
from wmbench.metrics.tracks import HIDDEN, SEEN
from wmbench.tasks.schema import Task
from wmbench.validation.corruptions import CATALOGUE
from wmbench.worlds.episode import Episode
from wmbench.worlds.world import redraw

DEFAULT_RELATIVE_MARGIN = 0.05
DEFAULT_ABSOLUTE_MARGIN = 1e-3
#: Metrics of these areas must stay quiet on appearance changes.
QUIET_AREAS = ("physics", "coherence")


@dataclass
class Case:
    """A corrupted future ``uint8 (T, H, W, 3)`` and the episode it is scored against."""

    episode: Episode
    future: np.ndarray


def _square_occluder(episode: Episode) -> np.ndarray | None:
    """A square that fully hides one object at some horizon step, placed so that the
    object is fully visible again later in the horizon; ``None`` if none moves enough."""
    pixel = 1.0 / float(episode.meta["ppm"])
    states = episode.truth.states
    for k, obj in enumerate(episode.objects):
        reach = obj.size[0] if obj.shape == "circle" else float(np.linalg.norm(obj.vertices, axis=1).max())
        half = reach + 2 * pixel
        for step in range(1, episode.horizon - 1):
            centre = states[episode.context + step, k, :2]
            later = np.abs(states[episode.context + step + 1 :, k, :2] - centre).max(axis=1)
            if (later > half + reach + 2 * pixel).any():
                return centre + half * np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]])
    return None


def _render_all(
    episode: Episode, states: np.ndarray, first: int, drawn: list[int], extra: list[np.ndarray]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Frames, ids and visibility of ``states`` (frames ``first ...`` of the episode) with
    objects ``drawn`` only and ``extra`` occluders."""
    objects = [obj if k in drawn else None for k, obj in enumerate(episode.objects)]
    out = [redraw(episode, first + i, state, objects=objects, occluders=extra) for i, state in enumerate(states)]
    return tuple(np.stack(a) for a in zip(*out))  # type: ignore[return-value]


def _reappearing(visibility: np.ndarray, context: int) -> tuple[int, int] | None:
    """``(object, first hidden horizon step)`` of the first object hidden in the horizon
    that is seen again before its end."""
    for k in range(visibility.shape[1]):
        hidden = np.flatnonzero(visibility[context:, k] < HIDDEN)
        if len(hidden) and (visibility[context + hidden[0] :, k] >= SEEN).any():
            return k, int(hidden[0])
    return None


def occluded_vanish(task: Task, episode: Episode) -> Case | None:
    """An object passes behind an occluder and never comes out. Episodes without such an
    occlusion get a square occluder on an object's path (in the truth too)."""
    everyone = list(range(len(episode.objects)))
    reference, extra = episode, []
    if _reappearing(episode.truth.visibility, episode.context) is None:
        square = _square_occluder(episode)
        if square is None:
            return None
        extra = [square]
        frames, ids, visibility = _render_all(episode, episode.truth.states, 0, everyone, extra)
        truth = dataclasses.replace(episode.truth, frames=frames, instance_ids=ids, visibility=visibility)
        reference = dataclasses.replace(episode, truth=truth, ensemble=[], alternatives=[])
    found = _reappearing(reference.truth.visibility, reference.context)
    if found is None:
        return None
    k, step = found
    first = reference.context + step
    rest = _render_all(
        reference,
        reference.truth.states[first : reference.context + reference.horizon],
        first,
        [i for i in everyone if i != k],
        extra,
    )[0]
    return Case(reference, np.concatenate([reference.future_frames[:step], rest]))


def _catalogued(make: Callable[[Task, Episode], np.ndarray | None]) -> Callable[[Task, Episode], Case | None]:
    def case(task: Task, episode: Episode) -> Case | None:
        future = make(task, episode)
        return None if future is None else Case(episode, future)

    return case


#: Self-test corruptions: the catalogue's (not the reference futures or the ladders) and
#: ``occluded_vanish``, with their kinds.
VIOLATIONS: dict[str, Callable[[Task, Episode], Case | None]] = {
    **{c.name: _catalogued(c.make) for c in CATALOGUE if c.kind not in ("reference", "ladder") or c.name == "frozen"},
    "occluded_vanish": occluded_vanish,
}
KINDS = {**{c.name: c.kind for c in CATALOGUE}, "frozen": "physical", "occluded_vanish": "physical"}


def _frames(array: np.ndarray) -> torch.Tensor:
    return unit_float(array)[None]


def margin_of(metric: EpisodeMetric, truth_value: float) -> float:
    """How much worse than the truth a violated future must score to count as detected."""
    declared = getattr(metric, "margin", None)
    if declared is not None:
        return float(declared)
    return DEFAULT_RELATIVE_MARGIN * abs(truth_value) + DEFAULT_ABSOLUTE_MARGIN


def build_all_metrics() -> tuple[dict[str, EpisodeMetric], dict[str, str]]:
    """Every registered metric that can run here, and the reasons for those that cannot."""
    available, missing = {}, {}
    for name, cls in sorted(METRICS.items()):
        try:
            available[name] = cls()
        except MetricUnavailable as exc:
            missing[name] = str(exc)
    return available, missing


def _truth(episode: Episode) -> Truth:
    return Truth(frames=_frames(episode.future_frames), context=_frames(episode.context_frames), episodes=[episode])


def _score(metric: EpisodeMetric, frames: torch.Tensor, truth: Truth) -> tuple[float, str | None]:
    try:
        return float(metric.score(frames, truth)[0]), None
    except Exception as exc:  # a metric that fails on a case is reported in the table, not fatal
        return float("nan"), f"{type(exc).__name__}: {exc}"


def score_case(
    metrics: dict[str, EpisodeMetric], case: Case, truth: Truth, reference: dict[str, tuple[float, str | None]]
) -> list[dict]:
    """Score a corrupted future with every metric against ``truth`` (whose own scores are ``reference``)."""
    violated = _frames(case.future)
    rows = []
    for name, metric in metrics.items():
        ref, error = reference[name]
        bad, bad_error = _score(metric, violated, truth)
        scored = not (math.isnan(ref) or math.isnan(bad))
        worse = (ref - bad) if metric.higher_is_better else (bad - ref)
        margin = margin_of(metric, ref) if scored else float("nan")
        rows.append(
            {
                "metric": name,
                "truth": ref,
                "violated": bad,
                "margin": margin,
                "scored": scored,
                "detected": bool(scored and worse > margin),
                "error": error or bad_error,
            }
        )
    return rows


def run_selftest(
    task: Task,
    episodes: list[Episode],
    violations: tuple[str, ...] = tuple(VIOLATIONS),
    metrics: dict[str, EpisodeMetric] | None = None,
) -> pd.DataFrame:
    """One row per (violation, episode, metric): truth and violated scores, margin, detected,
    and whether the metric claims to catch the violation."""
    if metrics is None:
        metrics = build_all_metrics()[0]
    rows = []
    for episode in episodes:
        references: dict[int, tuple[Truth, dict]] = {}
        for violation in violations:
            case = VIOLATIONS[violation](task, episode)
            if case is None:
                continue
            if id(case.episode) not in references:
                truth = _truth(case.episode)
                references[id(case.episode)] = (truth, {n: _score(m, truth.frames, truth) for n, m in metrics.items()})
            truth, reference = references[id(case.episode)]
            for row in score_case(metrics, case, truth, reference):
                metric = metrics[row["metric"]]
                claimed = violation in getattr(metric, "catches", ())
                quiet = KINDS[violation] == "appearance" and metric.area in QUIET_AREAS
                rows.append(
                    {
                        "violation": violation,
                        "kind": KINDS[violation],
                        "episode": episode.key,
                        **row,
                        "claimed": claimed,
                        "quiet": quiet,
                        "false_alarm": quiet and row["detected"],
                    }
                )
    return pd.DataFrame(rows)


def detection_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Corruptions by metrics: ``detected/scored`` episodes, ``*`` where the metric claims
    the corruption, ``!`` where it must stay quiet (an appearance change), ``-`` where it
    could not score it."""

    def cell(group: pd.DataFrame) -> str:
        scored = int(group["scored"].sum())
        text = f"{int(group['detected'].sum())}/{scored}" if scored else "-"
        return text + ("*" if group["claimed"].any() else "") + ("!" if group["quiet"].any() else "")

    table = rows.groupby(["violation", "metric"], sort=False).apply(cell, include_groups=False).unstack("metric")
    return table.reindex(index=[v for v in VIOLATIONS if v in table.index])
