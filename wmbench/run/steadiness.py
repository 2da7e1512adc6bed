"""How steady the speed protocol is: one adapter of known cost measured several times.

An adapter that sleeps a fixed time in every call (``predict`` and, through the default
:meth:`Adapter.step`, every step) is run through :func:`~wmbench.run.speed.measure_speed`
``runs`` times; the run-to-run spread of a number is ``(max - min) / median`` over the
runs (unitless, lower is steadier). ``wmbench bench speed`` prints it.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import torch

from wmbench.adapters.base import Adapter, ContextBatch
from wmbench.run.harness import Harness
from wmbench.run.speed import SpeedProtocol, measure_speed
from wmbench.tasks import get_task

#: The numbers compared between runs, and where they are in a speed record.
COMPARED = {"step_p50_ms": ("step_latency_ms", "p50"), "throughput_frames_per_s": ("throughput_frames_per_s", None)}


class KnownCost(Adapter):
    """Repeats the last context frame after sleeping ``seconds`` in every ``predict``
    call (so in every default ``step`` too); it returns a view, so the sleep is its cost."""

    def __init__(self, seconds: float = 0.001):
        super().__init__()
        self.seconds = seconds

    def predict(self, batch: ContextBatch) -> torch.Tensor:
        time.sleep(self.seconds)
        return batch.frames[:, -1:].expand(-1, batch.horizon, -1, -1, -1)


def measure_runs(
    seconds: float, runs: int = 2, protocol: SpeedProtocol | None = None, task: str = "drop_single", batch_size: int = 4
) -> list[dict[str, Any]]:
    """``runs`` speed records of a fresh :class:`KnownCost` adapter of ``seconds`` per
    call on ``task``'s shape (its context, horizon and resolution, random frames)."""
    spec = get_task(task)
    inputs = ContextBatch(
        frames=torch.rand(batch_size, spec.context, 3, spec.resolution, spec.resolution),
        horizon=spec.horizon,
        fps=spec.fps,
    )
    return [
        measure_speed(
            Harness(KnownCost(seconds), spec),
            inputs,
            torch.device("cpu"),
            "32-true",
            protocol=protocol or SpeedProtocol(),
        )
        for _ in range(runs)
    ]


def value(record: dict[str, Any], name: str) -> float:
    """The compared number ``name`` (a key of :data:`COMPARED`) of a speed record."""
    field, key = COMPARED[name]
    return record[field] if key is None else record[field][key]


def run_to_run(records: list[dict[str, Any]]) -> dict[str, float]:
    """``(max - min) / median`` over ``records`` of each compared number."""
    spread = {}
    for name in COMPARED:
        values = [value(r, name) for r in records]
        spread[name] = (max(values) - min(values)) / statistics.median(values)
    return spread
