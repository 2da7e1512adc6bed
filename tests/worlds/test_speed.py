"""The generation benchmark counts frames and bytes correctly."""

from __future__ import annotations

import json

import pytest

from wmbench.tasks import get_task
from wmbench.tasks.seeds import episode_seed
from wmbench.worlds import generate_episode
from wmbench.worlds.speed import frame_counts, measure_generation


def test_measure_generation_counts_frames_and_bytes():
    task = get_task("drop_single").with_overrides(resolution=32)
    speed = measure_generation(task, episodes=2, warmup=1)
    assert speed.truth_frames == 2 * task.length
    assert speed.ensemble_frames == 2 * task.ensemble * task.length and speed.alternative_frames == 0
    timed = [generate_episode(task, "dev", episode_seed(task, "dev", i)) for i in (1, 2)]  # after the warm-up
    assert speed.cache_bytes == sum(len(e.to_bytes()) for e in timed)
    assert [frame_counts(e) for e in timed] == [(task.length, task.ensemble * task.length, 0)] * 2
    summary = speed.summary()
    assert summary["all_frames_per_s_per_core"] == pytest.approx(
        summary["truth_frames_per_s_per_core"] + summary["ensemble_frames_per_s_per_core"])
    assert summary["episodes_per_s_per_core"] == pytest.approx(2 / speed.cpu_seconds)
    assert summary["cache_bytes_per_episode"] == speed.cache_bytes / 2
    assert speed.cpu_seconds > 0 and summary["cache_read_ms_per_episode"] > 0


def test_bench_generate_command(cli):
    code, out, _ = cli("bench", "generate", "drop_single", "--episodes", "1", "--resolution", "32", "--json")
    [row] = json.loads(out)
    task = get_task("drop_single")
    assert code == 0 and row["task"] == get_task("drop_single").id and row["resolution"] == 32
    assert row["frames_per_episode"] == task.length * (1 + task.ensemble)
    code, out, _ = cli("bench", "generate", "drop_single", "--episodes", "1", "--resolution", "32")
    assert code == 0 and get_task("drop_single").id in out and "all frames/s" in out
