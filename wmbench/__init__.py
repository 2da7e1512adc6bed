"""wmbench: a benchmark suite for world models.

The public API, stage by stage: tasks -> worlds -> adapters -> run -> metrics ->
results -> leaderboard.
"""

__version__ = "0.1.0"

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
