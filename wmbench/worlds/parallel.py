"""Generate many episodes into the cache in worker processes, with a progress bar.

Each episode depends only on its task version and seed, so the result (the entries
and their content hashes) is the same for any number of workers. Workers are started
with the ``spawn`` method: nothing of the parent's state (threads, open files, a CUDA
context) leaks into them.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from tqdm import tqdm

from wmbench.errors import WmbenchError
from wmbench.tasks.schema import Task
from wmbench.worlds.cache import EpisodeCache
from wmbench.worlds.scenes import scene_for


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


def available_cores() -> int:
    """CPU cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


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
        scene_for(task)
    cache.check_writable()
    bar = tqdm(total=len(jobs), desc=desc, unit="episode", disable=not progress)
    try:
        if workers <= 1 or len(jobs) <= 1:
            results = []
            for job in jobs:
                results.append(_generate(job, cache.root))
                bar.update()
            return results
        context = multiprocessing.get_context("spawn")
        done: dict[int, Generated] = {}
        with ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=context) as pool:
            futures = {pool.submit(_generate, job, cache.root): i for i, job in enumerate(jobs)}
            try:
                for future in as_completed(futures):
                    done[futures[future]] = future.result()
                    bar.update()
            except BrokenProcessPool as exc:
                raise WmbenchError(f"a worker process died (killed, or out of memory?) during {desc} of "
                                   f"{len(jobs)} episodes; rerun with fewer --workers") from exc
            except BaseException:
                pool.shutdown(wait=False, cancel_futures=True)
                raise
        return [done[i] for i in range(len(jobs))]
    finally:
        bar.close()
