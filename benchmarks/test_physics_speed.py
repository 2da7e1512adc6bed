"""Speed of object-state extraction and of the physics metrics, in scored frames per second.

Run: ``python -m pytest benchmarks/test_physics_speed.py --benchmark-enable -q``; each result's
``extra_info`` holds frames per second per core (torch threads) at the resolution.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from wmbench.metrics import METRICS, Truth
from wmbench.metrics.objects import extract_states
from wmbench.metrics.physics import PhysicsMetric
from wmbench.tasks import get_task
from wmbench.worlds import generate_episode


@pytest.fixture(scope="module", params=[128, 256], ids=lambda r: f"{r}px")
def batch(request):
    task = get_task("drop_single").with_overrides(resolution=request.param)
    episodes = [generate_episode(task, "dev", s) for s in range(4)]

    def frames(arrays):
        return torch.stack([torch.from_numpy(a).permute(0, 3, 1, 2).float().div(255) for a in arrays])

    truth = Truth(frames=frames([e.future_frames for e in episodes]),
                  context=frames([e.context_frames for e in episodes]), episodes=episodes)
    return truth, request.param


def _report(benchmark, truth: Truth, resolution: int) -> None:
    if benchmark.stats is None:  # --benchmark-disable: run once, untimed
        return
    frames = truth.frames.shape[0] * truth.frames.shape[1]
    benchmark.extra_info.update(resolution=resolution, frames=frames, threads=torch.get_num_threads(),
                                fps_per_core=frames / benchmark.stats["mean"] / torch.get_num_threads())


def test_extract_states(benchmark, batch):
    truth, resolution = batch
    benchmark(extract_states, truth.frames, truth.episodes)
    _report(benchmark, truth, resolution)


def test_all_physics_metrics(benchmark, batch):
    truth, resolution = batch
    metrics = [cls() for cls in METRICS.values() if issubclass(cls, PhysicsMetric)]

    def score():
        # fresh tensors, as in a run: every round extracts the prediction, the context and the truth
        fresh = Truth(frames=truth.frames.clone(), context=truth.context.clone(), episodes=truth.episodes)
        pred = truth.frames.flip(1).contiguous()
        return [m.score(pred, fresh) for m in metrics]

    values = benchmark(score)
    assert all(v.shape == (len(truth.episodes),) for v in values) and not np.isnan(values[0].numpy()).any()
    _report(benchmark, truth, resolution)
