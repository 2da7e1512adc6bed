"""Released task definitions: a task version, once released, never changes.

``tasks/released.json`` maps every built-in ``name@version`` to the SHA-256 of its
definition as written (:meth:`Task.definition_hash`). A task file that claims a released
``name@version`` but defines something else (an edited parameter, a misspelled one) is
refused: its episodes and scores would silently differ from everyone else's under the
same name. Developers who change a task bump its version, add a changelog line and
regenerate the file with ``python -m tests.golden_hashes --update``.
"""

from __future__ import annotations

import json
from functools import lru_cache

from wmbench._resources import tasks_dir
from wmbench.errors import TaskFileError
from wmbench.tasks.schema import Task

RELEASED_FILE = "released.json"


@lru_cache(maxsize=1)
def released_definitions() -> dict[str, str]:
    """``name@version`` -> definition SHA-256 of every released built-in task version."""
    path = tasks_dir() / RELEASED_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def check_released(task: Task) -> None:
    """Raise :class:`TaskFileError` if ``task`` redefines a released ``name@version``."""
    released = released_definitions().get(task.id)
    written = task.definition_hash(as_written=True)
    if released is not None and released != written:
        raise TaskFileError(
            task.source,
            "version",
            f"{task.id} differs from its released definition (sha256 {written[:12]}, released "
            f"{released[:12]}): a changed task needs a new version; bump 'version' and add a changelog line",
        )
