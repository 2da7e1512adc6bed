"""Thread counts: scoring on one thread wherever it runs, the model's left as they are."""

from __future__ import annotations

import cv2
import torch

from wmbench.threads import one_thread, torch_threads
from wmbench.workers import map_in_workers


def _threads(_job: int) -> tuple[int, int]:
    return torch.get_num_threads(), cv2.getNumThreads()


def test_one_thread_inside_and_the_counts_restored_after():
    before = _threads(0)
    with one_thread():
        assert _threads(0) == (1, 1)
    assert _threads(0) == before
    with torch_threads(1):
        assert torch.get_num_threads() == 1
    assert _threads(0) == before


def test_jobs_run_on_one_thread_in_this_process_as_in_a_worker():
    before = _threads(0)
    assert map_in_workers(_threads, [0, 1], workers=1, progress=False) == [(1, 1), (1, 1)]
    assert _threads(0) == before


def test_a_worker_process_runs_on_one_thread():
    assert map_in_workers(_threads, [0, 1], workers=2, progress=False) == [(1, 1), (1, 1)]
