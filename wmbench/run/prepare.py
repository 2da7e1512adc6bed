"""Measuring episodes' reference scores ahead of runs, in worker processes.

The references of the normalised scale do not depend on the model
(:mod:`wmbench.metrics.reference_cache`); measuring them while generating the episodes
(``wmbench generate --references``) spreads them over every core and takes them off a
run's critical path. Each episode is measured alone, on the CPU, with its task's
metrics; a run on the CPU then reads them (a run on another device type measures its
own: the cache keys entries by device).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Sequence

from wmbench.errors import WmbenchError
from wmbench.frames import as_float
from wmbench.metrics import build_metrics
from wmbench.metrics.base import Truth
from wmbench.metrics.references import ReferenceCache, reference_scores
from wmbench.run.data import collate
from wmbench.workers import map_in_workers
from wmbench.worlds.cache import EpisodeCache
from wmbench.worlds.parallel import Job


def _measure(job: Job, root: Path) -> None:
    episode = EpisodeCache(root).get(job.task, job.split, job.seed)
    metrics, _ = build_metrics(job.task.metrics, job.task.source)
    batch = collate([episode])
    truth = Truth(frames=as_float(batch.future), context=as_float(batch.context), episodes=[episode])
    reference_scores(metrics, truth, ReferenceCache(root))


def measure_references(jobs: Sequence[Job], cache: EpisodeCache, workers: int = 1, progress: bool = True) -> None:
    """Measure (or find already cached) the reference scores of every job's episode."""
    if cache.root is None:
        raise WmbenchError("reference scores are kept in the cache; they cannot be measured ahead with --no-cache")
    cache.check_writable()
    map_in_workers(partial(_measure, root=cache.root), jobs, workers, progress, "references", "episode")
