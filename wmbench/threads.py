"""Thread counts chosen on purpose, so that no configuration oversubscribes the cores.

* **Scoring** (metrics on frames of a few hundred pixels, OpenCV's optical flow) runs
  on one thread, in the main process as in each worker process (``N`` workers use
  ``N`` cores): its operations are too small to gain from intra-op threads, and on a
  busy machine waking them costs a scheduler time slice (tens of ms) per operation.
* **The model** keeps torch's thread count: one per core by default, or what its
  adapter sets in ``__init__`` (``torch.set_num_threads``); a model's operations are
  large enough to gain from them.
* **The harness's own work inside a timed call** (the default ``Adapter.step``
  appending a frame to its window) runs on one thread, so it never wakes the model's.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

#: What a process whose torch is not imported yet starts it with (read once, at its start).
_THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")


@contextmanager
def torch_threads(count: int) -> Iterator[None]:
    """torch's intra-op thread count set to ``count`` inside, restored after (nothing
    when torch is not imported: importing it costs seconds that a caller may not need)."""
    torch = sys.modules.get("torch")
    before = count if torch is None else torch.get_num_threads()
    if before == count:
        yield
        return
    torch.set_num_threads(count)  # type: ignore[union-attr]
    try:
        yield
    finally:
        torch.set_num_threads(before)  # type: ignore[union-attr]


def set_one_thread() -> None:
    """torch and OpenCV on one thread from now on, torch even if imported later (a
    worker process's initializer)."""
    import cv2

    for name in _THREAD_VARIABLES:
        os.environ[name] = "1"
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)
    cv2.setNumThreads(1)


@contextmanager
def one_thread() -> Iterator[None]:
    """torch and OpenCV on one thread inside (scoring), their counts restored after."""
    import cv2

    before = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        with torch_threads(1):
            yield
    finally:
        cv2.setNumThreads(before)
