"""Named metric sets (``tasks/metric_sets.yaml``) that task files include.

A task's ``metrics`` list holds metric names and ``{include: NAME}`` entries; each
entry is replaced, in place, by the set's metrics (a set may include another). The
expanded list is what the task scores and what its definition hash covers, so writing a
list out or including it gives the same task.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

from wmbench._resources import tasks_dir
from wmbench.errors import TaskFileError, UnknownNameError

SETS_FILE = "metric_sets.yaml"


@cache
def metric_sets() -> dict[str, Any]:
    """The built-in metric sets, as written (entries not yet expanded)."""
    path = tasks_dir() / SETS_FILE
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise TaskFileError(path, "<file>", f"cannot be read as YAML: {exc}") from exc
    if not isinstance(data, dict) or not all(isinstance(v, list) for v in data.values()):
        raise TaskFileError(path, "<root>", "must map set names to lists of metric names")
    return data


def expand_metrics(entries: Any, source: Path | None, within: tuple[str, ...] = ()) -> list[str]:
    """Metric names of a ``metrics`` list, ``{include: NAME}`` entries expanded in order;
    errors name ``source`` and the field."""
    if not isinstance(entries, list) or not entries:
        raise TaskFileError(source, "metrics", "must be a non-empty list of metric names or {include: SET} entries")
    names: list[str] = []
    for entry in entries:
        if isinstance(entry, str):
            names.append(entry)
        elif isinstance(entry, dict) and set(entry) == {"include"} and isinstance(entry["include"], str):
            name = entry["include"]
            sets = metric_sets()
            if name not in sets:
                raise TaskFileError(source, "metrics", str(UnknownNameError("metric set", name, list(sets))))
            if name in within:
                raise TaskFileError(source, "metrics", f"metric set '{name}' includes itself")
            names += expand_metrics(sets[name], tasks_dir() / SETS_FILE, (*within, name))
        else:
            raise TaskFileError(source, "metrics", f"entries are metric names or {{include: SET}}, got {entry!r}")
    return names
