"""wmbench: a benchmark suite for world models.

The public API. Each stage is a package that imports only the stages before it:
tasks < worlds < {adapters, metrics} < run < results < {leaderboard, api, train, validation} <
{cli, lightning} (the contract import-linter checks in CI, in pyproject.toml).
"""

from wmbench._version import __version__
from wmbench.adapters import Adapter, ContextBatch, ReferenceAdapter, Requirements, load_adapter
from wmbench.errors import WmbenchError
from wmbench.tasks import Task, get_suite, get_task, load_task
from wmbench.worlds import Episode, EpisodeCache, ObjectSpec, Rollout, generate_episode

__all__ = [
    "Adapter", "ContextBatch", "Episode", "EpisodeCache", "ObjectSpec", "ReferenceAdapter",
    "Requirements", "Rollout", "Task", "WmbenchError", "__version__", "evaluate", "generate_episode",
    "get_suite", "get_task", "load_adapter", "load_task",
]


def __getattr__(name: str):
    """``wmbench.evaluate``, imported on first use: it loads the run stage (Lightning),
    which ``import wmbench`` and the command line's start do not need."""
    if name == "evaluate":
        from wmbench.api import evaluate

        return evaluate
    raise AttributeError(f"module 'wmbench' has no attribute {name!r}")
