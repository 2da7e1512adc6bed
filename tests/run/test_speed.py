"""The speed protocol: what is timed, how it is counted, what is recorded beside it."""

from __future__ import annotations

import pytest
import torch

from wmbench import ContextBatch, get_task
from wmbench.results.derived import harness_overhead
from wmbench.run.harness import Harness
from wmbench.run.speed import FRAME_DEFINITION, SpeedProtocol, SpeedSpreadWarning, measure_speed

from ..conftest import run_and_record
from ..fakes.slow import Sleeper

PREDICT_S, STEP_S = 0.02, 0.004


QUICK = SpeedProtocol(warmup=1, min_calls=4, min_time_s=0.0)


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
    assert latency["count"] == 4 and speed["predict_latency_ms"]["count"] == 4  # min_calls, warm-up discarded
    assert speed["calls"] == {"reset": 2, "step": 5, "predict": 5}
    assert STEP_S * 1e3 <= latency["p50"] <= latency["p95"] <= latency["p99"]
    assert speed["time_to_first_frame_ms"] >= STEP_S * 1e3
    # a call sleeps at least PREDICT_S for batch 2 x horizon 16 frames: an upper bound on frames/s
    assert 0 < speed["throughput_frames_per_s"] <= 2 * 16 / PREDICT_S
    assert speed["predict_latency_ms"]["p50"] >= PREDICT_S * 1e3
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
    assert speed["protocol"] == {"warmup": 1, "min_calls": 4, "min_time_s": 0.0, "max_relative_iqr": 0.1}


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
                          protocol=SpeedProtocol(warmup=0, min_calls=horizon, min_time_s=0.0))
    steps = [b for b in adapter.batches if b.horizon == 1]
    assert speed["measured"] and len(steps) == horizon
    for k, batch in enumerate(steps):  # batch 1: the first episode's window of 3 actions, sliding
        assert torch.equal(batch.actions, actions[:1, k : k + 3])


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


class FakeClock:
    """A clock that moves only when an adapter below says its call took time."""

    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Ticking(Sleeper):
    """Costs ``step_costs`` (cycled) per step and ``predict_s`` per predict call, on ``clock``."""

    def __init__(self, clock: FakeClock, step_costs=(2**-10,), predict_s=2**-4):
        super().__init__(seconds=0.0)
        self.clock, self.step_costs, self.predict_s, self.steps = clock, step_costs, predict_s, 0

    def predict(self, batch):
        self.clock.now += self.predict_s
        return batch.frames[:, -1:].expand(-1, batch.horizon, -1, -1, -1)

    def step(self, action=None):
        self.clock.now += self.step_costs[self.steps % len(self.step_costs)]
        self.steps += 1
        return self._window[:, -1]


@pytest.fixture
def fake_clock(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr("wmbench.run.speed.clock", clock)
    return clock


def _fake_measure(adapter, budget_s=None, protocol=None):
    """The protocol (default: the runs' default, not the tests' quick one) on ``adapter``."""
    task = get_task("drop_single")
    inputs = ContextBatch(frames=torch.rand(2, 4, 3, 8, 8), horizon=task.horizon, fps=task.fps)
    return measure_speed(Harness(adapter, task), inputs, torch.device("cpu"), "32-true",
                         protocol=protocol or SpeedProtocol(), budget_s=budget_s)


def test_calibration_fills_the_minimum_time_or_the_minimum_calls(fake_clock):
    """~1 ms steps: 1 s of them (1,024 steps); 62.5 ms predict calls: 20 calls (1.25 s), not 16."""
    speed = _fake_measure(Ticking(fake_clock))
    assert speed["step_latency_ms"]["count"] == 1024 and speed["predict_latency_ms"]["count"] == 20
    # a warm-up rollout of 2 steps, then 1,024 steps in rollouts of the horizon (16)
    assert speed["calls"] == {"reset": 1 + 64, "step": 2 + 1024, "predict": 2 + 20}
    assert speed["step_latency_ms"]["p50"] == pytest.approx(1e3 * 2**-10)
    assert speed["throughput_frames_per_s"] == pytest.approx(2 * 16 / 2**-4)
    assert speed["step_latency_ms"]["relative_iqr"] == 0 and speed["spread_too_wide"] == []
    assert fake_clock.now == pytest.approx((2 + 1024) * 2**-10 + 22 * 2**-4)


def test_slow_calls_stop_at_the_minimum_calls(fake_clock):
    speed = _fake_measure(Ticking(fake_clock, step_costs=(0.25,), predict_s=0.5))
    assert speed["step_latency_ms"]["count"] == 20 and speed["predict_latency_ms"]["count"] == 20


def test_the_budget_is_shared_between_steps_and_predict_calls_and_respected(fake_clock):
    """0.5 s: the steps may take 0.25 s (2 warm-up and 254 timed steps of 1/1024 s), the
    predict calls the rest (2 warm-up and 2 timed calls of 1/16 s)."""
    speed = _fake_measure(Ticking(fake_clock), budget_s=0.5)
    assert speed["budget_spent"] and speed["budget_s"] == 0.5 and speed["measured"]
    assert speed["step_latency_ms"]["count"] == 254 and speed["predict_latency_ms"]["count"] == 2
    assert speed["calls"]["step"] == 256 and speed["calls"]["predict"] == 4
    assert fake_clock.now == pytest.approx(0.5)


def test_a_budget_cut_part_is_null_and_a_call_never_starts_after_the_budget(fake_clock):
    speed = _fake_measure(Ticking(fake_clock, step_costs=(0.3,), predict_s=0.5), budget_s=1.0,
                          protocol=SpeedProtocol(warmup=1))
    # steps may take 0.5 s: a warm-up step (to 0.3 s) and one timed step (to 0.6 s); the
    # predict calls the 0.4 s left: the warm-up call (to 1.1 s), then none
    assert speed["step_latency_ms"]["count"] == 1 and speed["predict_latency_ms"] is None
    assert speed["throughput_frames_per_s"] is None and speed["calls"] == {"reset": 2, "step": 2, "predict": 1}
    assert fake_clock.now == pytest.approx(1.1)


def test_the_spread_is_computed_and_a_wide_one_flagged_with_a_warning(fake_clock):
    costs = tuple(k / 1000 for k in range(1, 101))  # 1, 2, ..., 100 ms, cycled
    protocol = SpeedProtocol(warmup=0, min_calls=100, min_time_s=0.0)
    with pytest.warns(SpeedSpreadWarning, match=r"Ticking on drop_single: step_latency_ms spread too wide "
                                                r"\(IQR 98% of the median over 100 calls, limit 10%\)"):
        speed = _fake_measure(Ticking(fake_clock, step_costs=costs), protocol=protocol)
    latency = speed["step_latency_ms"]
    assert latency["p50"] == pytest.approx(50.5) and latency["iqr"] == pytest.approx(49.5)
    assert latency["p5"] == pytest.approx(5.95) and latency["p95"] == pytest.approx(95.05)
    assert latency["relative_iqr"] == pytest.approx(49.5 / 50.5)
    assert speed["spread_too_wide"] == ["step_latency_ms"]


def test_a_budget_that_was_enough_is_not_spent(fake_clock):
    speed = _fake_measure(Ticking(fake_clock), budget_s=100.0)
    assert speed["budget_spent"] is False and speed["step_latency_ms"]["count"] == 1024
    assert speed["predict_latency_ms"]["count"] == 20
