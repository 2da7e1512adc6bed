"""Locate the task files shipped with wmbench (checkout or wheel)."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _data_dir(name: str) -> Path:
    """``wmbench/_data/<name>`` in a wheel, ``<checkout>/<name>`` in a source tree."""
    installed = _PACKAGE / "_data" / name
    return installed if installed.is_dir() else _PACKAGE.parent / name


def tasks_dir() -> Path:
    """Directory holding the built-in task files (``<family>/<task>.yaml``) and suites."""
    return _data_dir("tasks")

