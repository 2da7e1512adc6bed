"""wmbench: a benchmark suite for world models.

The public API. Each stage is a package that imports only the stages before it:
tasks < worlds < {adapters, metrics} < run < results < leaderboard < cli (the contract
import-linter checks in CI, in pyproject.toml).
"""

from wmbench._version import __version__
from wmbench.adapters import Adapter, ContextBatch, ReferenceAdapter, Requirements, load_adapter
from wmbench.errors import WmbenchError
from wmbench.tasks import Task, get_suite, get_task, load_task
from wmbench.worlds import Episode, EpisodeCache, ObjectSpec, Rollout, generate_episode

__all__ = [
    "Adapter", "ContextBatch", "Episode", "EpisodeCache", "ObjectSpec", "ReferenceAdapter",
    "Requirements", "Rollout", "Task", "WmbenchError", "__version__", "generate_episode",
    "get_suite", "get_task", "load_adapter", "load_task",
]
