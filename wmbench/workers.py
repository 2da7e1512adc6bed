"""Independent jobs in worker processes, one core each, or in threads of this process,
with a progress bar.

Workers are started with the ``spawn`` method, so nothing of the parent's state
(threads, open files, a CUDA context) leaks into them, and each runs torch and OpenCV
on one thread: ``N`` workers use ``N`` cores. Results come back in the jobs' order,
so they do not depend on the number of workers. Threads (:func:`map_in_threads`) cost
nothing to start and suit work that releases the GIL (OpenCV's calls and video decoding).
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from contextlib import nullcontext
from typing import Callable, Sequence, TypeVar

from tqdm import tqdm

from wmbench.errors import WmbenchError
from wmbench.threads import one_thread, set_one_thread

Job = TypeVar("Job")
Result = TypeVar("Result")


def available_cores() -> int:
    """CPU cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def map_in_workers(function: Callable[[Job], Result], jobs: Sequence[Job], workers: int = 1,
                   progress: bool = True, desc: str = "work", unit: str = "job") -> list[Result]:
    """``[function(job) for job in jobs]``, in ``workers`` processes when more than one.

    ``function`` must be importable by name (a module-level function or a
    :func:`functools.partial` of one). A worker that dies (killed, out of memory)
    raises a :class:`~wmbench.errors.WmbenchError` naming ``desc``; an exception raised
    by ``function`` is raised here as it is.
    """
    bar = tqdm(total=len(jobs), desc=desc, unit=unit, disable=not progress)
    try:
        if workers <= 1 or len(jobs) <= 1:
            results = []
            with one_thread():  # as in a worker: see wmbench.threads
                for job in jobs:
                    results.append(function(job))
                    bar.update()
            return results
        context = multiprocessing.get_context("spawn")
        done: dict[int, Result] = {}
        with ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=context,
                                 initializer=set_one_thread) as pool:
            futures = {pool.submit(function, job): i for i, job in enumerate(jobs)}
            try:
                for future in as_completed(futures):
                    done[futures[future]] = future.result()
                    bar.update()
            except BrokenProcessPool as exc:
                raise WmbenchError(f"a worker process died (killed, or out of memory?) during {desc} of "
                                   f"{len(jobs)} {unit}s; rerun with fewer --workers") from exc
            except BaseException:
                pool.shutdown(wait=False, cancel_futures=True)
                raise
        return [done[i] for i in range(len(jobs))]
    finally:
        bar.close()


def map_in_threads(function: Callable[[Job], Result], jobs: Sequence[Job], threads: int = 1,
                   progress: bool = True, desc: str = "work", unit: str = "job") -> list[Result]:
    """``[function(job) for job in jobs]``, on ``threads`` threads of this process when
    more than one, in the jobs' order. OpenCV (and torch, if imported) runs each call on
    one thread meanwhile (:func:`~wmbench.threads.one_thread`), so ``N`` threads use ``N`` cores."""
    threads = max(1, min(threads, len(jobs)))
    with one_thread() if threads > 1 else nullcontext(), \
            tqdm(total=len(jobs), desc=desc, unit=unit, disable=not progress) as bar, \
            ThreadPoolExecutor(max_workers=threads) as pool:
        results = []
        try:
            for result in pool.map(function, jobs):
                results.append(result)
                bar.update()
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        return results
