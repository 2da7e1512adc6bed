"""The LightningModule that runs an adapter on episodes and scores each one."""

from __future__ import annotations

import time
import traceback
from typing import Callable

import pytorch_lightning as pl
import torch
from torch import nn

from wmbench.adapters.base import Adapter, ReferenceAdapter
from wmbench.errors import AdapterError
from wmbench.metrics.base import EpisodeMetric, Truth
from wmbench.metrics.per_episode import score_episodes
from wmbench.run.checks import adapter_inputs, check_prediction, resize
from wmbench.run.data import EpisodeBatch
from wmbench.run.probes import probe_adapter
from wmbench.tasks.schema import Task

RowSink = Callable[[list[dict]], None]


def synchronize(device: torch.device) -> None:
    """Wait for queued work on ``device`` (no-op on the CPU)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def _as_float(frames: torch.Tensor) -> torch.Tensor:
    return frames.float().div_(255.0)


class EvaluationModule(pl.LightningModule):
    """Runs ``adapter`` on one task's batches, validates and scores its predictions and
    hands one row per episode to ``sink`` as soon as the batch is done.

    ``on_error``: ``"stop"`` raises on the first adapter failure (after recording it);
    ``"skip"`` records the failure with its traceback and goes on.
    """

    def __init__(self, adapter: Adapter, task: Task, metrics: dict[str, EpisodeMetric],
                 sink: RowSink, on_error: str = "stop"):
        super().__init__()
        self.adapter, self.task, self.sink, self.on_error = adapter, task, sink, on_error
        self.metrics = nn.ModuleDict(metrics)
        self.label = adapter.display_name()

    def on_test_start(self) -> None:
        self.adapter.setup(self.device)

    def _predict(self, batch: EpisodeBatch, context: torch.Tensor) -> tuple[torch.Tensor, float]:
        task, adapter = self.task, self.adapter
        inputs = adapter_inputs(adapter, context, batch.actions, task.horizon, task.fps)
        synchronize(self.device)
        start = time.perf_counter()
        if isinstance(adapter, ReferenceAdapter):
            pred = adapter.predict_with_truth(inputs, resize(_as_float(batch.future), inputs.frames.shape[-1]))
        else:
            pred = adapter.predict(inputs)
        synchronize(self.device)
        latency = time.perf_counter() - start
        b, _, c, h, w = inputs.frames.shape
        keys = ", ".join(e.key for e in batch.episodes)
        pred = check_prediction(pred, (b, task.horizon, c, h, w), self.label, task.name, keys)
        return resize(pred, batch.future.shape[-1]), latency

    def test_step(self, batch: EpisodeBatch, batch_idx: int) -> None:
        rows = [{"task": e.task, "version": e.version, "split": e.split, "seed": e.seed,
                 "episode_hash": e.content_hash(), "batch_size": len(batch.episodes)} for e in batch.episodes]
        context = _as_float(batch.context)
        try:
            pred, latency = self._predict(batch, context)
            probes = probe_adapter(self.adapter, self.task, self.metrics.values(), batch.episodes, context, self.label)
        except Exception as exc:
            error = exc if isinstance(exc, AdapterError) else AdapterError(
                self.label, f"raised {type(exc).__name__}: {exc}", self.task.name,
                ", ".join(e.key for e in batch.episodes))
            trace = traceback.format_exc()
            self.sink([dict(r, status="failed", error=str(error), traceback=trace) for r in rows])
            if self.on_error == "stop":
                raise error from exc
            return
        truth = Truth(frames=_as_float(batch.future), context=context, episodes=batch.episodes, probes=probes)
        for row, scored in zip(rows, score_episodes(self.metrics, pred, truth)):
            row.update(status="ok", latency_ms=1e3 * latency, **scored)
        self.sink(rows)

    def on_test_epoch_end(self) -> None:
        for name, metric in self.metrics.items():
            if metric.update_called:
                self.log(f"{self.task.name}/{name}", metric.compute().float(), sync_dist=False)
