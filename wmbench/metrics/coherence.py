"""Temporal coherence of predicted frames, per episode over the horizon.

The predicted sequence is scored with the last context frame in front of it, so a jump
between the context and the first predicted frame counts: ``P_0`` is the last context
frame and ``P_1 .. P_T`` the predicted frames (``F_0 .. F_T`` the same for the truth).
Intensities are on a 0-1 scale at the task's resolution.

* ``flicker``: mean absolute frame-to-frame change of the prediction,
  ``|P_t - P_{t-1}|``, over ``t = 1..T``, channels and the pixels that are static in
  the truth for that pair: the true frames do not change there (``max`` over channels
  of ``|F_t - F_{t-1}|`` at most 0.5/255) nor within 2 pixels (a 5x5 neighbourhood).
  Intensity (0-1 scale); lower is better; 0 for the truth. Missing when no pixel is
  static in any pair.
* ``warp_error``: ``|E(P) - E(F)|``, where ``E`` is the warping error of a sequence:
  the mean over ``t = 1..T`` of the mean absolute difference (channels, pixels)
  between frame ``t`` and frame ``t - 1`` warped onto it along the optical flow from
  ``t`` to ``t - 1`` (OpenCV DIS, "fast" preset, on 8-bit grayscale; bilinear
  sampling, borders replicated). The flow of the prediction is computed on the
  predicted frames. Intensity (0-1 scale); lower is better; 0 for the truth. A frozen
  prediction has ``E = 0`` and scores the truth's own ``E``; a flickering one scores
  more than its motion explains.
* ``coherent_horizon``: the number of predicted frames before the per-step PSNR
  (``10 log10(1 / max(mse_t, 1e-10))`` of frame ``t``, as ``psnr``) first falls below
  30 dB, i.e. the 0-based index of the first step under the threshold; ``T`` when it
  never does (a lower bound). Frames; higher is better. ``coherent_horizon_s`` is the
  same divided by the episode's fps: seconds of scene time. The per-step PSNR curve
  of every episode is pooled: :meth:`CoherentHorizon.mean_curve` (a result stores the
  mean curve per task, from its rows' curves).
* ``revisit_error``: revisit consistency on episodes whose ``meta["revisit"]`` holds
  ``leave_frame: a`` and ``return_frame: b`` (0 = first context frame): the camera
  shows a view at frame ``a``, leaves, and is back at the same view at frame ``b``.
  What was seen at ``a`` (the context frame if ``a`` is in the context, else the
  model's own prediction of it) must match the predicted frame ``b`` where the true
  frames ``a`` and ``b`` agree (``max`` over channels of ``|F_a - F_b|`` at most
  0.5/255): mean absolute difference there, averaged over the revisits whose return
  is predicted. Intensity (0-1 scale); lower is better; 0 for the truth. Missing when
  the episode has no revisit returning within the horizon.
"""

from __future__ import annotations

import math
from typing import Any

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from wmbench.metrics.base import EpisodeMetric, Truth, register
from wmbench.metrics.pixel import MSE_FLOOR, step_mse
from wmbench.metrics.pooled import Items, PooledEpisodeMetric
from wmbench.metrics.sums import float64_sum
from wmbench.worlds.episode import Episode
from wmbench.worlds.meta import revisit_of

#: A true pixel changing by at most this much between two frames is unchanged.
STATIC_TOLERANCE = 0.5 / 255
#: Pixels within this many pixels of a true change are not static.
STATIC_MARGIN = 2
#: The per-step PSNR below which a predicted frame is no longer coherent.
COHERENT_PSNR_DB = 30.0


def with_last_context(frames: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
    """``(B, T, 3, H, W)`` frames with the last context frame in front: ``(B, T + 1, ...)``."""
    return torch.cat([context[:, -1:].to(frames.dtype), frames], dim=1)


def unchanged(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Pixels where ``(..., 3, H, W)`` frames agree within the tolerance: ``(..., 1, H, W)``."""
    return (a - b).abs().amax(dim=-3, keepdim=True) <= STATIC_TOLERANCE


def static_mask(truth: torch.Tensor) -> torch.Tensor:
    """``(B, T, 1, H, W)``: pixels static in the truth between frames ``t - 1`` and ``t``
    of ``truth`` ``(B, T + 1, 3, H, W)``, at least ``STATIC_MARGIN`` pixels from any change."""
    return ~dilate(~unchanged(truth[:, 1:], truth[:, :-1]), STATIC_MARGIN)


def dilate(mask: torch.Tensor, radius: int) -> torch.Tensor:
    """Boolean ``(..., H, W)`` mask grown by ``radius`` pixels (a square neighbourhood)."""
    h, w = mask.shape[-2:]
    padded = F.pad(mask, (radius, radius, radius, radius))
    rows = padded[..., :, 0:w].clone()
    for dx in range(1, 2 * radius + 1):
        rows |= padded[..., :, dx : dx + w]
    grown = rows[..., 0:h, :].clone()
    for dy in range(1, 2 * radius + 1):
        grown |= rows[..., dy : dy + h, :]
    return grown


@register
class Flicker(EpisodeMetric):
    name, unit, higher_is_better = "flicker", "intensity (0-1 scale)", False
    area = "coherence"
    #: A frozen world never flickers: the 0 of the normalised scale is a clearly visible
    #: flicker instead, a mean change of 1% of the intensity range on static pixels.
    violation_anchor = 0.01

    def score(self, pred: torch.Tensor, truth: Truth) -> torch.Tensor:
        mask = truth.memo("static_mask", truth.frames,
                          lambda: static_mask(with_last_context(truth.frames.float(), truth.context)))
        pred = pred.float()
        change = torch.empty_like(pred)
        torch.sub(pred[:, :1], truth.context[:, -1:], out=change[:, :1])
        torch.sub(pred[:, 1:], pred[:, :-1], out=change[:, 1:])
        change.abs_().mul_(mask)
        pixels = mask.flatten(1).sum(1) * pred.shape[2]
        return (float64_sum(change, keep=1) / pixels).where(pixels > 0, torch.nan)


def warping_error(frames: np.ndarray) -> float:
    """Mean over consecutive pairs of ``mean |frame_t - warp(frame_{t-1})|`` for float32
    ``(T, 3, H, W)`` frames in [0, 1] (see the module docstring)."""
    flow_estimator = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_FAST)
    rgb = [cv2.merge(list(f)) for f in frames]  # (H, W, 3) for OpenCV
    gray = [cv2.cvtColor(np.rint(f * 255).astype(np.uint8), cv2.COLOR_RGB2GRAY) for f in rgb]
    h, w = gray[0].shape
    grid_x, grid_y = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    errors = []
    for t in range(1, len(frames)):
        flow = flow_estimator.calc(gray[t], gray[t - 1], None)
        warped = cv2.remap(rgb[t - 1], grid_x + flow[..., 0], grid_y + flow[..., 1],
                           cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        errors.append(float(np.abs(warped - rgb[t]).mean()))
    return float(np.mean(errors))


@register
class WarpError(EpisodeMetric):
    name, unit, higher_is_better = "warp_error", "intensity (0-1 scale)", False
    area = "coherence"

    def score(self, pred: torch.Tensor, truth: Truth) -> torch.Tensor:
        return (self._errors(pred, truth) - truth.memo("warping_error", truth.frames,
                                                       lambda: self._errors(truth.frames, truth))).abs()

    @staticmethod
    def _errors(frames: torch.Tensor, truth: Truth) -> torch.Tensor:
        """The warping error ``E`` of each episode's sequence, ``float64 (B,)``."""
        sequences = with_last_context(frames.float(), truth.context)
        return torch.tensor([warping_error(s.detach().cpu().numpy()) for s in sequences], dtype=torch.float64)


def psnr_per_step(pred: torch.Tensor, truth: Truth) -> torch.Tensor:
    """PSNR of each predicted frame, ``float64 (B, T)`` in dB (data range 1, at most 100)."""
    return 10 * torch.log10(1.0 / step_mse(pred, truth).clamp_min(MSE_FLOOR))


def coherent_steps(curve: torch.Tensor, threshold: float = COHERENT_PSNR_DB) -> torch.Tensor:
    """Steps before ``curve`` ``(B, T)`` first falls below ``threshold`` (``T`` if never)."""
    below = curve < threshold
    first = below.to(torch.int64).argmax(dim=1)
    return torch.where(below.any(dim=1), first, curve.shape[1]).double()


@register
class CoherentHorizon(PooledEpisodeMetric):
    name, unit, higher_is_better = "coherent_horizon", "frames", True
    area = "coherence"
    pooled_states = ("curves",)

    def score(self, pred: torch.Tensor, truth: Truth) -> torch.Tensor:
        return coherent_steps(psnr_per_step(pred, truth))

    def items(self, pred: torch.Tensor, truth: Truth) -> Items:
        """Each episode's per-step PSNR curve, ``(1, T)``."""
        return {"curves": list(psnr_per_step(pred, truth)[:, None])}

    @classmethod
    def summarise(cls, items: dict[str, torch.Tensor]) -> dict[str, Any]:
        """``{"mean_psnr_db_per_step": the mean curve, "episodes": their number}``."""
        curves = items["curves"]
        return {"mean_psnr_db_per_step": curves.double().mean(0).tolist(), "episodes": len(curves)}

    def mean_curve(self) -> torch.Tensor | None:
        """Mean per-step PSNR over every episode scored (all processes), ``(T,)`` dB."""
        summary = self.pooled_summary()
        return None if summary is None else torch.tensor(summary["mean_psnr_db_per_step"], dtype=torch.float64)


@register
class CoherentHorizonSeconds(EpisodeMetric):
    name, unit, higher_is_better = "coherent_horizon_s", "s", True
    area = "coherence"

    def score(self, pred: torch.Tensor, truth: Truth) -> torch.Tensor:
        fps = torch.tensor([e.fps for e in truth.episodes], dtype=torch.float64, device=pred.device)
        return coherent_steps(psnr_per_step(pred, truth)) / fps


def revisits(episode: Episode) -> list[tuple[int, int]]:
    """``(leave, return)`` frame pairs of the episode's camera revisits (none without one)."""
    revisit = revisit_of(episode)
    return [] if revisit is None else [(revisit.leave_frame, revisit.return_frame)]


def _frame(context: torch.Tensor, future: torch.Tensor, t: int) -> torch.Tensor:
    """Frame ``t`` (0 = the first context frame) of ``context`` followed by ``future``, float64."""
    return (context[t] if t < len(context) else future[t - len(context)]).double()


@register
class RevisitError(EpisodeMetric):
    name, unit, higher_is_better = "revisit_error", "intensity (0-1 scale)", False
    area = "coherence"

    def score(self, pred: torch.Tensor, truth: Truth) -> torch.Tensor:
        context = truth.context.shape[1]
        values = []
        for i, episode in enumerate(truth.episodes):
            errors = []
            for leave, back in revisits(episode):
                if not context <= back < context + pred.shape[1]:
                    continue
                same = unchanged(_frame(truth.context[i], truth.frames[i], leave),
                                 _frame(truth.context[i], truth.frames[i], back))
                if same.any():
                    diff = (_frame(truth.context[i], pred[i], back) - _frame(truth.context[i], pred[i], leave)).abs()
                    errors.append(float((diff * same).sum() / (same.sum() * pred.shape[2])))
            values.append(float(np.mean(errors)) if errors else math.nan)
        return torch.tensor(values, dtype=torch.float64)
