"""Photometric calibration: global changes undone, blur on thin regions left alone."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from wmbench.frames import unit_float
from wmbench.metrics.photometry import calibrate, content_gain, interior
from wmbench.tasks import get_task
from wmbench.worlds import generate_episode
from wmbench.worlds.render import BACKGROUND, SCENERY


@pytest.fixture(scope="module")
def episode():
    return generate_episode(get_task("drop_single"), "dev", 0)


def scene(episode, bar: int = 2) -> np.ndarray:
    """Four 64 px frames in the episode's palette: the background, a scenery bar ``bar``
    pixels high and a wide block of the object's colour."""
    frame = np.empty((64, 64, 3), np.uint8)
    frame[:] = BACKGROUND
    frame[6 : 6 + bar] = SCENERY
    frame[30:50, 20:44] = episode.objects[0].colour
    return np.stack([frame] * 4)


def tensor(frames: np.ndarray) -> torch.Tensor:
    return unit_float(frames)[None]


def test_interior_pixels_share_their_index_with_all_eight_neighbours():
    index = torch.zeros(7, 7, dtype=torch.long)
    index[2:5, 2:5] = 2
    expected = torch.ones(7, 7, dtype=torch.bool)
    expected[1:6, 1:6] = False  # within a pixel of the block's edge, on either side
    expected[3, 3] = True  # the block's one inner pixel
    assert torch.equal(interior(index), expected)  # the frame's border continues its pixels
    assert torch.equal(interior(torch.stack([index, index + 1])), torch.stack([expected, expected]))


def test_blur_is_not_read_as_a_contrast_change(episode):
    """A blurred two-pixel bar has no pixel of its own level left; its median would read
    a contrast change that stretches the whole picture."""
    frames = scene(episode)
    blurred = np.stack([cv2.GaussianBlur(f, (0, 0), 1.0) for f in frames])
    x = tensor(blurred)
    assert calibrate(x, tensor(frames), [episode]) is x


@pytest.mark.parametrize("change", [lambda f: f * 1.07, lambda f: f * 0.9 + 0.05, lambda f: f - 0.06])
def test_global_changes_are_undone_on_wide_regions(episode, change):
    truth = tensor(scene(episode, bar=6))
    changed = change(truth).clamp(0, 1)
    calibrated = calibrate(changed, truth, [episode])
    assert float((calibrated - truth).abs().max()) < 2.5 / 255


def swinging_rod(frames: int = 8) -> np.ndarray:
    """A two-pixel scenery rod crossing the background, 3 px further each frame: the
    background is the only colour with interior pixels."""
    out = np.empty((frames, 64, 64, 3), np.uint8)
    out[:] = BACKGROUND
    for t in range(frames):
        out[t, 8:56, 10 + 3 * t : 12 + 3 * t] = SCENERY
    return out


@pytest.mark.parametrize("factor", [0.9, 1.1])
def test_the_sequence_fit_reads_the_gain_from_the_moving_content(episode, factor):
    truth = tensor(swinging_rod())
    changed = (truth * factor + (1 - factor) * truth.mean()).clamp(0, 1)  # contrast about the mean grey
    assert float((calibrate(changed, truth, [episode], per_frame=False) - truth).abs().max()) < 2.5 / 255
    per_frame = calibrate(changed, truth, [episode])  # per frame, an offset only: the rod's
    assert float((per_frame - truth).abs().max()) > 0.04  # contrast of 0.45 stays 10% off


def test_content_gain_scales_with_contrast_not_noise_and_gives_up_on_other_content():
    truth = tensor(swinging_rod())
    noisy = (truth + 0.01 * torch.randn(truth.shape, generator=torch.Generator().manual_seed(0))).clamp(0, 1)
    assert content_gain(noisy, truth).sub(1).abs().max() < 0.02
    darker = content_gain(truth * 0.9, truth)
    assert ((darker > 0.88) & (darker < 0.9)).all()  # the noise floor takes a little more
    frozen = truth[:, :1].expand_as(truth)
    assert torch.equal(content_gain(frozen, truth), torch.ones(1, 3, dtype=torch.float64))
    half = truth.clone()
    half[:, 4:] = truth[:, 3:4]  # half the motion: not a contrast change
    assert torch.equal(content_gain(half, truth), torch.ones(1, 3, dtype=torch.float64))
