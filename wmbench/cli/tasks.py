"""``wmbench tasks list|show|suites``: the built-in tasks and suites."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from wmbench.cli.options import JSON, add_command, add_group


def list_tasks(args: argparse.Namespace) -> int:
    from wmbench.tasks import builtin_tasks, get_task

    tasks = [get_task(name) for name in builtin_tasks()]
    if args.family:
        tasks = [t for t in tasks if t.family == args.family]
    rows = [
        {
            "name": t.name,
            "version": t.version,
            "family": t.family,
            "scene": t.scene,
            "resolution": t.resolution,
            "fps": t.fps,
            "context": t.context,
            "horizon": t.horizon,
        }
        for t in tasks
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        import pandas as pd

        print(pd.DataFrame(rows).to_string(index=False) if rows else "no tasks")
    return 0


def show_task(args: argparse.Namespace) -> int:
    from wmbench.metrics.base import check_metric_names
    from wmbench.tasks import get_task
    from wmbench.worlds import check_task

    task = get_task(args.task)
    check_task(task)
    check_metric_names(task.metrics, task.source)
    print(f"# {task.source}\n" + Path(task.source).read_text() if task.source else task)
    return 0


def list_suites(args: argparse.Namespace) -> int:
    from wmbench.tasks import builtin_suites, get_suite

    for name in builtin_suites():
        suite = get_suite(name)
        print(f"{suite.name}: split={suite.split} episodes={suite.episodes or 'all'} tasks={', '.join(suite.tasks)}")
    return 0


def add(commands: Any) -> None:
    tasks = add_group(commands, "tasks", "list and show tasks")
    p = add_command(tasks, "list", list_tasks, "list the built-in tasks", (JSON,))
    p.add_argument("--family", help="only this family")
    p = add_command(tasks, "show", show_task, "print a task file")
    p.add_argument("task", help="task name or path to a task file")
    add_command(tasks, "suites", list_suites, "list the built-in suites")
