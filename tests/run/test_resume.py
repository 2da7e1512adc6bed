"""A run killed mid-way (SIGKILL, SIGTERM, Ctrl-C) and rerun ends complete and duplicate-free."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from wmbench.results import load_result
from wmbench.run.writer import RowWriter, read_rows

from ..conftest import REPO, run_subprocess

pytestmark = pytest.mark.slow

LIMIT = 6


def _command(out: Path) -> list[str]:
    return ["run", "--adapter", "tests.fakes.slow:Sleeper", "--adapter-config", '{"seconds": 0.4}',
            "--tasks", "drop_single", "--limit", str(LIMIT), "--batch-size", "1", "--out", str(out),
            "--no-progress"]


def _lines(out: Path) -> list[str]:
    path = out / "rows" / "rank-0.jsonl"
    return path.read_text().splitlines() if path.exists() else []


def _start(out: Path, cache_dir: Path) -> subprocess.Popen:
    env = dict(os.environ, WMBENCH_CACHE=str(cache_dir), PYTHONPATH=str(REPO))
    return subprocess.Popen([sys.executable, "-m", "wmbench", *_command(out)], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture(scope="module")
def interrupted(tmp_path_factory, cache_dir):
    """Two runs started together; each is hit by one signal once its first rows are on disk."""
    run_subprocess("generate", "drop_single", "--limit", LIMIT, cache_dir=cache_dir)  # warm the cache
    root = tmp_path_factory.mktemp("interrupted")
    signals = {"SIGKILL": signal.SIGKILL, "SIGTERM": signal.SIGTERM}
    procs = {name: _start(root / name, cache_dir) for name in signals}
    deadline, pending = time.monotonic() + 240, dict(procs)
    while pending and time.monotonic() < deadline:
        for name, proc in list(pending.items()):
            if len(_lines(root / name)) >= 2:
                proc.send_signal(signals[name])
                del pending[name]
        time.sleep(0.05)
    results = {}
    for name, proc in procs.items():
        _, err = proc.communicate(timeout=120)
        results[name] = (proc.returncode, err, _lines(root / name))
    reruns = {name: _start(root / name, cache_dir) for name in signals}  # the same command again
    for name, proc in reruns.items():
        _, err = proc.communicate(timeout=240)
        results[name] += (proc.returncode, err, _lines(root / name))
    return root, results


def test_each_signal_stops_the_run_part_way(interrupted):
    _, results = interrupted
    for name, (code, err, lines, *_) in results.items():
        assert 2 <= len(lines) < LIMIT, name
    assert results["SIGKILL"][0] == -signal.SIGKILL
    returncode, err, lines, *_ = results["SIGTERM"]
    last = err.strip().splitlines()[-1]
    assert returncode == 143, err
    assert last.startswith("wmbench: error: interrupted by SIGTERM; ")
    assert f"of {LIMIT} episodes done" in last and last.endswith("rerun the same command to resume")


@pytest.mark.parametrize("name", ["SIGKILL", "SIGTERM"])
def test_rerun_finishes_only_the_missing_episodes(interrupted, name):
    root, results = interrupted
    out = root / name
    _, _, lines, code, err, after = results[name]
    before = [line for line in lines if line.endswith("}")]  # a torn last line is cut by the rerun
    assert code == 0, err
    assert after[: len(before)] == before  # nothing written before was rewritten
    assert len(after) == LIMIT  # the rerun added exactly the missing episodes
    rows = load_result(out).rows
    assert len(rows) == LIMIT and len({r["seed"] for r in rows}) == LIMIT
    assert all(r["status"] == "ok" for r in rows)


def test_a_torn_last_line_is_cut_before_appending(tmp_path):
    (tmp_path / "rows").mkdir()
    row = {"task": "t", "version": 1, "split": "dev", "seed": 1, "status": "ok"}
    path = tmp_path / "rows" / "rank-0.jsonl"
    path.write_text(json.dumps(row) + "\n" + '{"task": "t", "vers')
    assert len(read_rows(tmp_path)) == 1  # the torn line is ignored when read
    RowWriter(tmp_path)([dict(row, seed=2)])
    assert [r["seed"] for r in read_rows(tmp_path)] == [1, 2]
    assert path.read_text().count("\n") == 2


@pytest.mark.parametrize("raised, code", [(KeyboardInterrupt, 130), (SystemExit(1), 130)])
def test_ctrl_c_and_lightnings_exit_after_it_become_one_error(raised, code):
    """Lightning tears down on Ctrl-C and calls ``sys.exit(1)``; both read as an interruption."""
    from wmbench.errors import Interrupted
    from wmbench.run.evaluate import _interrupts

    with pytest.raises(Interrupted) as info:
        with _interrupts(lambda: "3 of 6 episodes done"):
            raise raised
    assert info.value.exit_code == code
    assert str(info.value) == "interrupted by Ctrl-C; 3 of 6 episodes done; rerun the same command to resume"
    with pytest.raises(SystemExit):
        with _interrupts(lambda: ""):
            raise SystemExit(0)
