"""Fidelity over the horizon: the steps before the per-step PSNR falls below 30 dB, and its pooled curve."""

from __future__ import annotations

import pytest
import torch

from wmbench.metrics import METRICS

from ..synthetic import HORIZON, truth_of
from .test_coherence import flickering, jittered, moving_scene, score


@pytest.fixture(scope="module")
def scene():
    episodes = [moving_scene(seed) for seed in range(2)]
    return episodes, truth_of(episodes)


def test_coherent_horizon_is_the_horizon_on_the_truth_and_shorter_when_distorted(scene):
    _, truth = scene
    assert score("coherent_horizon", truth.frames, truth).tolist() == [HORIZON, HORIZON]
    for distorted in (flickering(truth.frames), jittered(truth.frames)):
        assert score("coherent_horizon", distorted, truth).tolist() == [0, 0]


def degraded_after(frames: torch.Tensor, step: int) -> torch.Tensor:
    noise = torch.randn(frames.shape, generator=torch.Generator().manual_seed(0)) * 0.2
    pred = frames.clone()
    pred[:, step:] = (frames[:, step:] + noise[:, step:]).clamp(0, 1)
    return pred


@pytest.mark.parametrize("step", [0, 3, 7, HORIZON])
def test_coherent_horizon_is_the_step_where_quality_drops(scene, step):
    _, truth = scene
    pred = degraded_after(truth.frames, step)
    assert score("coherent_horizon", pred, truth).tolist() == [step, step]


def test_mean_curve_is_pooled_over_updates(scene):
    _, truth = scene
    metric = METRICS["coherent_horizon"]()
    for step in (2, 6):
        metric.update(degraded_after(truth.frames, step), truth)
    curve = metric.mean_curve()
    assert curve.shape == (HORIZON,)
    assert curve[:2].tolist() == [100.0, 100.0] and (curve[6:] < 30).all()
    assert 30 < float(curve[3]) < 100  # half the episodes are still perfect there
    assert float(metric.compute()) == 4.0
