"""A time limit on one adapter call (``wmbench run --timeout``).

The limit is a real-time interval timer (``SIGALRM``): when it fires, the error is
raised inside the adapter's call, wherever the interpreter is, so a stuck Python loop
or a ``time.sleep`` ends on time; a call blocked inside native code ends as soon as it
returns to Python. Signals reach only the main thread of a POSIX process, so elsewhere
(Windows, a run started from another thread) calls are not limited.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager


def can_limit() -> bool:
    """Whether :func:`time_limit` is enforced here."""
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


@contextmanager
def time_limit(seconds: float | None, error: Callable[[], Exception]) -> Iterator[None]:
    """Raise ``error()`` in the body when it runs longer than ``seconds`` (``None``: no limit)."""
    if seconds is None or not can_limit():
        yield
        return

    def expired(signum: int, frame: object) -> None:
        raise error()

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
