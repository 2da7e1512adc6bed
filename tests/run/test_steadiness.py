"""The speed protocol's run-to-run spread (`wmbench bench speed`): what it computes and prints."""

from __future__ import annotations

import json

import pytest

from wmbench.run.steadiness import run_to_run


def _record(p50: float, frames_per_s: float) -> dict:
    return {"step_latency_ms": {"p50": p50}, "throughput_frames_per_s": frames_per_s}


def test_run_to_run_spread_is_the_range_over_the_median():
    spread = run_to_run([_record(1.0, 1000.0), _record(1.1, 900.0), _record(1.05, 1000.0)])
    assert spread["step_p50_ms"] == pytest.approx(0.1 / 1.05)
    assert spread["throughput_frames_per_s"] == pytest.approx(100 / 1000)
    assert run_to_run([_record(2.0, 50.0)] * 2) == {"step_p50_ms": 0.0, "throughput_frames_per_s": 0.0}


def test_bench_speed_measures_each_adapter_several_times(cli):
    code, out, _ = cli(
        "bench", "speed", "--per-call-ms", "2", "--runs", "2", "--min-calls", "5", "--min-time", "0", "--json"
    )
    assert code == 0
    [case] = json.loads(out)
    assert case["per_call_ms"] == 2 and [r["run"] for r in case["runs"]] == [1, 2]
    for run in case["runs"]:
        assert run["steps"] == 5 and run["predict_calls"] == 5
        assert run["step_p50_ms"] >= 2  # a step is one predict call: it sleeps 2 ms
        assert 0 < run["throughput_frames_per_s"] <= 4 * 16 / 0.002  # batch 4 x horizon 16 per 2 ms call
    assert set(case["run_to_run"]) == {"step_p50_ms", "throughput_frames_per_s"}


def test_bench_speed_prints_the_spread_and_the_verdict(cli):
    code, out, _ = cli("bench", "speed", "--per-call-ms", "1", "--runs", "2", "--min-calls", "3", "--min-time", "0")
    assert code == 0 and "1 ms per call: run-to-run spread (max - min) / median: step p50 " in out
    assert "steady at 5%)" in out and "step_p50_ms" in out and "throughput_frames_per_s" in out
