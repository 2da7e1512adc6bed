"""Harness benchmark: does the speed protocol measure a model of known cost correctly, and
what does the harness itself cost per episode?

Run: ``python -m pytest benchmarks/test_harness.py --benchmark-enable -s`` (``make bench``).
The adapter below sleeps a fixed time per call, so its true throughput is known; at
1,000 predicted frames/s the measured throughput and the model time a full run records
must be within ``TOLERANCE`` of it (and never better: a sleep lasts at least its time).
The same sleeps are also timed bare in the same process and reported: on a loaded machine
sleepers wake late, which no harness can undo, and the bare timing shows how much.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import torch

from wmbench import Adapter, ContextBatch, get_task
from wmbench.results import write_result
from wmbench.run.harness import Harness
from wmbench.run.speed import SpeedProtocol, measure_speed

TOLERANCE = 0.05
BATCH, HORIZON = 4, 16  # drop_single's horizon


class KnownCost(Adapter):
    """Repeats the last frame after sleeping ``seconds`` per predict call and
    ``step_seconds`` per interactive step; it returns views, so that the sleep is its
    whole cost (a copy would wake PyTorch's worker threads, whose scheduling latency on a
    busy machine is not the harness's)."""

    def __init__(self, seconds: float = 0.064, step_seconds: float = 0.001):
        super().__init__()
        self.seconds, self.step_seconds = seconds, step_seconds

    def predict(self, batch: ContextBatch) -> torch.Tensor:
        time.sleep(self.seconds)
        return batch.frames[:, -1:].expand(-1, batch.horizon, -1, -1, -1)

    def step(self, action=None) -> torch.Tensor:
        time.sleep(self.step_seconds)
        return self._window[:, -1]


def _bare_seconds(seconds: float, calls: int) -> float:
    """Mean wall time of ``time.sleep(seconds)`` here and now, without the harness."""
    start = time.perf_counter()
    for _ in range(calls):
        time.sleep(seconds)
    return (time.perf_counter() - start) / calls


def _protocol(adapter: KnownCost) -> dict:
    task = get_task("drop_single")
    inputs = ContextBatch(frames=torch.rand(BATCH, task.context, 3, task.resolution, task.resolution),
                          horizon=task.horizon, fps=task.fps)
    return measure_speed(Harness(adapter, task), inputs, torch.device("cpu"), "32-true", protocol=SpeedProtocol())


@pytest.mark.parametrize("frames_per_s", [1000, 10000])
def test_measured_throughput_matches_the_known_cost(benchmark, frames_per_s):
    adapter = KnownCost(seconds=BATCH * HORIZON / frames_per_s)
    speed = benchmark.pedantic(_protocol, args=(adapter,), rounds=1, iterations=1)
    ratio = speed["throughput_frames_per_s"] / frames_per_s
    bare = BATCH * HORIZON / _bare_seconds(adapter.seconds, speed["predict_latency_ms"]["count"]) / frames_per_s
    step_ratio = speed["step_latency_ms"]["p50"] / (1e3 * _bare_seconds(adapter.step_seconds, 32))
    benchmark.extra_info.update(known_frames_per_s=frames_per_s, measured_frames_per_s=speed["throughput_frames_per_s"],
                                ratio=ratio, bare_sleep_ratio=bare, step_p50_ms=speed["step_latency_ms"]["p50"],
                                step_ratio_to_bare=step_ratio)
    print(f"\nknown {frames_per_s} frames/s: measured {speed['throughput_frames_per_s']:.1f} (ratio {ratio:.4f}; "
          f"bare sleeps give {bare:.4f}); 1 ms step: p50 {speed['step_latency_ms']['p50']:.3f} ms "
          f"({step_ratio:.4f} x the bare sleep)")
    assert ratio <= 1 + 1e-9  # never faster than the known cost
    if frames_per_s == 1000:
        assert ratio >= 1 - TOLERANCE


def test_harness_overhead_per_episode(benchmark, tmp_path):
    """A full run of a 1,000 frames/s model: the model time the run records per episode
    against the known cost, and the harness's own time (data, scoring) per episode."""
    from wmbench.run import Execution, RunSpec, evaluate
    from wmbench.worlds import EpisodeCache

    seconds = BATCH * HORIZON / 1000
    spec = RunSpec(adapter=f"{Path(__file__)}:KnownCost", tasks=("drop_single",), limit=16,
                   adapter_config={"seconds": seconds})
    cache = EpisodeCache(tmp_path / "cache")  # filled by a first run: generation is not harness overhead
    evaluate(RunSpec(adapter="copy_last", tasks=("drop_single",), limit=16), tmp_path / "warm", cache,
             Execution(progress=False, batch_size=BATCH, logger="none"))
    start = time.perf_counter()
    log = benchmark.pedantic(evaluate, args=(spec, tmp_path / "run", cache,
                                             Execution(progress=False, batch_size=BATCH, logger="none")),
                             rounds=1, iterations=1)
    result = write_result(log)
    wall = time.perf_counter() - start
    harness = result["speed"]["drop_single"]["harness_ms_per_episode"]
    known_ms, bare_ms = 1e3 * seconds / BATCH, 1e3 * _bare_seconds(seconds, 10) / BATCH
    ratio = harness["model_ms"] / known_ms
    benchmark.extra_info.update(harness, known_model_ms=known_ms, bare_model_ms=bare_ms, model_ratio=ratio, wall_s=wall)
    print(f"\nper episode: model {harness['model_ms']:.2f} ms (known {known_ms:.2f}, ratio {ratio:.4f}; bare sleeps "
          f"{bare_ms:.2f}), harness: data {harness['data_ms']:.2f} ms, scoring {harness['scoring_ms']:.2f} ms; "
          f"whole run {wall:.1f} s for 16 episodes")
    assert 1 - 1e-9 <= ratio <= 1 + TOLERANCE


def test_harness_time_inside_the_timed_region(benchmark):
    """What the protocol adds to each timed predict call: an adapter that costs (almost)
    nothing, against the same near-zero sleeps timed bare. Must stay far below the 1 ms
    a frame of a 1,000 frames/s model takes at batch 1."""
    adapter = KnownCost(seconds=1e-6, step_seconds=1e-6)
    speed = benchmark.pedantic(_protocol, args=(adapter,), rounds=1, iterations=1)
    per_call_us = 1e6 * BATCH * HORIZON / speed["throughput_frames_per_s"]
    bare_us = 1e6 * _bare_seconds(adapter.seconds, 1000)
    benchmark.extra_info.update(per_call_us=per_call_us, bare_sleep_us=bare_us, added_us=per_call_us - bare_us)
    print(f"\nnear-zero-cost call: {per_call_us:.1f} us timed, bare sleep {bare_us:.1f} us: "
          f"the harness adds {per_call_us - bare_us:.1f} us per call")
    assert per_call_us - bare_us < 100  # microseconds: 1% of a 10 ms call, 10% of a 1 ms frame
