"""wmbench: a benchmark suite for world models.

The public API. Each stage is a package that imports only the stages before it:
tasks < worlds < {adapters, metrics} < run < results < {leaderboard, api, train, validation} <
{cli, lightning} (the contract import-linter checks in CI, in pyproject.toml).

Names are imported on first use (PEP 562), so that ``import wmbench`` and commands
that need neither torch nor Lightning (``wmbench physics-iq`` on the CPU, ``--help``)
start without loading them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wmbench._lazy import lazy_names
from wmbench._version import __version__
from wmbench.errors import WmbenchError

if TYPE_CHECKING:
    from wmbench.adapters import Adapter, ContextBatch, ReferenceAdapter, Requirements, load_adapter
    from wmbench.api import evaluate
    from wmbench.tasks import Task, get_suite, get_task, load_task
    from wmbench.worlds import Episode, EpisodeCache, ObjectSpec, Rollout, generate_episode

#: Each lazily imported public name and the module it comes from.
_LAZY = {
    **dict.fromkeys(["Adapter", "ContextBatch", "ReferenceAdapter", "Requirements", "load_adapter"], "adapters"),
    **dict.fromkeys(["Task", "get_suite", "get_task", "load_task"], "tasks"),
    **dict.fromkeys(["Episode", "EpisodeCache", "ObjectSpec", "Rollout", "generate_episode"], "worlds"),
    "evaluate": "api",
}

__all__ = [
    "Adapter", "ContextBatch", "Episode", "EpisodeCache", "ObjectSpec", "ReferenceAdapter",
    "Requirements", "Rollout", "Task", "WmbenchError", "__version__", "evaluate", "generate_episode",
    "get_suite", "get_task", "load_adapter", "load_task",
]

__getattr__, __dir__ = lazy_names(__name__, _LAZY)
