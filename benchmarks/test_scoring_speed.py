"""Scoring speed of the coherence, control and surprise metrics: scored frames per second.

Run: ``python -m pytest benchmarks/test_scoring_speed.py --benchmark-enable --benchmark-only``.
Each round scores a batch of 4 episodes of 12 predicted frames (48 frames) on one core
(one torch and one OpenCV thread); scored frames per second per core = 48 / the mean
round time (pytest-benchmark's ``ops`` times 48).
"""

from __future__ import annotations

import pytest
import torch

from tests.synthetic import CONTEXT, HORIZON, episode
from wmbench.metrics import METRICS, Truth
from wmbench.worlds.episode import Episode

BATCH = 4
COHERENCE = ("flicker", "warp_error", "coherent_horizon", "revisit_error")
CONTROL = ("counterfactual_consistency", "action_sensitivity", "planning_rank_correlation")


def batch(size: int) -> tuple[torch.Tensor, Truth]:
    """A moving-noise scene at ``size`` pixels with 3 alternatives and a revisit per episode."""
    generator = torch.Generator().manual_seed(0)
    frames = (torch.rand(CONTEXT + HORIZON, size, size, 3, generator=generator) * 255).to(torch.uint8)
    base = episode(frames.numpy(), meta={"revisits": [{"leave": 2, "return": CONTEXT + 8}]})
    alternative = episode(torch.roll(frames, 2, dims=2).numpy()).truth
    episodes = [Episode(**{**vars(base), "alternatives": [alternative] * 3}) for _ in range(BATCH)]
    as_float = frames.permute(0, 3, 1, 2).float() / 255
    pred = torch.roll(as_float[CONTEXT:], 1, dims=-1).expand(BATCH, -1, -1, -1, -1).contiguous()
    truth = Truth(frames=as_float[CONTEXT:].expand(BATCH, -1, -1, -1, -1).contiguous(),
                  context=as_float[:CONTEXT].expand(BATCH, -1, -1, -1, -1).contiguous(), episodes=episodes,
                  outputs={"alternatives": [pred[0, None].expand(3, -1, -1, -1, -1)] * BATCH})
    return pred, truth


@pytest.mark.parametrize("size", [128, 256])
@pytest.mark.parametrize("name", COHERENCE + CONTROL)
def test_scoring_speed(benchmark, name, size):
    pred, truth = batch(size)
    metric = METRICS[name]()
    values = benchmark(metric.score, pred, truth)
    assert values.shape == (BATCH,)
    benchmark.extra_info["frames_per_round"] = BATCH * HORIZON
