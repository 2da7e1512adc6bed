"""Stage 1: read and validate task files, splits and suites."""

from wmbench.tasks.catalog import Suite, builtin_suites, builtin_tasks, get_suite, get_task, select
from wmbench.tasks.schema import FAMILIES, SPLITS, Task, load_task, task_from_dict
from wmbench.tasks.seeds import episode_seed, split_seeds

__all__ = [
    "FAMILIES", "SPLITS", "Suite", "Task", "builtin_suites", "builtin_tasks", "episode_seed",
    "get_suite", "get_task", "load_task", "select", "split_seeds", "task_from_dict",
]
