"""Headline scores: each metric normalised between a frozen world and physical variance.

For a task and metric, with means over the episodes that have all three values::

    normalised = 100 * (model - frozen) / (variance - frozen), clipped to [0, 100]

where ``frozen`` is the metric's score for the last context frame repeated and
``variance`` the mean score of the physical-variance rollouts (see
:mod:`wmbench.metrics.references`). 0 is no better than a frozen world, 100 is as
good as physics allows given what the context shows (a model can do better than the
variance rollouts on one episode; the clip keeps the scale at 100). The formula holds
for either direction of a metric. It is missing (with the reason) when there is no
headroom: the variance does not beat the frozen world by more than 1e-9 in the
metric's direction.

Indices: a task's index in an area (fidelity, physics, coherence, control, surprise)
is the mean of its normalised metrics of that area (metrics of the "diagnostic" area
are normalised but kept out of the indices); an area's headline index is the
mean over tasks; a family's index is the mean over its tasks of each task's mean
normalised score over all areas; the overall index is the mean of the area indices
(each area weighs the same, whatever its number of tasks or metrics). Confidence intervals: percentile bootstrap over
episodes (each task resampled independently, 1,000 resamples, fixed seed), 95%.
Speed is never blended in.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

BOOTSTRAP_SAMPLES, CONFIDENCE, SEED, MIN_HEADROOM = 1000, 0.95, 0, 1e-9
DIAGNOSTIC = "diagnostic"


def _normalise(model: np.ndarray | np.float64, frozen: np.ndarray | np.float64,
               variance: np.ndarray | np.float64) -> np.ndarray:
    return np.asarray(np.clip(100.0 * (model - frozen) / (variance - frozen), 0.0, 100.0) + 0.0)  # no -0.0


def _interval(samples: np.ndarray) -> list[float] | None:
    samples = samples[np.isfinite(samples)]
    if not samples.size:
        return None
    tail = 100 * (1 - CONFIDENCE) / 2
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
                    counts: np.ndarray) -> tuple[dict[str, Any], np.ndarray]:
    """One task's normalised score for ``metric`` and its bootstrap samples."""
    model, frozen, variance = _values(rows, metric)
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
    score = float(_normalise(*map(np.float64, means)))
    return {"score": score, "ci": _interval(samples), "model": means[0], "frozen": means[1],
            "variance": means[2], "episodes": int(valid.sum())}, samples


def headline(rows: list[dict[str, Any]], tasks: list[dict[str, Any]]) -> dict[str, Any]:
    """Normalised scores per task and metric, and indices per area and family.

    ``tasks``: the ``tasks`` entries of a result (name, family, metrics,
    higher_is_better, metric_areas). ``rows``: its per-episode rows.
    """
    rng = np.random.default_rng(SEED)
    per_task: dict[str, dict[str, Any]] = {}
    task_areas: dict[str, dict[str, float]] = {}
    area_samples: dict[str, list[np.ndarray]] = defaultdict(list)
    family_samples: dict[str, list[np.ndarray]] = defaultdict(list)
    for task in tasks:
        task_rows = [r for r in rows if r["task"] == task["name"] and r["status"] == "ok"]
        if not task_rows:
            continue
        counts = rng.multinomial(len(task_rows), np.full(len(task_rows), 1 / len(task_rows)), BOOTSTRAP_SAMPLES)
        by_area: dict[str, list[np.ndarray]] = defaultdict(list)
        per_task[task["name"]] = {}
        for metric in task["metrics"]:
            entry, samples = metric_headline(task_rows, metric, task["higher_is_better"].get(metric, True), counts)
            per_task[task["name"]][metric] = entry
            area = task["metric_areas"].get(metric, "fidelity")
            if entry["score"] is not None and area != DIAGNOSTIC:
                point = np.concatenate([[entry["score"]], samples])  # index 0: the point estimate
                by_area[area].append(point)
        everything = [p for points in by_area.values() for p in points]
        task_areas[task["name"]] = {}
        for area, points in sorted(by_area.items()):
            area_samples[area].append(np.mean(points, axis=0))
            task_areas[task["name"]][area] = float(np.mean(points, axis=0)[0])
        if everything:
            family_samples[task["family"]].append(np.mean(everything, axis=0))

    def summarise(groups: dict[str, list[np.ndarray]]) -> dict[str, Any]:
        out = {}
        for name, points in sorted(groups.items()):
            combined = np.mean(points, axis=0)
            out[name] = {"score": float(combined[0]), "ci": _interval(combined[1:]), "tasks": len(points)}
        return out

    overall: dict[str, Any] = {}
    if area_samples:
        combined = np.mean([np.mean(points, axis=0) for _, points in sorted(area_samples.items())], axis=0)
        overall = {"score": float(combined[0]), "ci": _interval(combined[1:]), "areas": sorted(area_samples)}
    return {
        "method": {"formula": "100 * (model - frozen) / (variance - frozen), clipped to [0, 100]",
                   "bootstrap_samples": BOOTSTRAP_SAMPLES, "confidence": CONFIDENCE, "seed": SEED},
        "tasks": per_task,
        "task_areas": task_areas,
        "areas": summarise(area_samples),
        "families": summarise(family_samples),
        "overall": overall,
    }
