"""Generation and cache speed for every built-in task at 128x128 (``make bench``).

Each benchmark runs in one process, so its rates are per core. ``extra_info`` of each
benchmark records the frames per episode (truth, ensemble, alternatives) and the
cache entry size; the rates are derived from the mean time per episode.
"""

from __future__ import annotations

import pytest

from wmbench.tasks import builtin_tasks, get_task
from wmbench.tasks.seeds import episode_seed
from wmbench.worlds import Episode, generate_episode
from wmbench.worlds.speed import frame_counts

RESOLUTION = 128
TASKS = sorted(builtin_tasks())


def _task(name: str):
    return get_task(name).with_overrides(resolution=RESOLUTION)


def _record(benchmark, episode: Episode) -> None:
    truth, ensemble, alternatives = frame_counts(episode)
    benchmark.extra_info.update(resolution=RESOLUTION, truth_frames=truth, ensemble_frames=ensemble,
                                alternative_frames=alternatives, cache_bytes=len(episode.to_bytes()))
    if benchmark.stats:  # absent under --benchmark-disable
        mean = benchmark.stats.stats.mean
        benchmark.extra_info.update(
            episodes_per_s=1 / mean, truth_frames_per_s=truth / mean, ensemble_frames_per_s=ensemble / mean,
            all_frames_per_s=(truth + ensemble + alternatives) / mean)


@pytest.mark.parametrize("name", TASKS)
def test_generate_episode(benchmark, name):
    task = _task(name)
    seeds = iter(episode_seed(task, "dev", i) for i in range(1000))
    episode = benchmark.pedantic(lambda: generate_episode(task, "dev", next(seeds)), rounds=8, warmup_rounds=1)
    _record(benchmark, episode)


@pytest.mark.parametrize("name", TASKS)
def test_cache_write(benchmark, name):
    episode = generate_episode(_task(name), "dev", 0)
    data = benchmark(episode.to_bytes)
    benchmark.extra_info.update(cache_bytes=len(data))


@pytest.mark.parametrize("name", TASKS)
def test_cache_read_with_hash_check(benchmark, name):
    episode = generate_episode(_task(name), "dev", 0)
    data = episode.to_bytes()
    assert benchmark(Episode.from_bytes, data).content_hash() == episode.content_hash()
    _record(benchmark, episode)
