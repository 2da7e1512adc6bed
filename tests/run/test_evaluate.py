"""End to end: baselines run through Lightning, scored, written, tabulated; bad adapters."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from wmbench.errors import ResultError
from wmbench.results import load_result
from wmbench.tasks import get_task

from ..conftest import REPO, run_and_record

BROKEN = REPO / "tests" / "fakes" / "broken.py"


@pytest.fixture(scope="module")
def baseline_results(tmp_path_factory, cache_dir):
    """copy_last and oracle on 4 dev episodes of drop_single."""
    from wmbench.run import Execution, RunSpec
    from wmbench.worlds import EpisodeCache

    out = tmp_path_factory.mktemp("runs")
    results = {}
    for adapter in ("copy_last", "oracle"):
        spec = RunSpec(adapter=adapter, tasks=("drop_single",), split="dev", limit=4)
        results[adapter] = run_and_record(spec, out / adapter, EpisodeCache(cache_dir), Execution(progress=False))
    return out, results


def test_oracle_scores_the_maximum_and_copy_last_lower(baseline_results):
    _, results = baseline_results
    oracle = results["oracle"]["aggregates"]["drop_single"]["metrics"]
    frozen = results["copy_last"]["aggregates"]["drop_single"]["metrics"]
    assert oracle["mse"]["mean"] == 0.0 and oracle["psnr"]["mean"] == 100.0
    assert oracle["ssim"]["mean"] == 1.0
    assert 1e-4 < frozen["mse"]["mean"] < 0.1
    assert 10 < frozen["psnr"]["mean"] < 40
    assert 0.5 < frozen["ssim"]["mean"] < 0.999
    assert oracle["motion_spatial_iou"]["mean"] == 1.0 and oracle["motion_mse"]["mean"] == 0.0
    assert frozen["motion_spatiotemporal_iou"]["mean"] < 1.0 and frozen["motion_mse"]["mean"] > 0
    pixel = ("mse", "psnr", "ssim", "motion_spatial_iou", "motion_mse", "trajectory_ade", "continuity")
    assert all(m[name]["count"] == 4 and m[name]["missing"] == 0 for m in (oracle, frozen) for name in pixel)
    unavailable = results["oracle"]["tasks"][0]["missing_metrics"]
    assert set(unavailable) <= {"lpips"}  # no weights offline: missing with the reason, never a number
    assert all(oracle[name]["mean"] is None and oracle[name]["count"] == 0 for name in unavailable)


def test_headline_is_0_for_the_frozen_world_and_100_for_the_oracle(baseline_results):
    from wmbench.metrics import METRICS

    _, results = baseline_results
    oracle, frozen = (results[a]["headline"] for a in ("oracle", "copy_last"))
    unavailable = results["oracle"]["tasks"][0]["missing_metrics"]
    scored = {m: e for m, e in oracle["tasks"]["drop_single"].items() if m not in unavailable}
    assert len(scored) >= 20 and all(e["score"] == 100.0 for e in scored.values())
    assert all(e["score"] == 100.0 for e in (*oracle["areas"].values(), *oracle["families"].values()))
    laws = {m for m in frozen["tasks"]["drop_single"] if METRICS[m].violation_anchor is not None}
    assert laws == {"permanence", "rigidity", "interpenetration", "continuity", "inertia", "energy_gain",
                    "flicker", "drift", "warp_error", "blinks"}
    roles = results["copy_last"]["tasks"][0]["metric_roles"]
    assert {m for m, role in roles.items() if role == "law"} == laws
    for metric, entry in frozen["tasks"]["drop_single"].items():
        if metric not in unavailable:
            # a frozen world breaks no law but inertia: it stops the falling object dead
            assert entry["score"] == (100.0 if metric in laws - {"inertia"} else 0.0), metric
    # ... but a law only penalises its area's index: no credit for what a frozen world does anyway
    assert all(frozen["areas"][area]["score"] == 0.0 for area in ("fidelity", "physics", "coherence"))


def test_result_pools_the_per_step_psnr_curve_from_the_rows(baseline_results):
    out, results = baseline_results
    horizon = get_task("drop_single").horizon
    oracle = results["oracle"]["aggregates"]["drop_single"]["pooled"]["coherent_horizon"]
    assert oracle == {"mean_psnr_db_per_step": [100.0] * horizon, "episodes": 4}
    rows = [json.loads(line) for line in (out / "copy_last" / "episodes.jsonl").read_text().splitlines()]
    curves = np.array([r["pooled"]["coherent_horizon"]["curves"][0] for r in rows])
    assert curves.shape == (4, horizon) and curves[:, -1].mean() < curves[:, 0].mean()  # a frozen world decays
    for row, curve in zip(rows, curves):  # the per-episode horizon reads the same curve
        below = np.flatnonzero(curve < 30.0)
        assert row["metrics"]["coherent_horizon"] == (below[0] if below.size else horizon)
    pooled = results["copy_last"]["aggregates"]["drop_single"]["pooled"]["coherent_horizon"]
    assert pooled["episodes"] == 4
    assert pooled["mean_psnr_db_per_step"] == pytest.approx(curves.mean(0).tolist(), abs=1e-12)


def test_result_carries_provenance(baseline_results):
    out, _ = baseline_results
    result = load_result(out / "copy_last")
    record = result.record
    assert record["schema"] == "wmbench.result" and record["schema_version"] == 2
    assert record["adapter"]["name"] == "copy_last" and not record["adapter"]["privileged"]
    assert load_result(out / "oracle").privileged
    task = record["tasks"][0]
    assert task["name"] == "drop_single" and task["version"] == get_task("drop_single").version and len(task["definition_sha256"]) == 64
    assert all(len(e["episode_hash"]) == 64 for e in task["episodes"]) and len(task["episodes"]) == 4
    env = record["environment"]
    assert env["libraries"]["torch"] and env["engine"]["pymunk"] and env["hardware"]["cpu_count"]
    assert env["torch_threads"] == torch.get_num_threads()
    assert record["wmbench"]["version"] and record["created"]
    assert len(result.rows) == 4 and all(r["status"] == "ok" and r["latency_ms"] > 0 for r in result.rows)


def test_tampered_rows_are_detected(baseline_results, tmp_path):
    import shutil

    out, _ = baseline_results
    copy = tmp_path / "copy"
    shutil.copytree(out / "copy_last", copy)
    lines = (copy / "episodes.jsonl").read_text().splitlines()
    first = json.loads(lines[0])
    first["metrics"]["psnr"] = 99.0
    (copy / "episodes.jsonl").write_text("\n".join([json.dumps(first, sort_keys=True), *lines[1:]]) + "\n")
    with pytest.raises(ResultError, match="SHA-256 does not match"):
        load_result(copy)
    (copy / "result.json").write_text("{not json")
    with pytest.raises(ResultError, match="not valid JSON"):
        load_result(copy)


def test_rerun_resumes_without_duplicates(baseline_results, cli):
    out, _ = baseline_results
    code, stdout, _ = cli("run", "--adapter", "copy_last", "--tasks", "drop_single", "--limit", "4",
                          "--split", "dev", "--out", out / "copy_last", "--no-progress")
    assert code == 0
    rows = load_result(out / "copy_last").rows
    assert len(rows) == 4 and len({r["seed"] for r in rows}) == 4


def test_rerun_with_different_spec_is_refused(baseline_results, cli):
    out, _ = baseline_results
    code, _, err = cli("run", "--adapter", "oracle", "--tasks", "drop_single", "--limit", "4",
                       "--out", out / "copy_last", "--no-progress")
    assert code != 0 and "holds a different run" in err and "adapter" in err


def test_leaderboard_and_compare(baseline_results, cli, tmp_path):
    out, _ = baseline_results
    code, stdout, _ = cli("leaderboard", out, "--out", tmp_path / "lb")
    assert code == 0
    board = pd.read_csv(tmp_path / "lb" / "leaderboard.csv").set_index("model")
    indices = ["fidelity", "physics", "dropping_objects"]
    assert {*indices, "fidelity ci_low", "fidelity ci_high"} <= set(board.columns)
    assert board.loc["copy_last", "fidelity"] == 0.0 and not board.loc["copy_last", "reference"]
    assert board.loc["copy_last", "physics"] == 0.0  # a frozen world: its laws give no credit
    assert board.loc["oracle", indices].tolist() == [100.0] * 3 and board.loc["oracle", "reference"]
    details = (tmp_path / "lb" / "details.csv").read_text().splitlines()
    assert details[0].startswith("model,reference,suite,suite_version,split,drop_single/mse") and len(details) == 3
    assert "| copy_last" in (tmp_path / "lb" / "leaderboard.md").read_text()
    assert "<table" in (tmp_path / "lb" / "index.html").read_text()
    code, stdout, _ = cli("compare", out / "oracle", out / "copy_last", "--json")
    table = {r["metric"]: r for r in json.loads(stdout)}
    assert code == 0 and table["psnr"]["worse"] and table["mse"]["worse"] and table["mse"]["change"] > 0
    code, _, err = cli("compare", out / "oracle", out / "copy_last", "--fail-on-regression", "0.01")
    assert code == 1 and "regression" in err


@pytest.mark.parametrize("cls, words", [
    ("Raises", "raised RuntimeError: model exploded"),
    ("WrongShape", "predicted frames are 128x127 pixels, expected 128x128"),
    ("WrongCount", "predicted 15 frames, expected 16"),
    ("WrongDtype", "dtype torch.uint8"),
    ("HasNaN", "1 NaN/Inf values"),
    ("OutOfRange", "expected [0, 1]"),
    ("NotATensor", "returned list"),
])
def test_broken_adapter_is_a_one_line_error(cli, tmp_path, cls, words):
    code, _, err = cli("run", "--adapter", f"{BROKEN}:{cls}", "--tasks", "drop_single", "--limit", "2",
                       "--out", tmp_path / "out", "--no-progress")
    line = err.strip().splitlines()[-1]
    assert code == 3
    assert line.startswith(f"wmbench: error: adapter '{cls}', task 'drop_single', episode {get_task('drop_single').id}/dev/")
    assert words in line
    rows = [json.loads(x) for x in (tmp_path / "out" / "rows" / "rank-0.jsonl").read_text().splitlines()]
    assert rows and all(r["status"] == "failed" and "Traceback" in r["traceback"] for r in rows)


def test_skip_records_failures_and_finishes(cli, tmp_path):
    code, stdout, _ = cli("run", "--adapter", f"{BROKEN}:Raises", "--tasks", "drop_single", "--limit", "2",
                          "--out", tmp_path / "out", "--on-error", "skip", "--no-progress")
    assert code == 0 and "2 failed" in stdout
    result = load_result(tmp_path / "out")
    assert result.record["aggregates"]["drop_single"]["failed"] == 2
    assert result.record["aggregates"]["drop_single"]["metrics"]["mse"]["mean"] is None


def test_unknown_adapter(cli, tmp_path):
    code, _, err = cli("run", "--adapter", "copy_lats", "--out", tmp_path / "o")
    assert code == 2 and "unknown adapter 'copy_lats'; did you mean 'copy_last'" in err


def test_output_path_that_is_a_file_is_refused(cli, tmp_path):
    target = tmp_path / "taken"
    target.write_text("")
    code, _, err = cli("run", "--adapter", "copy_last", "--out", target / "sub")
    assert code == 2 and f"output directory {target / 'sub'} is not writable" in err


def test_malformed_task_file_from_cli(cli, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("name: bad\nversion: 1\n")
    code, _, err = cli("run", "--adapter", "copy_last", "--tasks", str(path), "--out", tmp_path / "o")
    assert code == 2 and str(path) in err and "'family'" in err and len(err.strip().splitlines()) == 1


def test_verify_accepts_a_genuine_result_and_rejects_a_forged_episode(baseline_results, cache, tmp_path):
    from wmbench.results import verify_result

    from ..results.forgery import forged

    out, _ = baseline_results
    assert verify_result(load_result(out / "copy_last"), cache) == 4

    def forge_hash(record, rows):
        episode = record["tasks"][0]["episodes"][1]
        episode["episode_hash"] = next(r for r in rows if r["seed"] == episode["seed"])["episode_hash"] = "0" * 64

    with pytest.raises(ResultError, match=r"episode drop_single@\d+/dev/\d+: episode hash 000000000000 differs"):
        verify_result(load_result(forged(tmp_path / "hash", forge_hash, out / "copy_last")), cache)

    def forge_version(record, rows):
        record["tasks"][0]["version"] = 99
        for row in rows:
            row["version"] = 99

    with pytest.raises(ResultError, match="scored at version 99"):
        verify_result(load_result(forged(tmp_path / "version", forge_version, out / "copy_last")), cache)


def test_leaderboard_verify_from_cli(baseline_results, cli, tmp_path):
    out, _ = baseline_results
    code, stdout, _ = cli("leaderboard", out, "--verify", "--out", tmp_path / "site")
    assert code == 0 and stdout.count("verified 4 episodes") == 2
