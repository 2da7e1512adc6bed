"""Reading results: schema checks and tamper detection."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wmbench.errors import ResultError
from wmbench.files import read_json
from wmbench.results.schema import RESULT_FILE, SCHEMA, SCHEMA_VERSION

_REQUIRED = (
    "schema",
    "schema_version",
    "created",
    "wmbench",
    "run",
    "adapter",
    "tasks",
    "environment",
    "aggregates",
    "rows",
)


@dataclass
class Result:
    """A validated result: the record, its per-episode rows and where it was read from."""

    record: dict[str, Any]
    rows: list[dict[str, Any]]
    path: Path

    @property
    def adapter(self) -> str:
        return self.record["adapter"]["name"]

    @property
    def privileged(self) -> bool:
        return bool(self.record["adapter"].get("privileged"))


def load_result(path: Path | str) -> Result:
    """Read ``result.json`` (or the directory holding it) and its rows, verifying the
    schema version and the rows' SHA-256; any problem raises :class:`ResultError`."""
    path = Path(path)
    file = path / RESULT_FILE if path.is_dir() else path
    record = read_json(file, ResultError)
    if not isinstance(record, dict):
        raise ResultError(f"{file}: expected a JSON object")
    missing = [k for k in _REQUIRED if k not in record]
    if missing:
        raise ResultError(f"{file}: field '{missing[0]}' is missing")
    if record["schema"] != SCHEMA:
        raise ResultError(f"{file}: field 'schema' is {record['schema']!r}, expected {SCHEMA!r}")
    if record["schema_version"] != SCHEMA_VERSION:
        raise ResultError(
            f"{file}: schema_version {record['schema_version']} is not supported (this wmbench reads {SCHEMA_VERSION})"
        )
    rows_file = file.parent / record["rows"]["file"]
    try:
        data = rows_file.read_bytes()
    except OSError as exc:
        raise ResultError(f"{rows_file}: cannot be read ({exc.strerror or exc})") from exc
    if hashlib.sha256(data).hexdigest() != record["rows"]["sha256"]:
        raise ResultError(f"{rows_file}: SHA-256 does not match result.json; the rows were modified")
    rows = [json.loads(line) for line in data.decode("utf-8").splitlines() if line]
    if len(rows) != record["rows"]["count"]:
        raise ResultError(f"{rows_file}: holds {len(rows)} rows, result.json says {record['rows']['count']}")
    return Result(record=record, rows=rows, path=file)
