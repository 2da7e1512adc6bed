"""Photometric calibration: global changes undone, blur on thin regions left alone."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from wmbench.frames import unit_float
from wmbench.metrics.photometry import calibrate, interior
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
