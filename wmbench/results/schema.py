"""The result format: its name and version, its files, and its JSON Schema.

``result.schema.json`` (beside this module) is the published schema of ``result.json``;
its ``$defs.row`` describes each line of the rows file (``episodes.jsonl``).
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

import jsonschema

from wmbench.errors import ResultError

SCHEMA = "wmbench.result"
SCHEMA_VERSION = 2
RESULT_FILE, ROWS_FILE = "result.json", "episodes.jsonl"


@cache
def json_schema() -> dict[str, Any]:
    """The JSON Schema of ``result.json`` (draft 2020-12)."""
    return json.loads(resources.files(__package__).joinpath("result.schema.json").read_text(encoding="utf-8"))


@cache
def _validator(definition: str | None) -> jsonschema.Draft202012Validator:
    schema = json_schema()
    if definition is not None:
        schema = {"$ref": f"#/$defs/{definition}", "$defs": schema["$defs"]}
    return jsonschema.Draft202012Validator(schema)


def check_schema(data: Any, where: str, definition: str | None = None) -> None:
    """Raise :class:`ResultError` naming the first place where ``data`` breaks the schema
    (``definition``: one of its ``$defs``, e.g. ``"row"``; default: all of ``result.json``)."""
    error = jsonschema.exceptions.best_match(_validator(definition).iter_errors(data))
    if error is not None:
        path = "".join(f"[{p!r}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path).lstrip(".")
        raise ResultError(f"{where}: {'field ' + repr(path) + ': ' if path else ''}{error.message}")
