"""Scoring in worker processes, overlapped with the model (``--scoring-workers N``).

In-process, a run predicts a batch, scores it, then predicts the next one: its wall time
is the model's plus the scoring's. With a :class:`ScoringPool`, each batch's validated
predictions go to one of ``N`` worker processes and the run predicts the next batch
meanwhile, so the wall time approaches the larger of the two (scoring spread over ``N``
cores). Workers are spawned once per run and run torch and OpenCV on one thread each
(as :mod:`wmbench.workers`' do); each builds a task's metrics once, by name, as a new
process finds them (built-ins and entry points), and scores with
:func:`~wmbench.metrics.scoring.score_episodes` on the CPU: the numbers are those of an
in-process run on the CPU, the reference cache included.

At most ``N`` batches wait for their scores, so predictions are not hoarded in memory;
rows are written in batch order as their scores arrive. Batches still being scored when
the run is interrupted are scored again when it resumes.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

import torch

from wmbench.errors import WmbenchError
from wmbench.metrics import build_metrics
from wmbench.metrics.base import EpisodeMetric, Truth
from wmbench.metrics.pooled import Items, PooledEpisodeMetric
from wmbench.metrics.references import ReferenceCache
from wmbench.metrics.scoring import score_episodes
from wmbench.tasks.schema import Task
from wmbench.threads import set_one_thread

#: What a worker sends back for a batch: the rows' scores (as
#: :func:`~wmbench.metrics.scoring.score_episodes` gives them), each metric's values and
#: pooled items for the run's metric states, and the seconds scoring took.
Scored = tuple[list[dict[str, Any]], dict[str, tuple[torch.Tensor, Items | None]], float]

_built: dict[str, dict[str, EpisodeMetric]] = {}  # per worker process: each task's metrics


def _metrics_of(task: Task) -> dict[str, EpisodeMetric]:
    metrics = _built.get(task.id)
    if metrics is None:
        metrics = _built[task.id] = build_metrics(task.metrics, task.source)[0]
    return metrics


def _score(task: Task, pred: torch.Tensor, truth: Truth, references: ReferenceCache | None) -> Scored:
    """A batch's scores, in a worker."""
    start = time.perf_counter()
    metrics = _metrics_of(task)
    scored = score_episodes(metrics, pred, truth, references)
    states = {
        name: (
            metric.values(pred, truth),  # computed once per batch: read from the batch's memo
            metric.batch_items(pred, truth) if isinstance(metric, PooledEpisodeMetric) else None,
        )
        for name, metric in metrics.items()
    }
    return scored, states, time.perf_counter() - start


def add_scored(metrics: dict[str, EpisodeMetric], states: dict[str, tuple[torch.Tensor, Items | None]]) -> None:
    """Add a batch scored by a worker to the run's metric states, as scoring it here would."""
    if set(states) != set(metrics):
        raise WmbenchError(
            f"a scoring worker scored the metrics {sorted(states)}, the run has {sorted(metrics)}: "
            "the worker processes see another environment (run without --scoring-workers)"
        )
    for name, metric in metrics.items():
        values, items = states[name]
        metric.add(values)
        if isinstance(metric, PooledEpisodeMetric) and items is not None:
            metric.add_items(items)


@dataclass
class Pending:
    """A batch handed to the pool: its rows so far and the scores to come."""

    rows: list[dict[str, Any]]
    future: Future[Scored]
    keys: list[str]
    latency: float | None = None
    data_seconds: float = 0.0


class ScoringPool:
    """``workers`` spawned processes that score batches (see the module docstring); use
    it as a context manager, which ends the processes."""

    def __init__(self, workers: int):
        self.workers = workers
        self._executor = ProcessPoolExecutor(
            workers, mp_context=multiprocessing.get_context("spawn"), initializer=set_one_thread
        )

    def submit(self, task: Task, pred: torch.Tensor, truth: Truth, references: ReferenceCache | None) -> Future[Scored]:
        """Score a batch in a worker: predictions and truth go to the CPU, without the
        batch's memo (whose entries are keyed by this process's objects)."""
        cpu = Truth(
            frames=truth.frames.cpu(),
            context=truth.context.cpu(),
            episodes=truth.episodes,
            outputs={need: [x if x is None else x.cpu() for x in per] for need, per in truth.outputs.items()},
        )
        return self._executor.submit(_score, task, pred.detach().float().cpu(), cpu, references)

    @staticmethod
    def finished(pending: list[Pending], keep: int = 0) -> Iterator[tuple[Pending, Scored]]:
        """Take batches off the front of ``pending`` with their scores (waiting for them),
        oldest first, until at most ``keep`` are left."""
        while len(pending) > keep:
            first = pending.pop(0)
            yield first, ScoringPool.result(first)

    @staticmethod
    def result(pending: Pending) -> Scored:
        """The batch's scores; a worker's error names the batch's episodes."""
        try:
            return pending.future.result()
        except BrokenProcessPool as exc:
            raise WmbenchError(
                f"a scoring worker ended while scoring {', '.join(pending.keys)} ({exc}); the rows written so far "
                "are kept: rerun the same command to resume"
            ) from exc
        except Exception as exc:
            exc.add_note(f"(raised in a scoring worker, scoring {', '.join(pending.keys)})")
            raise

    def __enter__(self) -> ScoringPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
