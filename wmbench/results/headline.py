"""Headline scores: each metric normalised between a frozen world and physical variance.

For a task and metric, with means over the episodes that have all three values::

    normalised = 100 * (model - frozen) / (variance - frozen), clipped to [0, 100]

where ``frozen`` is the metric's score for the last context frame repeated and
``variance`` the mean score of the physical-variance rollouts (see
:mod:`wmbench.metrics.references`). 0 is no better than a frozen world, 100 is as
good as physics allows given what the context shows (a model can do better than the
variance rollouts on one episode; the clip keeps the scale at 100). The formula holds
for either direction of a metric. Errors whose precision matters at every scale
(positions; ``metric_log_floors``) are normalised on a logarithmic scale: the formula
takes ``ln(max(x, floor))`` of each episode's value, so every halving of the error earns
the same credit (as PSNR does for the pixel error). It is missing (with the reason) when there is no
headroom: the variance does not beat the frozen world by more than 1e-9 in the
metric's direction.

Indices: a task's index in an area (fidelity, physics, coherence, control, surprise)
is the mean of its normalised ``score`` metrics of that area (the metrics of one group,
one measurement read several ways, counting once, as their mean) times the compliance
(normalised score / 100) of each of its laws (metrics a frozen world obeys for free:
they only penalise; metrics of the "diagnostic" area are normalised but kept out of the
indices); an area's headline index is the mean over tasks; a family's index is the
mean over its tasks of the mean of each task's area indices; the overall index is the mean of the area indices
(each area weighs the same, whatever its number of tasks or metrics). Confidence intervals: percentile bootstrap over
episodes (each task resampled independently, 1,000 resamples, fixed seed), 95%. Each
resample is scored as the point estimate is: a metric without headroom on a resample's
episodes (or without any episode that has it) is left out of that resample's index,
never scored as 0. Speed is never blended in.
"""

from __future__ import annotations

import warnings
from collections import defaultdict
from typing import Any

import numpy as np

BOOTSTRAP_SAMPLES, CONFIDENCE, SEED, MIN_HEADROOM = 1000, 0.95, 0, 1e-9
FORMULA = ("100 * (model - frozen) / (variance - frozen), clipped to [0, 100]; "
           "on ln(max(value, floor)) for metrics with a log floor")
INDEX = ("mean of an area's scored metrics (a group of metrics counting once, as its mean) times the "
         "compliance of each of its laws; in each bootstrap resample, a metric without headroom there is left out")
DIAGNOSTIC = "diagnostic"
#: ``metric_roles`` value of a law: a penalty on its area's index, not a score in it.
LAW = "law"


def _normalise(model: np.ndarray | np.float64, frozen: np.ndarray | np.float64,
               variance: np.ndarray | np.float64) -> np.ndarray:
    return np.asarray(np.clip(100.0 * (model - frozen) / (variance - frozen), 0.0, 100.0) + 0.0)  # no -0.0


def interval(samples: np.ndarray, confidence: float = CONFIDENCE) -> list[float] | None:
    """The percentile interval of the finite ``samples`` at ``confidence``."""
    samples = samples[np.isfinite(samples)]
    if not samples.size:
        return None
    tail = 100 * (1 - confidence) / 2
    return [float(np.percentile(samples, tail)), float(np.percentile(samples, 100 - tail))]


def _values(rows: list[dict[str, Any]], metric: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    def get(row: dict[str, Any], *path: str) -> float:
        value: Any = row
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        return np.nan if value is None else float(value)

    model, frozen, variance = (np.array([get(r, *p) for r in rows]) for p in
                               (("metrics", metric), ("references", "frozen", metric), ("references", "variance", metric)))
    return model, frozen, variance


def metric_headline(rows: list[dict[str, Any]], metric: str, higher_is_better: bool,
                    counts: np.ndarray, confidence: float = CONFIDENCE,
                    log_floor: float | None = None) -> tuple[dict[str, Any], np.ndarray]:
    """One task's normalised score for ``metric`` and its bootstrap samples; on
    ``ln(max(value, log_floor))`` if a floor is given (the reported means are then geometric)."""
    model, frozen, variance = _values(rows, metric)
    if log_floor is not None:
        model, frozen, variance = (np.log(np.maximum(x, log_floor)) for x in (model, frozen, variance))
    valid = np.isfinite(model) & np.isfinite(frozen) & np.isfinite(variance)
    nan = np.full(counts.shape[0], np.nan)
    if not valid.any():
        return {"score": None, "missing": "no episode has the score and both references"}, nan
    means = [x[valid].mean() for x in (model, frozen, variance)]
    headroom = (means[2] - means[1]) * (1 if higher_is_better else -1)
    if headroom <= MIN_HEADROOM:
        return {"score": None, "missing": "no headroom: the physical variance does not beat the frozen world",
                "frozen": means[1], "variance": means[2]}, nan
    weights = counts[:, valid]
    n = weights.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        boot = [weights @ x[valid] / n for x in (model, frozen, variance)]
        samples = _normalise(*boot)
        room = (boot[2] - boot[1]) * (1 if higher_is_better else -1)
    samples = np.where(room > MIN_HEADROOM, samples, np.nan)  # no headroom in a resample: no score there
    score = float(_normalise(*map(np.float64, means)))
    model_mean, frozen_mean, variance_mean = (float(np.exp(m)) if log_floor is not None else m for m in means)
    return {"score": score, "ci": interval(samples, confidence), "model": model_mean, "frozen": frozen_mean,
            "variance": variance_mean, "episodes": int(valid.sum())}, samples


def task_indices(rows: list[dict[str, Any]], task: dict[str, Any], counts: np.ndarray,
                 confidence: float = CONFIDENCE) -> tuple[dict[str, dict[str, Any]], dict[str, np.ndarray]]:
    """One task's normalised score per metric, and its area indices as ``(1 + B,)``
    arrays: the point estimate, then one value per bootstrap resample ``counts`` ``(B, n)``
    of its ``n`` rows.

    An area's index is the mean of its scored metrics' normalised scores, the metrics of
    one group (``metric_groups``) counting once as their mean, times the compliance
    (normalised score / 100) of each of its laws (``metric_roles`` "law"). An area
    without a scored metric has no index. A resample leaves out the metrics that have no
    score on it (no headroom there), as the point estimate does.
    """
    entries: dict[str, dict[str, Any]] = {}
    scores: dict[str, dict[str, list[np.ndarray]]] = defaultdict(lambda: defaultdict(list))
    laws: dict[str, list[np.ndarray]] = defaultdict(list)
    roles, floors, groups = (task.get(f, {}) for f in ("metric_roles", "metric_log_floors", "metric_groups"))
    for metric in task["metrics"]:
        entry, samples = metric_headline(rows, metric, task["higher_is_better"].get(metric, True), counts,
                                         confidence, floors.get(metric))
        entries[metric] = entry
        area = task["metric_areas"].get(metric, "fidelity")
        if entry["score"] is not None and area != DIAGNOSTIC:
            point = np.concatenate([[entry["score"]], samples])  # index 0: the point estimate
            if roles.get(metric) == LAW:
                laws[area].append(point)
            else:
                scores[area][groups.get(metric, metric)].append(point)
    indices = {}
    for area, grouped in sorted(scores.items()):
        with warnings.catch_warnings():  # a resample where none of a group's or area's metrics has a score
            warnings.simplefilter("ignore", RuntimeWarning)
            index = np.nanmean([np.nanmean(points, axis=0) for points in grouped.values()], axis=0)
        for compliance in laws.get(area, []):
            index = index * np.where(np.isnan(compliance), 100.0, compliance) / 100.0
        indices[area] = index
    return entries, indices


def bootstrap_counts(rng: np.random.Generator, n: int, samples: int = BOOTSTRAP_SAMPLES) -> np.ndarray:
    """``(B, n)`` multiplicities of ``n`` rows in each of ``samples`` bootstrap resamples."""
    return rng.multinomial(n, np.full(n, 1 / n), samples)


#: The bootstrap's settings a result records in ``headline.method`` (with the formula).
BOOTSTRAP = ("seed", "bootstrap_samples", "confidence")


def headline(rows: list[dict[str, Any]], tasks: list[dict[str, Any]], seed: int = SEED,
             bootstrap_samples: int = BOOTSTRAP_SAMPLES, confidence: float = CONFIDENCE) -> dict[str, Any]:
    """Normalised scores per task and metric, and indices per area and family.

    ``tasks``: the ``tasks`` entries of a result (name, family, metrics,
    higher_is_better, metric_areas, metric_roles). ``rows``: its per-episode rows. The
    bootstrap's settings default to this version's; verifying a result recomputes its
    scores with the ones it recorded (:data:`BOOTSTRAP`).
    """
    rng = np.random.default_rng(seed)
    per_task: dict[str, dict[str, Any]] = {}
    task_areas: dict[str, dict[str, float]] = {}
    area_samples: dict[str, list[np.ndarray]] = defaultdict(list)
    family_samples: dict[str, list[np.ndarray]] = defaultdict(list)
    for task in tasks:
        task_rows = [r for r in rows if r["task"] == task["name"] and r["status"] == "ok"]
        if not task_rows:
            continue
        per_task[task["name"]], indices = task_indices(
            task_rows, task, bootstrap_counts(rng, len(task_rows), bootstrap_samples), confidence)
        task_areas[task["name"]] = {area: float(index[0]) for area, index in indices.items()}
        for area, index in indices.items():
            area_samples[area].append(index)
        if indices:
            family_samples[task["family"]].append(np.mean(list(indices.values()), axis=0))

    def summarise(groups: dict[str, list[np.ndarray]]) -> dict[str, Any]:
        out = {}
        for name, points in sorted(groups.items()):
            combined = np.mean(points, axis=0)
            out[name] = {"score": float(combined[0]), "ci": interval(combined[1:], confidence), "tasks": len(points)}
        return out

    overall: dict[str, Any] = {}
    if area_samples:
        combined = np.mean([np.mean(points, axis=0) for _, points in sorted(area_samples.items())], axis=0)
        overall = {"score": float(combined[0]), "ci": interval(combined[1:], confidence), "areas": sorted(area_samples)}
    return {
        "method": {"formula": FORMULA, "index": INDEX, "bootstrap_samples": bootstrap_samples,
                   "confidence": confidence, "seed": seed},
        "tasks": per_task,
        "task_areas": task_areas,
        "areas": summarise(area_samples),
        "families": summarise(family_samples),
        "overall": overall,
    }
