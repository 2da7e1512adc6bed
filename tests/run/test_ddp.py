"""Two CPU processes (DDP, gloo) give the single-process results, episode by episode."""

from __future__ import annotations

import csv
import json
import math
import shutil

import pytest

from wmbench.results import load_result

from ..conftest import run_subprocess

pytestmark = pytest.mark.slow

LIMIT = 5
TIMING = ("latency_ms", "overhead_ms", "batch_size")  # how the run was executed, not what it scored


def _command(out) -> list:
    return ["run", "--adapter", "copy_last", "--tasks", "drop_single", "--limit", LIMIT, "--batch-size", 2,
            "--out", out, "--no-progress"]


def _same(a, b) -> bool:
    """Equal nested data, floats to 1e-5 relative or 1e-6 absolute: several metrics work
    in float32 (SSIM, object masks), whose reductions, split over another number of
    threads per process, may round differently."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-5, abs_tol=1e-6)
    return a == b


def _scored(rows: list[dict]) -> dict[int, dict]:
    return {i: {k: v for k, v in r.items() if k not in TIMING} for i, r in enumerate(rows)}


@pytest.fixture(scope="module")
def runs(tmp_path_factory, cache_dir):
    """One process; two processes; two processes resuming the single run with one episode
    left (so that the second process has no episode of its own)."""
    root = tmp_path_factory.mktemp("ddp")
    single = run_subprocess(*_command(root / "single"), cache_dir=cache_dir)
    assert single.returncode == 0, single.stderr
    partial = root / "partial"
    (partial / "rows").mkdir(parents=True)
    shutil.copy(root / "single" / "run.json", partial / "run.json")
    lines = (root / "single" / "rows" / "rank-0.jsonl").read_text().splitlines()
    (partial / "rows" / "rank-0.jsonl").write_text("\n".join(lines[:-1]) + "\n")
    ddp = ["--accelerator", "cpu", "--devices", 2, "--strategy", "ddp"]
    for name in ("ddp", "partial"):
        proc = run_subprocess(*_command(root / name), *ddp, cache_dir=cache_dir)
        assert proc.returncode == 0, proc.stderr
    return root


def test_two_processes_equal_one_episode_by_episode(runs):
    single, ddp = load_result(runs / "single"), load_result(runs / "ddp")
    assert len(ddp.rows) == LIMIT and len({r["seed"] for r in ddp.rows}) == LIMIT
    assert _same(_scored(ddp.rows), _scored(single.rows))
    for name, stats in single.record["aggregates"]["drop_single"]["metrics"].items():
        assert _same(ddp.record["aggregates"]["drop_single"]["metrics"][name], stats)
    assert ddp.record["execution"]["devices"] == 2 and ddp.record["execution"]["strategy"] == "ddp"


def test_each_process_scores_a_disjoint_shard_written_once(runs):
    shards = {}
    for rank in (0, 1):
        lines = (runs / "ddp" / "rows" / f"rank-{rank}.jsonl").read_text().splitlines()
        shards[rank] = [json.loads(line)["seed"] for line in lines]
    seeds = [e["seed"] for e in load_result(runs / "ddp").record["tasks"][0]["episodes"]]
    assert shards == {0: seeds[0::2], 1: seeds[1::2]}  # episode i goes to rank i % 2, no padding


def _rank0_seeds(runs) -> set[int]:
    lines = (runs / "ddp" / "rows" / "rank-0.jsonl").read_text().splitlines()
    return {json.loads(line)["seed"] for line in lines}


def test_logged_metrics_are_gathered_from_both_processes(runs):
    """The metrics logged through Lightning are the mean over all episodes, not rank 0's."""
    with open(runs / "ddp" / "logs" / "drop_single" / "version_0" / "metrics.csv") as handle:
        logged = next(csv.DictReader(handle))
    rows = load_result(runs / "ddp").rows
    rank0 = [r["metrics"]["mse"] for r in rows if r["seed"] in _rank0_seeds(runs)]
    everything = sum(r["metrics"]["mse"] for r in rows) / len(rows)
    assert float(logged["drop_single/mse"]) == pytest.approx(everything, rel=1e-6)
    assert abs(everything - sum(rank0) / len(rank0)) > 1e-6  # rank 0's shard alone would differ


def test_resuming_with_fewer_episodes_than_processes(runs):
    partial, single = load_result(runs / "partial"), load_result(runs / "single")
    assert _same(_scored(partial.rows), _scored(single.rows))
    assert not (runs / "partial" / "rows" / "rank-1.jsonl").exists() or \
        not (runs / "partial" / "rows" / "rank-1.jsonl").read_text()
