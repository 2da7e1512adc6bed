"""wmbench: a benchmark suite for world models.

The public API. Each stage is a package that imports only the stages before it:
tasks < worlds < {adapters, metrics} < run < results < {leaderboard, api} <
{cli, lightning} (the contract import-linter checks in CI, in pyproject.toml).
"""

from typing import TYPE_CHECKING

from wmbench._version import __version__
from wmbench.adapters import Adapter, ContextBatch, ReferenceAdapter, Requirements, load_adapter
from wmbench.errors import WmbenchError
from wmbench.tasks import Task, get_suite, get_task, load_task

if TYPE_CHECKING:  # what the names imported on first use are, for type checkers
    from wmbench.api import evaluate
    from wmbench.worlds import Episode, EpisodeCache, ObjectSpec, Rollout, generate_episode

__all__ = [
    "Adapter", "ContextBatch", "Episode", "EpisodeCache", "ObjectSpec", "ReferenceAdapter",
    "Requirements", "Rollout", "Task", "WmbenchError", "__version__", "evaluate", "generate_episode",
    "get_suite", "get_task", "load_adapter", "load_task",
]


#: Imported on first use: the run stage (Lightning) is not needed by ``import wmbench`` and
#: the command line's start, and the episode stage must not be loaded where an isolated
#: adapter runs (:mod:`wmbench.run.child`) unless the adapter imports it itself.
_LAZY = {"evaluate": "wmbench.api", "Episode": "wmbench.worlds", "EpisodeCache": "wmbench.worlds",
         "ObjectSpec": "wmbench.worlds", "Rollout": "wmbench.worlds", "generate_episode": "wmbench.worlds"}


def __getattr__(name: str):
    """The names of :data:`_LAZY`, imported on first use."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'wmbench' has no attribute {name!r}")
