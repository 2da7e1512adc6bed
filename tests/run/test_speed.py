"""The speed protocol: what is timed, how it is counted, what is recorded beside it."""

from __future__ import annotations

import pytest
import torch

from wmbench import ContextBatch, get_task
from wmbench.results.derived import harness_overhead
from wmbench.run.harness import Harness
from wmbench.run.speed import FRAME_DEFINITION, SpeedProtocol, measure_speed

from ..conftest import run_and_record
from ..fakes.slow import Sleeper

PREDICT_S, STEP_S = 0.02, 0.004


QUICK = SpeedProtocol(warmup=1, rollouts=1, throughput_calls=2)


def _measure(adapter, batch_size=2, protocol=QUICK):
    task = get_task("drop_single")
    inputs = ContextBatch(frames=torch.rand(batch_size, 8, 3, 32, 32), horizon=task.horizon, fps=task.fps)
    return measure_speed(Harness(adapter, task), inputs, torch.device("cpu"), "32-true", protocol=protocol)


@pytest.fixture(scope="module")
def sleeper_speed():
    return _measure(Sleeper(seconds=PREDICT_S, step_seconds=STEP_S))


def test_latency_and_throughput_are_bounded_by_the_known_cost(sleeper_speed):
    speed = sleeper_speed
    assert speed["measured"] and speed["frame"] == FRAME_DEFINITION
    latency = speed["step_latency_ms"]
    assert latency["count"] == 16  # one rollout of the horizon, the warm-up discarded
    assert STEP_S * 1e3 <= latency["p50"] <= latency["p95"] <= latency["p99"]
    assert speed["time_to_first_frame_ms"] >= STEP_S * 1e3
    # a call sleeps at least PREDICT_S for batch 2 x horizon 16 frames: an upper bound on frames/s
    assert 0 < speed["throughput_frames_per_s"] <= 2 * 16 / PREDICT_S
    assert speed["real_time_factor"] == pytest.approx(1e3 / latency["p50"] / 30.0)


def test_conditions_are_recorded_beside_the_numbers(sleeper_speed):
    speed = sleeper_speed
    assert speed["batch_size"] == 2 and speed["horizon"] == 16 and speed["fps"] == 30.0
    assert speed["resolution"] == {"task": 128, "model": 32}
    assert speed["input_dtype"] == "float32" and speed["output_dtype"] == "float32"
    assert speed["precision"] == "32-true"
    assert speed["device"]["type"] == "cpu" and speed["device"]["name"]
    assert speed["libraries"]["torch"] and torch.__version__.startswith(speed["libraries"]["torch"])
    assert speed["peak_memory_mib"]["device"] is None and speed["peak_memory_mib"]["host"] > 10
    assert speed["protocol"] == {"warmup": 1, "rollouts": 1, "throughput_calls": 2}


def test_a_reference_adapter_is_not_timed():
    from wmbench.adapters import load_adapter

    speed = _measure(load_adapter("oracle"))
    assert speed["measured"] is False and "privileged" in speed["reason"]


def test_a_failing_adapter_gets_a_reason_not_numbers():
    class Fails(Sleeper):
        def step(self, action=None):
            raise RuntimeError("no stepping today")

    speed = _measure(Fails(seconds=0.0))
    assert speed["measured"] is False
    assert speed["reason"] == "adapter raised RuntimeError during the protocol: no stepping today"
    assert "throughput_frames_per_s" not in speed


def test_harness_overhead_is_per_episode():
    rows = [{"status": "ok", "batch_size": 2, "latency_ms": 10.0, "overhead_ms": {"data": 4.0, "scoring": 6.0}}] * 2
    rows += [{"status": "ok", "batch_size": 1, "latency_ms": 5.0, "overhead_ms": {"data": 1.0, "scoring": 2.0}}]
    rows += [{"status": "failed", "batch_size": 1}]
    overhead = harness_overhead(rows)
    assert overhead["episodes"] == 3
    assert overhead["model_ms"] == pytest.approx(5.0) and overhead["data_ms"] == pytest.approx(5 / 3)
    assert overhead["scoring_ms"] == pytest.approx(8 / 3)
    assert overhead["overhead_fraction"] == pytest.approx((13 / 3) / (5 + 13 / 3))
    assert harness_overhead([])["model_ms"] is None


def test_a_run_records_speed_once_per_task(tmp_path, cache):
    from wmbench.run import Execution, RunSpec

    spec = RunSpec(adapter="copy_last", tasks=("drop_single",), limit=2)
    first = run_and_record(spec, tmp_path, cache, Execution(progress=False, batch_size=2))
    speed = first["speed"]["drop_single"]
    assert speed["measured"] and speed["batch_size"] == 2 and speed["resolution"]["model"] == 128
    assert speed["harness_ms_per_episode"]["episodes"] == 2
    assert speed["harness_ms_per_episode"]["scoring_ms"] > 0 and speed["harness_ms_per_episode"]["data_ms"] > 0
    again = run_and_record(spec, tmp_path, cache, Execution(progress=False, batch_size=2))  # a rerun keeps it
    assert again["speed"] == first["speed"]


def test_timed_rollouts_step_with_the_episodes_true_actions():
    """Steps get the true actions: the context's, then the future's, one per step."""
    from ..adapters.test_base import Recorder

    task = get_task("drop_single")
    adapter, horizon = Recorder(), 4
    actions = torch.arange(2 * (3 + horizon - 1), dtype=torch.float32).view(2, 3 + horizon - 1, 1)
    inputs = ContextBatch(frames=torch.rand(2, 3, 3, 8, 8), horizon=horizon, fps=30.0, actions=actions)
    speed = measure_speed(Harness(adapter, task), inputs, torch.device("cpu"), "32-true",
                          protocol=SpeedProtocol(warmup=0, rollouts=1, throughput_calls=1))
    steps = [b for b in adapter.batches if b.horizon == 1]
    assert speed["measured"] and len(steps) == horizon
    for k, batch in enumerate(steps):  # batch 1: the first episode's window of 3 actions, sliding
        assert torch.equal(batch.actions, actions[:1, k : k + 3])


def test_the_budget_stops_the_protocol_and_says_how_far_it_got():
    task = get_task("drop_single")
    inputs = ContextBatch(frames=torch.rand(2, 8, 3, 32, 32), horizon=task.horizon, fps=task.fps)
    adapter = Sleeper(seconds=0.05, step_seconds=0.05)
    speed = measure_speed(Harness(adapter, task), inputs, torch.device("cpu"), "32-true", protocol=QUICK, budget_s=0.4)
    calls = speed["calls"]
    assert speed["budget_spent"] and speed["budget_s"] == 0.4
    # a warm-up step and 16 timed ones would take 0.85 s: the budget ends the rollout early
    assert calls["reset"] == 2 and 4 <= calls["step"] < QUICK.warmup + 16 and calls["predict"] == 0
    assert speed["measured"] and speed["step_latency_ms"]["count"] == calls["step"] - QUICK.warmup
    assert speed["throughput_frames_per_s"] is None


def test_a_budget_spent_before_any_timed_call_measures_nothing():
    task = get_task("drop_single")
    inputs = ContextBatch(frames=torch.rand(1, 8, 3, 32, 32), horizon=task.horizon, fps=task.fps)
    speed = measure_speed(Harness(Sleeper(seconds=0.0, step_seconds=0.3), task), inputs, torch.device("cpu"),
                          "32-true", protocol=QUICK, budget_s=0.1)
    assert speed["measured"] is False and speed["calls"] == {"reset": 1, "step": 1, "predict": 0}
    assert speed["reason"] == "the speed budget of 0.1 s (--speed-budget) was spent before a timed call"


def test_a_timed_out_call_ends_the_protocol_with_the_reason():
    task = get_task("drop_single")
    inputs = ContextBatch(frames=torch.rand(1, 8, 3, 32, 32), horizon=task.horizon, fps=task.fps)
    speed = measure_speed(Harness(Sleeper(seconds=0.0, step_seconds=30.0), task, timeout=0.2), inputs,
                          torch.device("cpu"), "32-true", protocol=QUICK)
    assert speed["measured"] is False
    assert "step() did not return within the 0.2 s timeout (--timeout)" in speed["reason"]
