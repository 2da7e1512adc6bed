"""Motion masks and motion metrics compatible with Physics-IQ (Motamed et al. 2025).

Motion masks follow the Physics-IQ procedure step by step and equal those of the
official scripts bit for bit on ``uint8`` frames. On the CPU its OpenCV calls run frame
by frame (the fastest there); on other devices a torch implementation vectorised over
frames reproduces OpenCV's integer and floating-point arithmetic exactly:

1. grey level ``g = (9798 R + 19235 G + 3735 B + 2^14) >> 15`` (OpenCV's BGR2GRAY);
2. 5x5 Gaussian blur with OpenCV's sigma-0 kernel ``[1, 4, 6, 4, 1] / 16`` in each
   direction, borders reflected without repeating the edge pixel, rounded to an
   integer: ``b = (S + 128) >> 8`` of the integer sum ``S``;
3. running-average background ``a_0 = b_0``, ``a_t = 0.7 a_{t-1} + 0.3 b_t`` in
   float64 with a fused multiply-add (as OpenCV's ``accumulateWeighted``);
4. ``mask_t = |b_t - round(a_t)| > 10`` grey levels (of 255), rounding half to even;
   frame 0 has no background yet and its mask is empty;
5. a 5x5 square opening, then a 5x5 square closing (pixels beyond the border ignored).

Scores compare a predicted sequence's masks ``A`` with the true sequence's ``B`` at
the working resolution, a quarter of the frames' width and height (masks shrunk with
bilinear interpolation and kept where the interpolated value is at least one half,
i.e. OpenCV's ``resize`` of a 0/255 mask followed by ``> 127``):

* spatiotemporal IoU per frame: ``|A_t & B_t| / |A_t | B_t|``, 1 where the union is empty;
* spatial IoU: the IoU of the masks collapsed over time (``OR_t A_t`` against ``OR_t B_t``);
* weighted spatial IoU: with ``w_A = mean_t A_t`` (the fraction of frames in which a
  pixel moves), ``sum min(w_A, w_B) / sum max(w_A, w_B)``, 1 where both are empty;
* MSE per frame of the frames (0-1 scale) at the working resolution.

On episodes (:func:`compare_motion`) these are the metrics ``motion_spatial_iou``,
``motion_spatiotemporal_iou`` (mean over frames), ``motion_weighted_spatial_iou``
(fractions, higher is better) and ``motion_mse`` (mean over frames; intensity^2 on a
0-1 scale, lower is better). ``wmbench physics-iq`` scores a Physics-IQ submission
with the same functions (:mod:`wmbench.metrics.physics_iq`).
"""

from __future__ import annotations

from typing import cast

import numpy as np
import torch
import torch.nn.functional as F

from wmbench.metrics.alignment import aligned
from wmbench.metrics.base import EpisodeMetric, Truth, register
from wmbench.metrics.motion_opencv import BACKGROUND_WEIGHT, MORPH_SIZE, THRESHOLD, MotionMasks

SECONDS_SCORED = 5
GREY_WEIGHTS = (9798, 19235, 3735)  # R, G, B in 1/2^15
BLUR_TAPS = (1, 4, 6, 4, 1)
_SPLIT = 134217729.0  # 2^27 + 1: Veltkamp splitting of a float64


def to_uint8(frames: torch.Tensor) -> torch.Tensor:
    """Frames ``(..., 3, H, W)`` in ``[0, 1]`` to ``uint8`` levels (rounded, clipped), one
    frame at a time so that the temporaries stay small."""
    flat = frames.reshape(-1, *frames.shape[-3:])
    out = torch.empty(flat.shape, dtype=torch.uint8, device=frames.device)
    for i, frame in enumerate(flat):
        out[i] = frame.mul(255).round_().clamp_(0, 255)
    return out.view(frames.shape)


def grey_levels(frames: torch.Tensor) -> torch.Tensor:
    """``uint8 (..., 3, H, W)`` RGB frames to OpenCV's integer grey ``int32 (..., H, W)``."""
    f = frames.to(torch.int32)
    r, g, b = GREY_WEIGHTS
    return (f[..., 0, :, :] * r + f[..., 1, :, :] * g + f[..., 2, :, :] * b + (1 << 14)) >> 15


def _reflect_101(length: int, pad: int, device: torch.device) -> torch.Tensor:
    index = torch.arange(-pad, length + pad, device=device).abs()
    return torch.where(index >= length, 2 * (length - 1) - index, index)


def gaussian_blur_5x5(grey: torch.Tensor) -> torch.Tensor:
    """OpenCV's ``GaussianBlur(grey, (5, 5), 0)`` on integer grey levels ``(..., H, W)``."""
    pad = len(BLUR_TAPS) // 2
    h, w = grey.shape[-2:]
    x = grey.index_select(-1, _reflect_101(w, pad, grey.device))
    x = cast(torch.Tensor, sum(tap * x[..., i:i + w] for i, tap in enumerate(BLUR_TAPS)))
    x = x.index_select(-2, _reflect_101(h, pad, grey.device))
    x = cast(torch.Tensor, sum(tap * x[..., i:i + h, :] for i, tap in enumerate(BLUR_TAPS)))
    return (x + 128) >> 8


def _accumulate(background: torch.Tensor, frame: torch.Tensor) -> torch.Tensor:
    """``fma(background, 0.7, 0.3 * frame)`` rounded once, as OpenCV computes it, from
    error-free transformations (exact on every device)."""
    beta = 1.0 - BACKGROUND_WEIGHT
    beta_hi = _SPLIT * beta - (_SPLIT * beta - beta)
    beta_lo = beta - beta_hi
    addend = frame * BACKGROUND_WEIGHT
    product = background * beta
    split = background * _SPLIT
    bg_hi = split - (split - background)
    bg_lo = background - bg_hi
    product_error = ((bg_hi * beta_hi - product) + bg_hi * beta_lo + bg_lo * beta_hi) + bg_lo * beta_lo
    total = product + addend
    virtual = total - product
    sum_error = (product - (total - virtual)) + (addend - virtual)
    return total + (sum_error + product_error)


def _morph(masks: torch.Tensor, dilate: bool) -> torch.Tensor:
    """Dilation (OR) or erosion (AND) of ``bool (N, H, W)`` masks with a square, as two
    1-D passes; pixels beyond the border are ignored."""
    r = MORPH_SIZE // 2
    for dim in (-1, -2):
        n = masks.shape[dim]
        shape = list(masks.shape)
        shape[dim] = r
        edge = torch.full(shape, not dilate, dtype=torch.bool, device=masks.device)
        padded = torch.cat([edge, masks, edge], dim)
        out = padded.narrow(dim, 0, n).clone()
        for i in range(1, MORPH_SIZE):
            if dilate:
                out |= padded.narrow(dim, i, n)
            else:
                out &= padded.narrow(dim, i, n)
        masks = out
    return masks


def _torch_masks(frames: torch.Tensor, background: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """The procedure vectorised over frames in torch (any device)."""
    b, t, _, h, w = frames.shape
    blurred = gaussian_blur_5x5(grey_levels(frames.flatten(0, 1))).view(b, t, h, w).double()
    moving = torch.zeros(b, t, h, w, dtype=torch.bool, device=frames.device)
    start = 0
    if background is None:
        background, start = blurred[:, 0].clone(), 1
    for i in range(start, t):
        background = _accumulate(background, blurred[:, i])
        moving[:, i] = (blurred[:, i] - background.round().clamp(0, 255)).abs() > THRESHOLD
    x = moving.view(b * t, h, w)
    x = _morph(_morph(x, dilate=False), dilate=True)  # opening
    x = _morph(_morph(x, dilate=True), dilate=False)  # closing
    return x.view(b, t, h, w), background


def _opencv_masks(frames: torch.Tensor, background: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """The procedure frame by frame with the OpenCV calls it is defined by (CPU)."""
    b, t, _, h, w = frames.shape
    planes = frames.permute(0, 1, 3, 4, 2).numpy()
    moving = np.zeros((b, t, h, w), bool)
    state = np.empty((b, h, w))
    for j in range(b):
        start = None if background is None else background[j].numpy().astype(np.float64, copy=True)
        stream = MotionMasks(start, rgb=True)
        for i in range(t):
            moving[j, i] = stream.push(np.ascontiguousarray(planes[j, i])) > 0
        state[j] = stream.background
    return torch.from_numpy(moving), torch.from_numpy(state)


def motion_masks(frames: torch.Tensor, background: torch.Tensor | None = None
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """Motion masks of ``uint8 (B, T, 3, H, W)`` RGB frames: ``(bool (B, T, H, W),
    background float64 (B, H, W))``, on the frames' device.

    Pass the returned background back in to continue a sequence chunk by chunk;
    without one, frame 0 starts the background and its mask is empty. On the CPU the
    OpenCV calls of the definition run frame by frame (the fastest there); elsewhere
    the torch implementation, which gives the same masks bit for bit.
    """
    if frames.device.type == "cpu":
        return _opencv_masks(frames, background)
    return _torch_masks(frames, background)


def working_size(height: int, width: int) -> tuple[int, int]:
    """The working resolution: a quarter of the reference's height and width."""
    return max(height // 4, 1), max(width // 4, 1)


def _quarter_sum(x: torch.Tensor, size: tuple[int, int], dtype: torch.dtype) -> torch.Tensor | None:
    """The sum, in ``dtype``, of the four pixels that bilinear interpolation (no
    antialiasing, ``align_corners`` False) averages with equal weights when ``size`` is
    exactly a quarter of ``x``'s ``(..., H, W)``: rows and columns ``4i + 1`` and
    ``4i + 2``. ``None`` for any other size."""
    (h, w), (height, width) = size, x.shape[-2:]
    if (height, width) != (4 * h, 4 * w):
        return None
    rows = x[..., 1::4, :].to(dtype) + x[..., 2::4, :]
    return rows[..., 1::4] + rows[..., 2::4]


def shrink_masks(masks: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """``bool (..., H, W)`` masks to ``size`` (bilinear, kept where >= 1/2)."""
    taps = _quarter_sum(masks, size, torch.uint8)
    if taps is not None:  # the same masks, without interpolating: at least two of the four taps
        return taps >= 2
    lead, (h, w) = masks.shape[:-2], masks.shape[-2:]
    x = masks.reshape(-1, 1, h, w).float()
    x = F.interpolate(x, size=size, mode="bilinear", align_corners=False)
    return (x >= 0.5).view(*lead, *size)


def shrink_frames(frames: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """``(B, T, 3, H, W)`` frames to float32 at ``size`` with bilinear interpolation
    (no antialiasing), values on the input's scale."""
    if frames.dtype == torch.uint8:
        taps = _quarter_sum(frames, size, torch.int16)
        if taps is not None:  # integer levels: the same values, exactly
            return taps.float().mul_(0.25)
    b, t = frames.shape[:2]
    x = F.interpolate(frames.flatten(0, 1).float(), size=size, mode="bilinear", align_corners=False)
    return x.view(b, t, *x.shape[1:])


def _iou(intersection: torch.Tensor, union: torch.Tensor) -> torch.Tensor:
    """``intersection / union`` in float64, 1 where the union is empty."""
    ratio = intersection.double() / union.double().clamp_min(1e-300)
    return torch.where(union > 0, ratio, torch.ones_like(ratio))


def spatiotemporal_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per-frame IoU of ``bool (..., T, H, W)`` masks -> ``float64 (..., T)``."""
    return _iou((a & b).sum((-2, -1)), (a | b).sum((-2, -1)))


def spatial_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """IoU of the masks collapsed over time: ``bool (..., T, H, W)`` -> ``float64 (...)``."""
    return spatiotemporal_iou(a.any(-3), b.any(-3))


def weighted_spatial_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """IoU of the per-pixel fractions of moving frames: ``bool (..., T, H, W)`` -> ``float64 (...)``."""
    wa = a.sum(-3, dtype=torch.float64) / a.shape[-3]
    wb = b.sum(-3, dtype=torch.float64) / b.shape[-3]
    return _iou(torch.minimum(wa, wb).sum((-2, -1)), torch.maximum(wa, wb).sum((-2, -1)))


def frame_mse(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-frame MSE of ``(..., T, C, H, W)`` frames -> ``float64 (..., T)``."""
    return (x.double() - y.double()).square().mean((-3, -2, -1))


def compare_motion(pred: torch.Tensor, truth: Truth) -> dict[str, torch.Tensor]:
    """The four motion scores per episode, ``float64 (B,)`` each, of predicted frames
    ``(B, T, 3, H, W)`` in ``[0, 1]`` against the true future.

    Both sequences are the first ``fps * 5`` frames of the horizon, quantised to 8 bits
    and started, as Physics-IQ starts a generated video, from their own first frame
    (frame 0: it starts the background and its mask is empty), so that a change of the
    whole picture from the context (a blur, a one-pixel shift) does not read as motion
    along every edge. Masks are scored from frame 1, ``motion_mse`` on every frame. The
    four metrics share one computation per prediction, and the truth's masks are
    computed once per batch (:meth:`Truth.memo`).
    """
    return truth.memo("motion", pred, lambda: _compare_motion(pred, truth))


def _motion_of(frames: torch.Tensor, truth: Truth, count: int, size: tuple[int, int]) -> tuple:
    """Working-resolution masks (from frame 1) and frames of the first ``count`` of
    ``frames``, after their global photometric change and translation are undone (:func:`aligned`)."""
    sequence = to_uint8(aligned(frames, truth)[:, :count])
    return shrink_masks(motion_masks(sequence)[0], size)[:, 1:], shrink_frames(sequence, size)


def _compare_motion(pred: torch.Tensor, truth: Truth) -> dict[str, torch.Tensor]:
    fps = truth.episodes[0].fps if truth.episodes else None
    count = pred.shape[1] if fps is None else min(pred.shape[1], round(fps * SECONDS_SCORED))
    size = working_size(*pred.shape[-2:])
    a, predicted = _motion_of(pred, truth, count, size)
    b, true = truth.memo(f"motion_truth/{count}", truth.frames,
                         lambda: _motion_of(truth.frames, truth, count, size))
    mse = frame_mse(predicted, true).mean(-1) / 255**2
    return {
        "motion_spatial_iou": spatial_iou(a, b),
        "motion_spatiotemporal_iou": spatiotemporal_iou(a, b).mean(-1),
        "motion_weighted_spatial_iou": weighted_spatial_iou(a, b),
        "motion_mse": mse,
    }


class _MotionMetric(EpisodeMetric):
    area = "physics"  # where things move, as Physics-IQ scores physical understanding
    #: Four readings of one pair of motion masks, one score in Physics-IQ: one vote in the index.
    group = "physics_iq_motion"

    def score(self, pred: torch.Tensor, truth: Truth) -> torch.Tensor:
        return compare_motion(pred, truth)[self.name]


class _MotionIoU(_MotionMetric):
    #: The reading's own change (``wmbench selftest``): a blur or a one-pixel shift moves a
    #: small mask's edge by a working pixel, an IoU of 0.84-0.94 on five ``drop_single`` episodes.
    margin = 0.2


@register
class MotionSpatialIoU(_MotionIoU):
    name, unit, higher_is_better = "motion_spatial_iou", "fraction", True


@register
class MotionSpatiotemporalIoU(_MotionIoU):
    name, unit, higher_is_better = "motion_spatiotemporal_iou", "fraction", True


@register
class MotionWeightedSpatialIoU(_MotionIoU):
    name, unit, higher_is_better = "motion_weighted_spatial_iou", "fraction", True


@register
class MotionMSE(_MotionMetric):
    name, unit, higher_is_better = "motion_mse", "intensity^2 (0-1 scale)", False
