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
from wmbench.metrics.reference_cache import ReferenceCache
from wmbench.run.checks import adapter_inputs, as_float, call_adapter, check_prediction, chunks, resize
from wmbench.run.data import EpisodeBatch
from wmbench.run.probes import probe_adapter
from wmbench.run.speed import timed
from wmbench.tasks.schema import Task

RowSink = Callable[[list[dict]], None]


class EvaluationModule(pl.LightningModule):
    """Runs ``adapter`` on one task's batches, validates and scores its predictions and
    hands one row per episode to ``sink`` as soon as the batch is done.

    ``on_error``: ``"stop"`` raises on the first adapter failure (after recording it);
    ``"skip"`` records the failure with its traceback and goes on. Each row carries the
    model's time for its batch (``latency_ms``) and the harness's (``overhead_ms``:
    ``data`` from the end of the previous batch to the start of this one, ``scoring``
    for the rest of the step). ``references``: where the episodes' reference scores are
    cached across runs (``None``: measured every time).
    """

    def __init__(self, adapter: Adapter, task: Task, metrics: dict[str, EpisodeMetric],
                 sink: RowSink, on_error: str = "stop", references: ReferenceCache | None = None):
        super().__init__()
        self.adapter, self.task, self.sink, self.on_error = adapter, task, sink, on_error
        self.references = references
        self.metrics = nn.ModuleDict(metrics)
        self.label = adapter.display_name()
        self._batch_end = self._data_seconds = 0.0

    def on_test_start(self) -> None:
        self.adapter.setup(self.device)

    def on_test_epoch_start(self) -> None:
        self._batch_end = time.perf_counter()

    def on_test_batch_start(self, batch: EpisodeBatch, batch_idx: int, dataloader_idx: int = 0) -> None:
        self._data_seconds = time.perf_counter() - self._batch_end

    def on_test_batch_end(self, outputs: object, batch: EpisodeBatch, batch_idx: int, dataloader_idx: int = 0) -> None:
        self._batch_end = time.perf_counter()

    def _predict(self, batch: EpisodeBatch, context: torch.Tensor) -> tuple[torch.Tensor, float | None]:
        """The adapter's frames at the truth's resolution and its time (seconds); for a
        model that predicts no frames, NaN frames (any metric reading them is missing)
        and no time."""
        task, adapter = self.task, self.adapter
        if not adapter.requirements.predicts_frames:
            return torch.full(batch.future.shape, float("nan"), device=batch.future.device), None
        inputs = adapter_inputs(adapter, context, batch.actions, task.horizon, task.fps)
        future = resize(as_float(batch.future), inputs.frames.shape[-1]) if isinstance(adapter, ReferenceAdapter) else None
        pieces = chunks(inputs, adapter.requirements.max_batch_size)
        outputs, latency = timed(self.device, lambda: call_adapter(adapter, pieces, future))
        _, _, c, h, w = inputs.frames.shape
        keys, checked, start = [e.key for e in batch.episodes], [], 0
        for piece, out in zip(pieces, outputs):
            episodes = ", ".join(keys[start : start + piece.batch_size])
            checked.append(check_prediction(out, (piece.batch_size, task.horizon, c, h, w), self.label,
                                            task.name, episodes))
            start += piece.batch_size
        pred = torch.cat(checked)
        return resize(pred, batch.future.shape[-1]), latency

    def test_step(self, batch: EpisodeBatch, batch_idx: int) -> None:
        if not batch.episodes:
            return  # a process without episodes of its own still joins the metric sync
        step_start = time.perf_counter()
        context = as_float(batch.context)
        truth = Truth(frames=as_float(batch.future), context=context, episodes=batch.episodes)
        rows = [{"task": e.task, "version": e.version, "split": e.split, "seed": e.seed, "episode_hash": h,
                 "batch_size": len(batch.episodes)} for e, h in zip(batch.episodes, truth.episode_hashes())]
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
        truth.probes = probes
        scored = score_episodes(self.metrics, pred, truth, self.references)
        model_seconds = latency or 0.0
        overhead = {"data": 1e3 * self._data_seconds,
                    "scoring": 1e3 * (time.perf_counter() - step_start - model_seconds)}
        for row, values in zip(rows, scored):
            row.update(status="ok", latency_ms=None if latency is None else 1e3 * latency, overhead_ms=overhead,
                       **values)
        self.sink(rows)

    def on_test_epoch_end(self) -> None:
        """Log each metric's mean over every process's episodes: its summed states are
        reduced across processes (the same collectives on every process, in the same
        order, whatever each one scored; pooled states stay with ``compute()``)."""
        reduce = self.trainer.strategy.reduce
        for name, metric in self.metrics.items():
            total = reduce(metric.total.clone(), reduce_op="sum")
            count = reduce(metric.count.clone(), reduce_op="sum")
            mean = total / count if count > 0 else torch.tensor(float("nan"), dtype=torch.float64)
            self.log(f"{self.task.name}/{name}", mean.float(), sync_dist=False, rank_zero_only=True)
