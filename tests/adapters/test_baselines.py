"""The linear_extrapolation baseline moves what moves at constant velocity."""

from __future__ import annotations

import numpy as np
import torch

from wmbench import ContextBatch
from wmbench.adapters import load_adapter


def _clip(frames: int, velocity=(3, 2), size=64, side=10) -> np.ndarray:
    """A red square crossing a grey background at ``velocity`` pixels per frame."""
    clip = np.full((frames, size, size, 3), 200, np.uint8)
    for t in range(frames):
        x, y = 10 + velocity[0] * t, 12 + velocity[1] * t
        clip[t, y : y + side, x : x + side] = (200, 30, 30)
    return clip


def _predict(clip: np.ndarray, horizon: int) -> np.ndarray:
    frames = torch.from_numpy(clip[:2]).permute(0, 3, 1, 2).float()[None] / 255
    out = load_adapter("linear_extrapolation").predict(ContextBatch(frames=frames, horizon=horizon, fps=30.0))
    assert out.shape == (1, horizon, 3, 64, 64) and out.dtype == torch.float32
    return (out[0].permute(0, 2, 3, 1).numpy() * 255).round()


def test_a_moving_square_is_followed_far_better_than_by_a_frozen_world():
    clip = _clip(8)
    predicted, truth = _predict(clip, 6), clip[2:].astype(float)
    frozen = np.repeat(clip[1:2], 6, axis=0).astype(float)
    error, frozen_error = ((predicted - truth) ** 2).mean(), ((frozen - truth) ** 2).mean()
    assert error < 0.35 * frozen_error
    # the square's centre of red mass lands where it truly is, within a pixel, 6 frames on
    red = lambda f: np.argwhere(f[..., 1] < 100).mean(axis=0)  # noqa: E731
    assert np.abs(red(predicted[-1]) - red(truth[-1])).max() < 1.0


def test_a_static_scene_stays_exactly_as_it_is():
    clip = _clip(3, velocity=(0, 0))
    assert np.array_equal(_predict(clip, 4), np.repeat(clip[1:2], 4, axis=0).astype(float))
