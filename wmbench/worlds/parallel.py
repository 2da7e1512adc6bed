"""Generate many episodes into the cache in worker processes, with a progress bar.

Each episode depends only on its task version and seed, so the result (the entries
and their content hashes) is the same for any number of workers
(:func:`wmbench.workers.map_in_workers`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Sequence

from wmbench.tasks.schema import Task
from wmbench.workers import map_in_workers
from wmbench.worlds.cache import EpisodeCache
from wmbench.worlds.scenes import check_task


@dataclass(frozen=True)
class Job:
    """One episode to generate."""

    task: Task
    split: str
    seed: int


@dataclass(frozen=True)
class Generated:
    """What a worker reports back: the episode's identity and content hash."""

    task: str
    split: str
    seed: int
    content_hash: str


def _generate(job: Job, root: Path | None) -> Generated:
    episode = EpisodeCache(root).get(job.task, job.split, job.seed)
    return Generated(job.task.id, job.split, job.seed, episode.content_hash())


def generate_all(jobs: Sequence[Job], cache: EpisodeCache, workers: int = 1, progress: bool = True,
                 desc: str = "generate") -> list[Generated]:
    """Generate (or verify from the cache) every job's episode; results in job order.

    ``workers <= 1`` runs in this process. Task files and the cache directory are
    checked here first, so bad input fails before any worker starts.
    """
    for task in {job.task.id: job.task for job in jobs}.values():
        check_task(task)
    cache.check_writable()
    return map_in_workers(partial(_generate, root=cache.root), jobs, workers, progress, desc, "episode")
