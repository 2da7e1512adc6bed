"""The per-task summary of a result: what ``wmbench run`` prints and loggers record."""

from __future__ import annotations

from typing import Any


def summary_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per task: episodes, failures, the normalised index of each area
    (0 = frozen world, 100 = physical variance), throughput and latency."""
    rows = []
    for task, entry in result["aggregates"].items():
        speed = result.get("speed", {}).get(task, {})
        row = {"task": task, "episodes": entry["episodes"], "failed": entry["failed"]}
        row.update(result["headline"]["task_areas"].get(task, {}))
        if speed.get("measured"):
            row.update({"frames/s": speed["throughput_frames_per_s"], "step p50 ms": speed["step_latency_ms"]["p50"]})
        rows.append(row)
    return rows
