"""What a result derives from its rows: per-task aggregates (with the pooled metrics'
summaries), the headline scores and the harness's overhead.

A result is written with these (:mod:`wmbench.results.record`) and verified by
recomputing them from its rows (:mod:`wmbench.results.verify`): nothing here reads
anything but the rows and the result's task entries.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from wmbench.metrics import METRICS
from wmbench.metrics.pooled import PooledEpisodeMetric
from wmbench.results.headline import headline


def _summary(values: list[float]) -> dict[str, float | int | None]:
    array = np.asarray(values, dtype=np.float64)
    if not array.size:
        return {"mean": None, "std": None, "count": 0}
    return {
        "mean": float(array.mean()),
        "std": float(array.std(ddof=1)) if array.size > 1 else 0.0,
        "count": int(array.size),
    }


def pooled_summaries(rows: list[dict[str, Any]], names: tuple[str, ...]) -> dict[str, Any]:
    """Per pooled metric among ``names``: its summary over the items of ``rows``
    (:meth:`PooledEpisodeMetric.summarise_rows`), ``None`` when no row has any."""
    out = {}
    for name in names:
        cls = METRICS.get(name)
        if cls is not None and issubclass(cls, PooledEpisodeMetric):
            out[name] = cls.summarise_rows([r["pooled"][name] for r in rows if name in r.get("pooled", {})])
    return out


def aggregate(rows: list[dict[str, Any]], metric_names: dict[str, tuple[str, ...]]) -> dict[str, Any]:
    """Per task: each metric's mean, std and count over episodes that have a value, and
    how many episodes lack it (missing values are never counted as 0); the pooled
    metrics' summaries over every episode's items (``pooled``)."""
    result: dict[str, Any] = {}
    for task, names in metric_names.items():
        ok = [r for r in rows if r["task"] == task and r["status"] == "ok"]
        entry: dict[str, Any] = {
            "episodes": sum(r["task"] == task for r in rows),
            "failed": sum(r["task"] == task and r["status"] != "ok" for r in rows),
            "metrics": {},
        }
        for name in names:
            values = [r["metrics"][name] for r in ok if r["metrics"].get(name) is not None]
            entry["metrics"][name] = dict(_summary(values), missing=len(ok) - len(values))
        entry["pooled"] = pooled_summaries(ok, names)
        latencies = [r["latency_ms"] / r["batch_size"] for r in ok if r["latency_ms"] is not None]
        entry["latency_ms_per_episode"] = {"p50": float(np.percentile(latencies, 50)) if latencies else None}
        result[task] = entry
    return result


def harness_overhead(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Per-episode means (ms) over a task's successful rows of the model time and of the
    harness's own time: data (loading, collating, moving to the device) and scoring
    (input preparation, output checks, resizing, metrics). Rows without a model time
    (a model that predicts no frames) are left out."""
    ok = [r for r in rows if r["status"] == "ok" and "overhead_ms" in r and r.get("latency_ms") is not None]
    if not ok:
        return {"episodes": 0, "model_ms": None, "data_ms": None, "scoring_ms": None, "overhead_fraction": None}

    def per_episode(value: float, row: dict[str, Any]) -> float:  # batch times, shared by the batch's rows
        return value / row["batch_size"]

    model = float(np.mean([per_episode(r["latency_ms"], r) for r in ok]))
    data = float(np.mean([per_episode(r["overhead_ms"]["data"], r) for r in ok]))
    scoring = float(np.mean([per_episode(r["overhead_ms"]["scoring"], r) for r in ok]))
    return {
        "episodes": len(ok),
        "model_ms": model,
        "data_ms": data,
        "scoring_ms": scoring,
        "overhead_fraction": (data + scoring) / (model + data + scoring) if model + data + scoring else None,
    }


def derive(rows: list[dict[str, Any]], tasks: list[dict[str, Any]], **bootstrap: Any) -> dict[str, Any]:
    """``aggregates``, ``headline`` and per task ``harness_ms_per_episode`` of a result
    whose task entries are ``tasks`` (``bootstrap``: the headline's settings, see
    :func:`~wmbench.results.headline.headline`)."""
    return {
        "aggregates": aggregate(rows, {t["name"]: tuple(t["metrics"]) for t in tasks}),
        "headline": headline(rows, tasks, **bootstrap),
        "harness_ms_per_episode": {
            t["name"]: harness_overhead([r for r in rows if r["task"] == t["name"]]) for t in tasks
        },
    }
