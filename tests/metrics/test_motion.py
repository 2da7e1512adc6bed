"""Motion masks bit for bit against OpenCV frame by frame, and the motion metrics."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from wmbench.metrics import build_metrics
from wmbench.metrics.base import Truth
from wmbench.metrics.motion import (
    _opencv_masks,
    _torch_masks,
    compare_motion,
    grey_levels,
    motion_masks,
    shrink_frames,
    shrink_masks,
    spatial_iou,
    spatiotemporal_iou,
    weighted_spatial_iou,
)

from ..physics_iq_reference import iou_per_frame, masks_per_frame, spatial, weighted_spatial

IMPLEMENTATIONS = {"torch": _torch_masks, "opencv": _opencv_masks}


def _moving_discs(rng: np.random.Generator, t: int, h: int, w: int) -> np.ndarray:
    """Flat-coloured discs moving over a flat background: rounding ties are common."""
    video = np.empty((t, h, w, 3), np.uint8)
    video[:] = rng.integers(0, 256, 3)
    colours = [tuple(int(c) for c in rng.integers(0, 256, 3)) for _ in range(3)]
    for i in range(t):
        for k, colour in enumerate(colours):
            centre = (int(5 + (3 + k) * i) % w, int(h / 2 + 6 * k * np.sin(i / 3)) % h)
            cv2.circle(video[i], centre, 6 + 2 * k, colour, -1)
    return video


def _videos(seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    noisy_background = np.clip(rng.integers(0, 256, (1, 36, 52, 3)) + rng.integers(-14, 15, (10, 36, 52, 3)), 0, 255)
    ramp = np.clip(np.linspace(0, 90, 10)[:, None, None, None] + rng.integers(60, 120, (1, 30, 30, 3)), 0, 255)
    return [
        rng.integers(0, 256, (10, 33, 47, 3), dtype=np.uint8),
        _moving_discs(rng, 14, 48, 64),
        _moving_discs(rng, 12, 40, 40),
        noisy_background.astype(np.uint8),
        ramp.astype(np.uint8),  # the whole frame brightens: the background lags behind
    ]


def _as_rgb_tensor(video_bgr: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(video_bgr[..., ::-1])).permute(0, 3, 1, 2)


def test_grey_levels_equal_opencv():
    colours = np.random.default_rng(0).integers(0, 256, (512, 512, 3), dtype=np.uint8)
    expected = cv2.cvtColor(colours, cv2.COLOR_BGR2GRAY)
    got = grey_levels(torch.from_numpy(np.ascontiguousarray(colours[..., ::-1])).permute(2, 0, 1))
    assert np.array_equal(got.numpy(), expected)


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@pytest.mark.parametrize("seed", [0, 1])
def test_masks_equal_the_per_frame_opencv_reference(seed, implementation):
    """The torch implementation (used off the CPU) and the OpenCV one (used on it)."""
    for video in _videos(seed):
        expected = np.stack(masks_per_frame(list(video))) > 0
        masks, _ = IMPLEMENTATIONS[implementation](_as_rgb_tensor(video)[None], None)
        assert masks.dtype == torch.bool and masks.shape == (1, *expected.shape)
        assert np.array_equal(masks[0].numpy(), expected)
        assert expected[1:].any() or video.std(0).max() < 20  # the references do move


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_masks_in_chunks_equal_masks_at_once(implementation):
    masks = IMPLEMENTATIONS[implementation]
    video = _as_rgb_tensor(_videos(2)[1])[None]
    whole, final = masks(video, None)
    first, background = masks(video[:, :5], None)
    second, background = masks(video[:, 5:], background)
    assert torch.equal(torch.cat([first, second], 1), whole) and torch.equal(background, final)


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_batched_masks_equal_one_by_one(implementation):
    masks = IMPLEMENTATIONS[implementation]
    videos = [_as_rgb_tensor(v[:10, :30, :30]) for v in _videos(3)[1:4]]
    batched, _ = masks(torch.stack(videos), None)
    for i, video in enumerate(videos):
        assert torch.equal(batched[i], masks(video[None], None)[0][0])


def test_motion_masks_use_opencv_on_the_cpu():
    video = _as_rgb_tensor(_videos(4)[1])[None]
    masks, background = motion_masks(video)
    assert torch.equal(masks, _opencv_masks(video, None)[0]) and background.dtype == torch.float64


@pytest.mark.parametrize("size", [(64, 96), (50, 70), (67, 93)])
def test_shrunk_masks_equal_opencv_resize_and_threshold(size):
    h, w = size
    rng = np.random.default_rng(h)
    mask = np.zeros((h, w), np.uint8)
    for _ in range(6):
        cv2.circle(mask, (int(rng.integers(0, w)), int(rng.integers(0, h))), int(rng.integers(3, 20)), 255, -1)
    mask = np.maximum(mask, (rng.random((h, w)) < 0.05) * 255).astype(np.uint8)
    expected = cv2.resize(cv2.merge([mask, mask, mask]), (w // 4, h // 4))[..., 0] > 127
    assert np.array_equal(shrink_masks(torch.from_numpy(mask > 0), (h // 4, w // 4)).numpy(), expected)


@pytest.mark.parametrize("size", [(64, 96), (67, 93)])
def test_shrunk_frames_equal_bilinear_interpolation(size):
    """At exactly a quarter the four taps are summed directly; bit for bit the same."""
    h, w = size
    frames = torch.from_numpy(np.random.default_rng(w).integers(0, 256, (2, 5, 3, h, w), dtype=np.uint8))
    expected = torch.nn.functional.interpolate(frames.flatten(0, 1).float(), size=(h // 4, w // 4),
                                               mode="bilinear", align_corners=False)
    assert torch.equal(shrink_frames(frames, (h // 4, w // 4)), expected.view(2, 5, 3, h // 4, w // 4))


def test_iou_scores_equal_the_reference_definitions():
    rng = np.random.default_rng(5)
    a = [rng.random((12, 16)) < p for p in (0.0, 0.1, 0.3, 0.3, 0.0)]
    b = [rng.random((12, 16)) < p for p in (0.0, 0.2, 0.3, 0.0, 0.1)]
    ta, tb = torch.from_numpy(np.stack(a)), torch.from_numpy(np.stack(b))
    assert spatiotemporal_iou(ta, tb).tolist() == pytest.approx(iou_per_frame(a, b), abs=1e-15)
    assert spatiotemporal_iou(ta, tb)[0] == 1.0  # both empty
    assert spatial_iou(ta, tb).item() == pytest.approx(spatial(a, b), abs=1e-15)
    assert weighted_spatial_iou(ta, tb).item() == pytest.approx(weighted_spatial(a, b), abs=1e-15)
    empty = torch.zeros(3, 4, 4, dtype=torch.bool)
    assert spatial_iou(empty, empty).item() == 1.0 and weighted_spatial_iou(empty, empty).item() == 1.0


def _episode_batch() -> tuple[torch.Tensor, Truth]:
    """A disc falling over 12 frames after 2 context frames, at 64x64."""
    frames = np.zeros((14, 64, 64, 3), np.uint8)
    frames[:] = (30, 40, 50)
    for i in range(14):
        cv2.circle(frames[i], (32, 6 + int(0.3 * i * i)), 7, (220, 180, 40), -1)
    video = torch.from_numpy(frames).permute(0, 3, 1, 2).float().div(255)[None]
    return video[:, 2:], Truth(frames=video[:, 2:], context=video[:, :2], episodes=[])


def _scores(pred: torch.Tensor, truth: Truth) -> dict[str, float]:
    metrics, missing = build_metrics(("motion_spatial_iou", "motion_spatiotemporal_iou",
                                      "motion_weighted_spatial_iou", "motion_mse"))
    assert not missing
    return {name: metric.score(pred, truth).item() for name, metric in metrics.items()}


def test_motion_metrics_on_episodes():
    future, truth = _episode_batch()
    perfect = _scores(future.clone(), truth)
    assert perfect == {"motion_spatial_iou": 1.0, "motion_spatiotemporal_iou": 1.0,
                       "motion_weighted_spatial_iou": 1.0, "motion_mse": 0.0}
    frozen = _scores(truth.context[:, -1:].expand_as(future).clone(), truth)
    assert frozen["motion_spatial_iou"] == 0.0 and frozen["motion_weighted_spatial_iou"] == 0.0
    assert frozen["motion_spatiotemporal_iou"] < 0.2 and frozen["motion_mse"] > 1e-3
    late = _scores(torch.cat([truth.context[:, -1:], future[:, :-1]], 1), truth)  # one frame behind
    assert frozen["motion_spatial_iou"] < late["motion_spatial_iou"] < 1.0
    assert frozen["motion_spatiotemporal_iou"] < late["motion_spatiotemporal_iou"] < 1.0
    assert 0.0 < late["motion_mse"] < frozen["motion_mse"]


def test_motion_metrics_score_at_a_quarter_resolution_from_the_first_predicted_frame():
    future, truth = _episode_batch()
    pred = torch.cat([truth.context[:, -1:], future[:, :-1]], 1)
    frames = lambda video: list(np.ascontiguousarray(  # noqa: E731
        (video[0] * 255).round().byte().permute(0, 2, 3, 1).numpy()[..., ::-1]))
    a, b = masks_per_frame(frames(pred)), masks_per_frame(frames(future))
    shrink = lambda ms: [cv2.resize(m, (16, 16)) > 127 for m in ms[1:]]  # noqa: E731
    scores = compare_motion(pred, truth)
    assert scores["motion_spatiotemporal_iou"].item() == pytest.approx(np.mean(iou_per_frame(shrink(a), shrink(b))))
    assert scores["motion_spatial_iou"].item() == pytest.approx(spatial(shrink(a), shrink(b)))
    assert scores["motion_weighted_spatial_iou"].item() == pytest.approx(weighted_spatial(shrink(a), shrink(b)))


def test_a_one_pixel_shift_of_the_whole_picture_is_not_motion_of_the_scenery():
    """The masks start from the first predicted frame, so a change of the whole picture
    from the context does not light up every static edge (as it did from the context)."""
    frames = np.zeros((14, 64, 64, 3), np.uint8)
    frames[:] = (30, 40, 50)
    for i in range(14):
        cv2.rectangle(frames[i], (40, 10), (60, 60), (200, 200, 200), -1)  # static scenery
        cv2.circle(frames[i], (20, 6 + int(0.3 * i * i)), 7, (220, 180, 40), -1)
    video = torch.from_numpy(frames).permute(0, 3, 1, 2).float().div(255)[None]
    future, truth = video[:, 2:], Truth(frames=video[:, 2:], context=video[:, :2], episodes=[])
    shifted = future.clone()
    shifted[..., 1:] = future[..., :-1]
    scores = compare_motion(shifted, truth)
    assert scores["motion_spatial_iou"].item() > 0.95  # 0.83 with the context frame in front
    assert scores["motion_weighted_spatial_iou"].item() > 0.85
