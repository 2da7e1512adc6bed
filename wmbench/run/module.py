"""The LightningModule that runs an adapter on episodes and scores each one."""

from __future__ import annotations

import time
import traceback
import warnings
from contextlib import AbstractContextManager, nullcontext
from typing import Callable, cast

import pytorch_lightning as pl
import torch
from torch import Tensor, nn

from wmbench.adapters.base import Adapter
from wmbench.errors import AdapterError
from wmbench.frames import as_float
from wmbench.metrics.base import EpisodeMetric, Truth
from wmbench.metrics.needs import gather_needs
from wmbench.metrics.references import ReferenceCache
from wmbench.metrics.scoring import score_episodes
from wmbench.run.data import EpisodeBatch
from wmbench.run.harness import Harness
from wmbench.run.scoring_pool import Pending, ScoringPool, add_scored
from wmbench.tasks.schema import Task
from wmbench.worlds.episode import Episode

RowSink = Callable[[list[dict]], None]
PredictionSink = Callable[[list[Episode], Tensor], None]


def full_precision(device: torch.device) -> AbstractContextManager[object]:
    """Autocast switched off on ``device``: ``--precision`` is the model's, so scoring
    runs in the float32/float64 of its inputs whatever the adapter ran in."""
    return torch.autocast(device.type, enabled=False) if torch.amp.is_autocast_available(device.type) \
        else nullcontext()


class EvaluationModule(pl.LightningModule):
    """Runs ``adapter`` on one task's batches, validates and scores its predictions and
    hands one row per episode to ``sink`` as soon as the batch is done. Lightning's
    precision (autocast) reaches the adapter's calls only: scoring runs outside it.

    ``on_error``: ``"stop"`` raises on the first adapter failure (after recording it);
    ``"skip"`` records the failure with its traceback and goes on; ``timeout``: the
    seconds one adapter call may take before it counts as a failure. Each row carries the
    model's time for its batch (``latency_ms``) and the harness's (``overhead_ms``:
    ``data`` from the end of the previous batch to the start of this one, ``scoring``
    for the rest of the step, or the scoring worker's time for the batch). ``references``:
    where the episodes' reference scores are cached across runs (``None``: measured every
    time). ``keep``: given each batch's episodes and validated predictions, to save some
    (see :mod:`wmbench.run.saved`). ``pool``: scoring workers that score each batch while
    the adapter predicts the next (:mod:`wmbench.run.scoring_pool`; ``None``: scored here).
    """

    def __init__(self, adapter: Adapter, task: Task, metrics: dict[str, EpisodeMetric],
                 sink: RowSink, on_error: str = "stop", references: ReferenceCache | None = None,
                 keep: PredictionSink | None = None, timeout: float | None = None,
                 pool: ScoringPool | None = None):
        super().__init__()
        self.adapter, self.task, self.sink, self.on_error = adapter, task, sink, on_error
        self.references, self.keep, self.pool = references, keep, pool
        self.pending: list[Pending] = []
        self.metrics = nn.ModuleDict(metrics)
        self.harness = Harness(adapter, task, timeout)
        self.needs = {need for metric in metrics.values() for need in metric.needs}
        self.label = self.harness.label
        self._batch_end = self._data_seconds = 0.0

    def _metrics(self) -> dict[str, EpisodeMetric]:
        return {name: cast(EpisodeMetric, metric) for name, metric in self.metrics.items()}

    def on_test_start(self) -> None:
        try:
            with self.harness.limited("setup()"):
                self.adapter.setup(self.device)
        except AdapterError:
            raise
        except Exception as exc:
            raise AdapterError(self.label, f"setup() raised {type(exc).__name__}: {exc}", self.task.name) from exc

    def on_test_epoch_start(self) -> None:
        self._batch_end = time.perf_counter()

    def on_test_batch_start(self, batch: EpisodeBatch, batch_idx: int, dataloader_idx: int = 0) -> None:
        self._data_seconds = time.perf_counter() - self._batch_end

    def on_test_batch_end(self, outputs: object, batch: EpisodeBatch, batch_idx: int, dataloader_idx: int = 0) -> None:
        self._batch_end = time.perf_counter()

    def test_step(self, batch: EpisodeBatch, batch_idx: int) -> None:
        if not batch.episodes:
            return  # a process without episodes of its own still joins the metric sync
        step_start = time.perf_counter()
        context = as_float(batch.context)
        truth = Truth(frames=as_float(batch.future), context=context, episodes=batch.episodes)
        rows = [{"task": e.task, "version": e.version, "split": e.split, "seed": e.seed, "episode_hash": h,
                 "batch_size": len(batch.episodes)} for e, h in zip(batch.episodes, truth.episode_hashes())]
        keys = [e.key for e in batch.episodes]
        try:
            pred, latency = self.harness.timed_predict(context, batch.actions, lambda: truth.frames, keys)
            truth.outputs = gather_needs(self.harness, self.needs, batch.episodes, context)
        except Exception as exc:
            error = exc if isinstance(exc, AdapterError) else AdapterError(
                self.label, f"raised {type(exc).__name__}: {exc}", self.task.name, ", ".join(keys))
            trace = traceback.format_exc()
            self.sink([dict(r, status="failed", error=str(error), traceback=trace) for r in rows])
            if self.on_error == "stop":
                try:
                    self.drain()  # the batches already predicted keep their rows
                finally:
                    raise error from exc
            return
        if self.keep is not None:
            self.keep(batch.episodes, pred)
        if self.pool is not None:
            future = self.pool.submit(self.task, pred, truth, self.references)
            self.pending.append(Pending(rows, future, keys, latency, self._data_seconds))
            self.drain(keep=self.pool.workers)
            return
        with full_precision(self.device):
            scored = score_episodes(self._metrics(), pred.float(), truth, self.references)
        self._write(rows, scored, latency, self._data_seconds, time.perf_counter() - step_start - (latency or 0.0))

    def _write(self, rows: list[dict], scored: list[dict], latency: float | None, data_seconds: float,
               scoring_seconds: float) -> None:
        overhead = {"data": 1e3 * data_seconds, "scoring": 1e3 * scoring_seconds}
        for row, values in zip(rows, scored):
            row.update(status="ok", latency_ms=None if latency is None else 1e3 * latency, overhead_ms=overhead,
                       **values)
        self.sink(rows)

    def drain(self, keep: int = 0) -> None:
        """Write the rows of batches handed to the scoring workers, oldest first, until at
        most ``keep`` are still being scored."""
        for pending, (scored, states, seconds) in ScoringPool.finished(self.pending, keep):
            add_scored(self._metrics(), states)
            self._write(pending.rows, scored, pending.latency, pending.data_seconds, seconds)

    def on_test_epoch_end(self) -> None:
        """Log each metric's mean over every process's episodes (``compute()`` syncs the
        states across processes: every process calls it, in the same order, whatever it
        scored)."""
        self.drain()
        with warnings.catch_warnings():  # a process whose shard was empty computes before any update
            warnings.filterwarnings("ignore", message=".*compute.* method of metric .* was called before the .*update.*")
            for name, metric in self._metrics().items():
                self.log(f"{self.task.name}/{name}", metric.compute().float(), sync_dist=False, rank_zero_only=True)
