"""Find tasks and suites by name: the built-in ones, or files given by path.

A suite file (``tasks/suites/<name>.yaml``) lists tasks for a named run::

    name: smoke
    version: 1          # bump whenever its tasks, their versions or the episode cap change
    description: A few tasks that run in seconds on a laptop CPU, for CI.
    split: dev
    episodes: 4          # optional cap on episodes per task
    tasks: [drop_single]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from wmbench._resources import tasks_dir
from wmbench.errors import ResultError, TaskFileError, UnknownNameError, WmbenchError
from wmbench.tasks.schema import SPLITS, Task, load_task

SUITES_DIR = "suites"


@cache
def builtin_tasks() -> dict[str, Path]:
    """Built-in task names mapped to their files (``tasks/<family>/<name>.yaml``)."""
    root = tasks_dir()
    found: dict[str, Path] = {}
    for path in sorted(root.glob("*/*.yaml")):
        if path.parent.name == SUITES_DIR:
            continue
        found[path.stem] = path
    return found


def get_task(name_or_path: str | Path) -> Task:
    """A task by built-in name or by path to a YAML file."""
    text = str(name_or_path)
    if text.endswith((".yaml", ".yml")) or Path(text).is_file():
        return load_task(text)
    known = builtin_tasks()
    if text not in known:
        raise UnknownNameError("task", text, list(known))
    task = load_task(known[text])
    if task.name != text:
        raise TaskFileError(known[text], "name", f"is {task.name!r} but the file is named {text}.yaml")
    return task


def recorded_task(entry: dict[str, Any], where: str) -> Task:
    """The local task a result's task record (``name``, ``version``, ``definition_sha256``,
    ``resolution``, ``fps``) was scored on, rendered as it was; :class:`ResultError`
    (prefixed with ``where``) when the local task file is another version or definition."""
    task = get_task(entry["name"]).with_overrides(resolution=entry["resolution"], fps=entry["fps"])
    if entry["version"] != task.version:
        raise ResultError(f"{where} was scored at version {entry['version']}, the current one is {task.version}")
    if entry["definition_sha256"] != task.definition_hash():
        raise ResultError(f"{where}: its definition differs from the local task file {task.source}")
    return task


@dataclass(frozen=True)
class Suite:
    """A named, versioned set of tasks: results are ranked against each other only
    when they ran the same suite version on the same split."""

    name: str
    tasks: tuple[str, ...]
    split: str = "dev"
    episodes: int | None = None
    description: str = ""
    version: int = 1

    @property
    def id(self) -> str:
        """``name@version``, as recorded in results and releases."""
        return f"{self.name}@{self.version}"


def builtin_suites() -> dict[str, Path]:
    return {p.stem: p for p in sorted((tasks_dir() / SUITES_DIR).glob("*.yaml"))}


def get_suite(name_or_path: str | Path) -> Suite:
    """A suite by built-in name or path; its task names are checked to exist."""
    text = str(name_or_path)
    known = builtin_suites()
    path = Path(text) if text.endswith((".yaml", ".yml")) else known.get(text)
    if path is None:
        raise UnknownNameError("suite", text, list(known))
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise TaskFileError(path, "<file>", f"cannot be read as YAML: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("tasks"), list) or not data["tasks"]:
        raise TaskFileError(path, "tasks", "must be a non-empty list of task names")
    split = data.get("split", "dev")
    if split not in SPLITS:
        raise TaskFileError(path, "split", f"{split!r} is not one of {', '.join(SPLITS)}")
    episodes = data.get("episodes")
    if episodes is not None and (not isinstance(episodes, int) or episodes < 1):
        raise TaskFileError(path, "episodes", f"must be a positive integer, got {episodes!r}")
    version = data.get("version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise TaskFileError(path, "version", f"must be a positive integer, got {version!r}")
    for name in data["tasks"]:
        if str(name) not in builtin_tasks():
            raise TaskFileError(path, "tasks", str(UnknownNameError("task", str(name), list(builtin_tasks()))))
    return Suite(
        name=str(data.get("name", path.stem)),
        tasks=tuple(str(t) for t in data["tasks"]),
        split=split,
        episodes=episodes,
        description=str(data.get("description", "")),
        version=version,
    )


def select(
    suite: str | Path | None, tasks: str | Sequence[str] | None, split: str | None, limit: int | None
) -> tuple[tuple[str, ...], Suite | None, str, int | None]:
    """What a run evaluates, as ``(task names, suite or None, split, limit)``: ``tasks``
    (names or files, comma-separated or a sequence) on ``split`` (default dev); else
    ``suite`` (default smoke) on its split unless ``split`` is given, capped at its
    episodes per task unless ``limit`` is given."""
    if tasks is not None:
        names = tuple(t.strip() for t in tasks.split(",") if t.strip()) if isinstance(tasks, str) else tuple(tasks)
        if not names:
            raise WmbenchError(f"no tasks given: {tasks!r}")
        return names, None, split or "dev", limit
    chosen = get_suite(suite or "smoke")
    return chosen.tasks, chosen, split or chosen.split, limit or chosen.episodes
