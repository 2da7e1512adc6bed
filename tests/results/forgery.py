"""Copies of a committed result edited the way a forger would: both checksums recomputed."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from wmbench.results.io import record_checksum
from wmbench.results.schema import RESULT_FILE, ROWS_FILE

from ..conftest import REPO

#: The committed smoke submissions (the core and control ones score hundreds of frames
#: per episode: verified when the site is built, too slow to redo in every test run).
SUBMISSIONS = sorted((REPO / "leaderboard" / "submissions").glob("smoke-*/result.json"))


def forged(tmp_path: Path, change, source: Path = SUBMISSIONS[0].parent) -> Path:
    """A copy of ``source`` with ``change(record, rows)`` applied and both checksums
    (of the rows and of the record) recomputed, so that only verification can tell."""
    out = tmp_path / "forged"
    shutil.copytree(source, out)
    record = json.loads((out / RESULT_FILE).read_text())
    rows = [json.loads(line) for line in (out / ROWS_FILE).read_text().splitlines()]
    change(record, rows)
    data = "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows).encode()
    (out / ROWS_FILE).write_bytes(data)
    record["rows"]["sha256"] = hashlib.sha256(data).hexdigest()
    record["checksum"] = record_checksum(record)
    (out / RESULT_FILE).write_text(json.dumps(record))
    return out
