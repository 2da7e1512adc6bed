"""The run directory: per-episode rows written as they are produced.

Layout of ``<out>/``::

    run.json          what was asked (adapter, config, tasks, split); a rerun must match
    rows/rank-<r>.jsonl  rows appended and fsynced by each process as episodes finish
    speed/<task>@<version>.json  the speed protocol's numbers, measured once per task
    predictions/<task>@<version>/<seed>.npz  predicted frames kept (see :mod:`wmbench.run.saved`)

:mod:`wmbench.results` then writes the result beside them (``episodes.jsonl``,
``result.json``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from wmbench.errors import OutputError, ResultError

RUN_FILE, ROWS_DIR, SPEED_DIR = "run.json", "rows", "speed"


def row_key(row: dict[str, Any]) -> tuple[str, int, str, int]:
    return row["task"], row["version"], row["split"], row["seed"]


def prepare_directory(out: Path) -> Path:
    """Create ``out`` (and ``rows/``) or fail with a one-line error naming it."""
    try:
        (out / ROWS_DIR).mkdir(parents=True, exist_ok=True)
        (out / SPEED_DIR).mkdir(exist_ok=True)
        probe = out / ROWS_DIR / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise OutputError(f"output directory {out} is not writable: {exc.strerror or exc}") from exc
    return out


class RowWriter:
    """Appends rows to ``rows/rank-<rank>.jsonl``, flushed and fsynced after each batch.

    A line cut short by a killed process is cut off first, so that the rows appended by
    the rerun start on a line of their own."""

    def __init__(self, out: Path, rank: int = 0):
        self.path = out / ROWS_DIR / f"rank-{rank}.jsonl"
        self.failed = 0
        if self.path.exists():
            data = self.path.read_bytes()
            if data and not data.endswith(b"\n"):
                with open(self.path, "r+b") as handle:
                    handle.truncate(data.rfind(b"\n") + 1)

    def __call__(self, rows: list[dict[str, Any]]) -> None:
        self.failed += sum(r["status"] != "ok" for r in rows)
        with open(self.path, "a", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps(row, sort_keys=True, allow_nan=False) + "\n")
            handle.flush()
            os.fsync(handle.fileno())


def read_rows(out: Path) -> list[dict[str, Any]]:
    """All rows written so far, the last one per episode winning (a retry replaces a
    failure); a line cut short by a killed process is ignored."""
    latest: dict[tuple, dict[str, Any]] = {}
    for path in sorted((out / ROWS_DIR).glob("rank-*.jsonl")):
        lines = path.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines, start=1):
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                if number == len(lines):
                    continue  # the torn last line of a killed writer
                raise ResultError(f"{path}: line {number} is not valid JSON") from exc
            if row_key(row) not in latest or row["status"] == "ok":
                latest[row_key(row)] = row
    return sorted(latest.values(), key=row_key)


def completed(out: Path) -> set[tuple]:
    """Keys of the episodes that already have a successful row."""
    if not (out / ROWS_DIR).is_dir():
        return set()
    return {row_key(r) for r in read_rows(out) if r["status"] == "ok"}
