"""Episode seeds per split.

``train`` and ``dev`` seeds are public: derived from the task name, split and index.
``test`` seeds are derived from a secret supplied at run time (``--test-secret`` or
the ``WMBENCH_TEST_SECRET`` environment variable) and never stored in the repository,
so a published leaderboard cannot be tuned to them. Splits are disjoint because the
split name is part of what is hashed (a collision needs a 63-bit hash collision).
"""

from __future__ import annotations

import hashlib
import hmac
import os

from wmbench.errors import MissingSecretError, WmbenchError
from wmbench.tasks.schema import SPLITS, Task

SECRET_ENV = "WMBENCH_TEST_SECRET"


def episode_seed(task: Task, split: str, index: int, secret: str | None = None) -> int:
    """The seed of episode ``index`` of ``split`` (a non-negative 63-bit integer)."""
    if split not in SPLITS:
        raise WmbenchError(f"task '{task.name}': unknown split '{split}' (known: {', '.join(SPLITS)})")
    message = f"{task.name}/{split}/{index}".encode()
    if split == "test":
        secret = secret if secret is not None else os.environ.get(SECRET_ENV)
        if not secret:
            raise MissingSecretError(task.name, SECRET_ENV)
        digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    else:
        digest = hashlib.sha256(b"wmbench-public/" + message).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def split_seeds(task: Task, split: str, limit: int | None = None, secret: str | None = None) -> list[int]:
    """Seeds of the first ``limit`` (default: all) episodes of a split."""
    count = task.episodes.get(split, 0)
    if limit is not None:
        count = min(count, limit)
    return [episode_seed(task, split, i, secret) for i in range(count)]
