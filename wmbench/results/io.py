"""Reading results: schema checks and checksums (of the record and of its rows).

The checksums catch a result changed after it was written (by hand or by a broken
copy); they are no signature: whoever edits a result can recompute them. That is what
:func:`wmbench.results.verify.verify_result` is for: it recomputes what the record
derives from the rows.
"""

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
    "checksum",
)


def record_checksum(record: dict[str, Any]) -> str:
    """SHA-256 of ``record``'s canonical JSON (keys sorted, no whitespace), its own
    ``checksum`` left out. The record holds the rows' SHA-256, so this covers both."""
    body = {k: v for k, v in record.items() if k != "checksum"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass
class Result:
    """A validated result: the record, its per-episode rows and where it was read from
    (``None`` for a result kept in memory only)."""

    record: dict[str, Any]
    rows: list[dict[str, Any]]
    path: Path | None

    @property
    def file(self) -> Path:
        """The ``result.json`` it was read from; :class:`ResultError` for a result kept in
        memory only."""
        if self.path is None:
            raise ResultError("this result was kept in memory only and has no files: evaluate with out=DIR to write it")
        return self.path

    @property
    def adapter(self) -> str:
        return self.record["adapter"]["name"]

    @property
    def headline(self) -> dict[str, Any]:
        """The normalised scores and indices (``result.json``'s ``headline``)."""
        return self.record["headline"]

    @property
    def indices(self) -> dict[str, float]:
        """Each area's headline index (0 = frozen world, 100 = physical variance)."""
        return {area: entry["score"] for area, entry in self.headline["areas"].items()}

    @property
    def privileged(self) -> bool:
        return bool(self.record["adapter"].get("privileged"))


def load_result(path: Path | str) -> Result:
    """Read ``result.json`` (or the directory holding it) and its rows, verifying the
    schema version and both checksums; any problem raises :class:`ResultError`."""
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
    if record["checksum"] != record_checksum(record):
        raise ResultError(f"{file}: field 'checksum' does not match the record; result.json was modified")
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
