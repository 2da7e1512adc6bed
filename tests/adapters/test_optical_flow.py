"""The optical_flow baseline carries every pixel forward along its DIS flow."""

from __future__ import annotations

import numpy as np
import torch

from wmbench import ContextBatch
from wmbench.adapters import load_adapter


def _clip(frames: int, velocity=(2.5, -1.5), size=64) -> np.ndarray:
    """A red disc of radius 6 crossing a grey background at ``velocity`` pixels per frame (sub-pixel)."""
    ys, xs = np.mgrid[0:size, 0:size]
    clip = np.full((frames, size, size, 3), 200, np.uint8)
    for t in range(frames):
        cx, cy = 16 + velocity[0] * t, 40 + velocity[1] * t
        clip[t][(xs - cx) ** 2 + (ys - cy) ** 2 <= 36] = (200, 30, 30)
    return clip


def _predict(clip: np.ndarray, horizon: int) -> np.ndarray:
    frames = torch.from_numpy(clip[:2]).permute(0, 3, 1, 2).float()[None] / 255
    out = load_adapter("optical_flow").predict(ContextBatch(frames=frames, horizon=horizon, fps=30.0))
    assert out.shape == (1, horizon, 3, 64, 64) and out.dtype == torch.float32
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0
    return (out[0].permute(0, 2, 3, 1).numpy() * 255).round()


def _red_centre(frame: np.ndarray) -> np.ndarray:
    return np.argwhere(frame[..., 1] < 115).mean(axis=0)  # (row, column)


def test_a_moving_disc_keeps_its_sub_pixel_velocity():
    clip = _clip(8)
    predicted, truth = _predict(clip, 6), clip[2:].astype(float)
    # the flow of a rasterised disc is a tenth of a pixel per frame short: the error grows slowly
    for k in range(6):
        assert np.abs(_red_centre(predicted[k]) - _red_centre(truth[k])).max() < 0.6 + 0.15 * k, k
    frozen = np.repeat(clip[1:2], 6, axis=0).astype(float)
    assert ((predicted - truth) ** 2).mean() < 0.3 * ((frozen - truth) ** 2).mean()


def test_the_uncovered_background_is_filled_not_left_black():
    predicted = _predict(_clip(8), 6)
    start = np.zeros((64, 64), bool)
    ys, xs = np.mgrid[0:64, 0:64]
    start[(xs - 18.5) ** 2 + (ys - 38.5) ** 2 <= 16] = True  # where the disc was in the last context frame
    assert np.abs(predicted[-1][start] - 200).max() <= 2


def test_a_static_scene_stays_exactly_as_it_is():
    clip = _clip(3, velocity=(0, 0))
    assert np.array_equal(_predict(clip, 4), np.repeat(clip[1:2], 4, axis=0).astype(float))
