"""The metric contract, checked on every registered metric: float64 per episode, the same
values in a batch as alone, NaN counted as missing (never as 0), and the same result
from two processes (gloo) as from one."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from wmbench.frames import as_float
from wmbench.metrics import METRICS, EpisodeMetric, MetricUnavailable, Truth
from wmbench.metrics.control import alternative_futures
from wmbench.run.data import collate
from wmbench.tasks import get_task, split_seeds
from wmbench.worlds import EpisodeCache

#: Tasks whose episodes the metrics are scored on: the first one that lists a metric.
TASKS = ("drop_single", "occluder_pass", "push_single", "voe_permanence")
RESOLUTION, EPISODES = 64, 2


def build(name: str) -> EpisodeMetric:
    try:
        return METRICS[name]()
    except MetricUnavailable:
        torch.manual_seed(0)  # the same random backbone in every process
        return METRICS[name](pretrained=False)  # lpips without its weights: the plumbing only


def task_for(name: str):
    tasks = [get_task(t) for t in TASKS]
    task = next((t for t in tasks if name in t.metrics), tasks[0])
    return task.with_overrides(resolution=RESOLUTION)


@dataclass(frozen=True)
class Case:
    """The truth of two episodes of a task, with every model output a metric may need;
    two predictions (the truth brightened: objects still found; black frames: they are
    not); each episode alone: its truth and its slice of each prediction."""

    predictions: list[torch.Tensor]
    truth: Truth
    singles: list[Truth]
    pieces: list[list[torch.Tensor]]  # [prediction][episode]


def batch(name: str, cache: EpisodeCache) -> Case:
    """The case of the metric's task, built once: metrics share its truth's memo."""
    return _batch(task_for(name).name, str(cache.root))


@functools.cache
def _batch(name: str, root: str) -> Case:
    task, cache = get_task(name).with_overrides(resolution=RESOLUTION), EpisodeCache(root)
    episodes = [cache.get(task, "dev", s) for s in split_seeds(task, "dev", EPISODES)]
    frames = collate(episodes)
    generator = torch.Generator().manual_seed(0)
    outputs = {
        "alternatives": [
            (alternative_futures(e) * 0.9 + 0.05) if e.alternatives and e.truth.actions is not None else None
            for e in episodes
        ],
        "surprise": [torch.rand(1 + len(e.alternatives), e.context + e.horizon, generator=generator) for e in episodes],
    }
    truth = Truth(frames=as_float(frames.future), context=as_float(frames.context), episodes=episodes, outputs=outputs)
    predictions = [truth.frames * 0.9 + 0.05, torch.zeros_like(truth.frames)]
    return Case(
        predictions,
        truth,
        [single(truth, i) for i in range(EPISODES)],
        [[p[i : i + 1] for i in range(EPISODES)] for p in predictions],
    )


def single(truth: Truth, index: int) -> Truth:
    return Truth(
        frames=truth.frames[index : index + 1],
        context=truth.context[index : index + 1],
        episodes=truth.episodes[index : index + 1],
        outputs={need: values[index : index + 1] for need, values in truth.outputs.items()},
    )


@pytest.fixture(scope="module")
def shared_cache(cache_dir) -> EpisodeCache:
    return EpisodeCache(cache_dir)


@pytest.mark.parametrize("name", METRICS.names())
def test_float64_per_episode_and_batch_invariant(name, shared_cache):
    metric = build(name)
    case = batch(name, shared_cache)
    for pred, pieces in zip(case.predictions, case.pieces):
        values = metric.score(pred, case.truth)
        assert values.dtype == torch.float64 and tuple(values.shape) == (EPISODES,), name
        alone = torch.cat([metric.score(piece, truth) for piece, truth in zip(pieces, case.singles)])
        torch.testing.assert_close(values, alone, rtol=1e-5, atol=1e-7, equal_nan=True, msg=name)


@pytest.mark.parametrize("name", METRICS.names())
def test_nan_is_missing_never_zero(name, shared_cache):
    metric = build(name)
    case = batch(name, shared_cache)
    seen = torch.cat([metric(pred, case.truth) for pred in case.predictions])  # forward: accumulated and returned
    present = seen[~torch.isnan(seen)]
    assert int(metric.count) == len(present) and int(metric.missing) == len(seen) - len(present)
    expected = float(present.mean()) if len(present) else math.nan
    assert float(metric.compute()) == pytest.approx(expected, rel=1e-12, nan_ok=True)


def _worker(rank: int, init_file: str, cache_dir: str, expected: dict[str, float]) -> None:
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=2)
    try:
        cache = EpisodeCache(cache_dir)
        for name, value in expected.items():
            metric = build(name)
            case = batch(name, cache)
            metric.update(case.pieces[0][rank], case.singles[rank])  # each process: one episode
            result = float(metric.compute())  # synced by torchmetrics
            assert result == pytest.approx(value, rel=1e-9, nan_ok=True), name
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_two_processes_compute_what_one_does(tmp_path, shared_cache, cache_dir):
    expected = {}
    for name in METRICS.names():
        metric = build(name)
        case = batch(name, shared_cache)
        for i in range(EPISODES):  # the same episodes, one update each, in one process
            metric.update(case.pieces[0][i], case.singles[i])
        expected[name] = float(metric.compute())
    mp.spawn(_worker, args=(str(tmp_path / "init"), str(cache_dir), expected), nprocs=2, join=True)
