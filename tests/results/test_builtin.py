"""The committed smoke submissions are what this code scores: each is rerun from its
``run.json`` and every number (per-episode metrics, references and pooled items,
aggregates, headline) must be identical. (The core and control submissions are checked
by ``wmbench leaderboard --verify`` when the site is built.)

When episodes or metrics change on purpose, regenerate the submissions (see
leaderboard/README.md); this test then holds the new numbers.
"""

from __future__ import annotations

import json

import pytest

from wmbench.results import load_result

from ..conftest import run_and_record
from .forgery import SUBMISSIONS

pytestmark = pytest.mark.slow

SCORED = ("metrics", "references", "pooled")


@pytest.mark.parametrize("committed", SUBMISSIONS, ids=[p.parent.name for p in SUBMISSIONS])
def test_rerun_gives_the_committed_numbers(committed, tmp_path, cache):
    from wmbench.run import Execution, RunSpec

    asked = json.loads((committed.parent / "run.json").read_text())
    spec = RunSpec(**dict(asked, tasks=tuple(asked["tasks"])))
    run_and_record(spec, tmp_path, cache, Execution(progress=False, logger="none"))
    before, after = load_result(committed), load_result(tmp_path)
    assert [r["episode_hash"] for r in after.rows] == [r["episode_hash"] for r in before.rows]
    for old, new in zip(before.rows, after.rows):
        for part in SCORED:
            assert new[part] == old[part], f"{old['task']} seed {old['seed']}: {part} changed"
    for part in ("aggregates", "headline"):
        for task, entry in before.record[part].items():
            if isinstance(entry, dict) and "latency_ms_per_episode" in entry:  # timing, not a score
                entry = {k: v for k, v in entry.items() if k != "latency_ms_per_episode"}
                new = {k: v for k, v in after.record[part][task].items() if k != "latency_ms_per_episode"}
            else:
                new = after.record[part][task]
            assert new == entry, f"{part}['{task}'] changed"
