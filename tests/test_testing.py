"""The pytest plugin model authors use to assert their adapter's step latency."""

from __future__ import annotations

pytest_plugins = ["pytester"]

AUTHOR_TESTS = """
import time
import torch
from wmbench import Adapter, ContextBatch


class Slow(Adapter):
    def predict(self, batch: ContextBatch) -> torch.Tensor:
        time.sleep(0.005)
        return batch.frames[:, -1:].expand(-1, batch.horizon, -1, -1, -1)


def test_copy_last_is_fast(wmbench_step_latency):
    stats = wmbench_step_latency("copy_last", rounds=20)
    assert stats["rounds"] == 20 and 0 < stats["min"] <= stats["median"] < 1.0


def test_a_slow_adapter_fails_its_budget(wmbench_step_latency):
    stats = wmbench_step_latency(Slow(), rounds=5, warmup=1)
    assert stats["median"] < 0.005, "too slow"
"""


def test_fixture_times_steps_and_a_budget_can_fail(pytester, cache_dir, monkeypatch):
    monkeypatch.setenv("WMBENCH_CACHE", str(cache_dir))
    pytester.makepyfile(test_author=AUTHOR_TESTS)
    result = pytester.runpytest("--benchmark-enable", "-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*test_a_slow_adapter_fails_its_budget*", "*too slow*"])
