"""Temporal coherence of predicted frames, per episode over the horizon.

The predicted sequence is scored with the last context frame in front of it, so a jump
between the context and the first predicted frame counts: ``P_0`` is the last context
frame and ``P_1 .. P_T`` the predicted frames (``F_0 .. F_T`` the same for the truth).
Before scoring, a constant change of brightness, contrast or colour of the whole
predicted sequence is undone (:func:`~wmbench.metrics.photometry.calibrate`, one
mapping for the horizon: a change from frame to frame stays). Changes are read at an
eighth of the resolution (8x8 area means, on the grid of the 8x8 blocks of block codecs
such as JPEG: faint noise and a codec's ringing average out) and only beyond
:data:`~wmbench.metrics.coarse.NOISE_FLOOR` (0.01 on the 0-1 scale) per channel: ``d(a, b) = max(0, |a - b| - 0.01)``
of the coarse frames. Intensities are on a 0-1 scale.

* ``dynamics`` (a score): how much of the truth's change from frame to frame the
  prediction has, ``min(A_P, A_F) / max(A_P, A_F)`` with ``A_X`` the sum of
  ``d(X_t, X_{t-1})`` over ``t = 2..T``, coarse pixels and channels (the step from the
  context is left to the laws below). Fraction; higher is better; 1 for the truth, 0
  for a frozen world. Missing when nothing changes in the truth.
* ``flicker`` (a law): mean of ``d(P_t, P_{t-1})`` over ``t = 1..T``, channels and the
  coarse pixels of the scene that hold still in the truth for that pair: the true frames
  do not change there (``max`` over channels of ``|F_t - F_{t-1}|`` at most 0.5/255)
  nor within 2 pixels, and no predicted object is within 2 pixels in either frame (an
  object's pixels: summed mask shares of all objects at least :data:`OBJECT_SHARE`,
  read as for the physics metrics, :func:`~wmbench.metrics.objects.object_masks`), in
  all 64 pixels of the coarse pixel. Where the model's objects go is the physics
  metrics' business: a plausible rollout whose objects part from the truth's must not
  flicker here. Lower is better; 0 for the truth. Missing when no pixel qualifies.
* ``drift`` (a law): the change from an earlier frame of the same still scene,
  ``d(P_t, P_s)`` averaged over ``t = 2..T``, channels and the coarse pixels of the scene
  where the truth at ``t`` looks as at ``s < t``: ``s = 1`` (the first predicted frame)
  where it looks as then, else the first frame of the stretch up to ``t`` over which it
  has stood still (every pixel of the coarse pixel, and within 2 pixels of it,
  unchanged from ``F_s`` by the same tolerance), with no predicted object within 2
  pixels at ``s`` or ``t``. The picture must not creep away where the world stands
  still, since the start, after a ball rolled through or since the camera came to rest
  (a constant change of the whole prediction, such as a blur or a one-pixel shift, is
  appearance, not drift; its step from the context counts in ``flicker``). Lower is
  better; 0 for the truth. Missing when no pixel qualifies or the horizon has one frame.
* ``warp_error`` (a law): how much more the prediction changes than its own motion
  explains than the truth does, ``max(0, E(P) - E(F))``: ``E`` is the mean over
  ``t = 1..T``, coarse pixels and channels of ``d`` between frame ``t`` and frame
  ``t - 1`` warped onto it along the optical flow from ``t`` to ``t - 1`` (OpenCV DIS,
  "fast" preset, on 8-bit grayscale at full resolution; bilinear sampling, borders
  replicated), computed on each sequence itself. Objects popping in and out and
  content jumping raise it. Lower is better; 0 for the truth and a frozen world.
* ``blinks`` (a law): objects must not blink out of the picture. An object blinks at
  a horizon step where its predicted visibility (read from the frames as for the
  physics metrics, :mod:`wmbench.metrics.tracks`) is below 0.1 for at most
  :data:`BLINK_FRAMES` consecutive frames, seen (visibility at least 0.5) just before
  and just after, while the true object is seen there. The fraction of (horizon step,
  object) pairs with the true object seen at which the prediction blinks, beyond the
  same fraction read from the true frames. Fraction of object-steps; lower is better;
  0 for the truth and a frozen world. Missing when no true object is seen in the
  horizon.
* ``revisit_error`` (a score): revisit consistency on episodes whose ``meta["revisit"]``
  holds ``leave_frame: a`` and ``return_frame: b`` (0 = first context frame): the
  camera shows a view at frame ``a``, leaves, and is back at the same view at frame
  ``b``. What was seen at ``a`` (the context frame if ``a`` is in the context, else the
  model's own prediction of it) must match the predicted frame ``b`` where the true
  frames ``a`` and ``b`` agree (``max`` over channels of ``|F_a - F_b|`` at most 0.5/255
  in all 64 pixels of the coarse pixel): mean of ``d`` there, averaged over the revisits
  whose return is predicted. Lower is better; 0 for the truth. Missing when the episode
  has no revisit returning within the horizon.

The laws are obeyed by a frozen world: they penalise their area's index and give no
credit (see :mod:`wmbench.results.headline`).
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from wmbench.metrics.base import EpisodeMetric, Truth, register
from wmbench.metrics.coarse import COARSE, NOISE_FLOOR, change, coarse
from wmbench.metrics.objects import object_masks
from wmbench.metrics.photometry import calibrated
from wmbench.metrics.sums import float64_sum
from wmbench.metrics.tracks import GONE, LEAD, SEEN, build_tracks
from wmbench.worlds.episode import Episode
from wmbench.worlds.meta import revisit_of

#: A true pixel changing by at most this much between two frames is unchanged.
STATIC_TOLERANCE = 0.5 / 255
#: Pixels within this many pixels of a true change are not static.
STATIC_MARGIN = 2
#: A pixel whose object mask shares sum to at least this belongs to a predicted object.
OBJECT_SHARE = 0.5


def with_last_context(frames: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
    """``(B, T, 3, H, W)`` frames with the last context frame in front: ``(B, T + 1, ...)``."""
    return torch.cat([context[:, -1:].to(frames.dtype), frames], dim=1)


def unchanged(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Pixels where ``(..., 3, H, W)`` frames agree within the tolerance: ``(..., 1, H, W)``."""
    return (a - b).abs().amax(dim=-3, keepdim=True) <= STATIC_TOLERANCE


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


def coarse_mask(mask: torch.Tensor) -> torch.Tensor:
    """``(..., 1, H, W)`` bool to the coarse grid: true where all its pixels are."""
    return coarse(mask.float()) >= 1.0


def predicted_sequence(pred: torch.Tensor, truth: Truth) -> torch.Tensor:
    """The coarse calibrated prediction with the last context frame in front, ``(B, T + 1, 3, h, w)``,
    once per prediction and batch."""
    return truth.memo("coherence_sequence", pred,
                      lambda: coarse(with_last_context(calibrated(pred, truth, per_frame=False).float(), truth.context)))


def true_sequence(truth: Truth) -> torch.Tensor:
    return truth.memo("coherence_sequence", truth.frames,
                      lambda: coarse(with_last_context(truth.frames.float(), truth.context)))


def _masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Per episode, the mean of ``values`` ``(B, T, 3, h, w)`` over ``mask`` ``(B, T, 1, h, w)``
    and channels, float64; NaN where the mask is empty."""
    pixels = mask.flatten(1).sum(1) * values.shape[2]
    return (float64_sum(values * mask, keep=1) / pixels).where(pixels > 0, torch.nan)


@register
class Dynamics(EpisodeMetric):
    name, unit, higher_is_better = "dynamics", "fraction", True
    area = "coherence"

    def score(self, pred: torch.Tensor, truth: Truth) -> torch.Tensor:
        p, f = self._amount(predicted_sequence(pred, truth)), self._amount(true_sequence(truth))
        ratio = torch.minimum(p, f) / torch.maximum(p, f).clamp_min(1e-12)
        return ratio.where(f > 0, torch.nan)

    @staticmethod
    def _amount(sequence: torch.Tensor) -> torch.Tensor:
        """``A``: the summed change from frame to frame after the first predicted frame."""
        return float64_sum(change(sequence[:, 2:], sequence[:, 1:-1]), keep=1)


def still(full: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Pixels ``(B, T, 1, H, W)`` where true frames ``full`` do not change from
    ``reference`` (broadcast along time), nor within :data:`STATIC_MARGIN` pixels."""
    return ~dilate(~unchanged(full, reference), STATIC_MARGIN)


def scene_pixels(pred: torch.Tensor, truth: Truth) -> torch.Tensor:
    """Pixels ``(B, T + 1, 1, H, W)`` of the calibrated prediction, with the last context
    frame in front, that are at least :data:`STATIC_MARGIN` pixels from every predicted
    object's pixels, once per prediction and batch."""
    def compute() -> torch.Tensor:
        frames = with_last_context(calibrated(pred, truth, per_frame=False).float(), truth.context)
        occupied = object_masks(frames, truth.episodes).sum(2, keepdim=True) >= OBJECT_SHARE
        return ~dilate(occupied, STATIC_MARGIN)
    return truth.memo("scene_pixels", pred, compute)


@register
class Flicker(EpisodeMetric):
    name, unit, higher_is_better = "flicker", "intensity (0-1 scale)", False
    area = "coherence"
    #: A frozen world obeys this law; a mean change of 0.005 beyond the noise floor on
    #: static pixels is clearly visible.
    violation_anchor = 0.005

    def score(self, pred: torch.Tensor, truth: Truth) -> torch.Tensor:
        def static_pairs() -> torch.Tensor:
            full = with_last_context(truth.frames.float(), truth.context)
            return still(full[:, 1:], full[:, :-1])

        static = truth.memo("static_pairs", truth.frames, static_pairs)
        scene = scene_pixels(pred, truth)
        sequence = predicted_sequence(pred, truth)
        mask = coarse_mask(static & scene[:, 1:] & scene[:, :-1])
        return _masked_mean(change(sequence[:, 1:], sequence[:, :-1]), mask)


def drift_references(full: torch.Tensor) -> torch.Tensor:
    """For true frames ``full`` ``(B, T + 1, 3, H, W)`` (``F_0`` the last context frame),
    per coarse pixel and frame ``t = 1..T``, the frame ``s`` that ``drift`` compares frame
    ``t`` with: 1 where the truth at ``t`` looks as at 1, else the first frame of the
    stretch up to ``t`` over which it stands still (:func:`still` of all the coarse
    pixel's pixels against ``F_s``): ``(B, T, 1, h, w)`` frame indices."""
    b, n, c, height, width = full.shape
    h, w = height // COARSE, width // COARSE
    full = full[..., : h * COARSE, : w * COARSE]
    start = torch.ones(b, 1, 1, h, w, dtype=torch.long, device=full.device)
    starts = [start]
    for t in range(2, n):
        fine = start.repeat_interleave(COARSE, -2).repeat_interleave(COARSE, -1).expand(-1, -1, c, -1, -1)
        start = torch.where(coarse_mask(still(full[:, t : t + 1], torch.gather(full, 1, fine))), start, t)
        starts.append(start)
    as_first = coarse_mask(still(full[:, 1:], full[:, 1:2]))
    return torch.where(as_first, 1, torch.cat(starts, 1))


@register
class Drift(EpisodeMetric):
    name, unit, higher_is_better = "drift", "intensity (0-1 scale)", False
    area = "coherence"
    #: A frozen world obeys this law; a mean creep of 0.005 beyond the noise floor is clearly visible.
    violation_anchor = 0.005

    def score(self, pred: torch.Tensor, truth: Truth) -> torch.Tensor:
        references = truth.memo("drift_references", truth.frames, lambda: drift_references(
            with_last_context(truth.frames.float(), truth.context)))[:, 1:]  # frames 2..T
        sequence = predicted_sequence(pred, truth)
        scene = coarse_mask(scene_pixels(pred, truth))
        steps = torch.arange(2, sequence.shape[1], device=references.device).view(1, -1, 1, 1, 1)
        earlier = torch.gather(sequence, 1, references.expand(-1, -1, sequence.shape[2], -1, -1))
        mask = (references < steps) & scene[:, 2:] & torch.gather(scene, 1, references)
        return _masked_mean(change(sequence[:, 2:], earlier), mask)


def warping_error(frames: np.ndarray) -> float:
    """``E``: mean over consecutive pairs, coarse pixels and channels of ``d`` between
    frame ``t`` and frame ``t - 1`` warped onto it, for float32 ``(T, 3, H, W)`` frames in
    [0, 1] (see the module docstring)."""
    flow_estimator = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_FAST)
    rgb = [cv2.merge(list(f)) for f in frames]  # (H, W, 3) for OpenCV
    gray = [cv2.cvtColor(np.rint(f * 255).astype(np.uint8), cv2.COLOR_RGB2GRAY) for f in rgb]
    h, w = gray[0].shape
    grid_x, grid_y = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    residuals = []
    for t in range(1, len(frames)):
        flow = flow_estimator.calc(gray[t], gray[t - 1], None)
        warped = cv2.remap(rgb[t - 1], grid_x + flow[..., 0], grid_y + flow[..., 1],
                           cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        residuals.append(warped - rgb[t])
    coarse_residual = coarse(torch.from_numpy(np.stack(residuals)).permute(0, 3, 1, 2))
    return float(coarse_residual.abs().sub_(NOISE_FLOOR).clamp_(min=0.0).double().mean())


@register
class WarpError(EpisodeMetric):
    name, unit, higher_is_better = "warp_error", "intensity (0-1 scale)", False
    area = "coherence"
    #: A frozen world obeys this law (it has nothing to warp); a mean unexplained change
    #: of 0.002 beyond the truth's is clearly visible.
    violation_anchor = 0.002

    def score(self, pred: torch.Tensor, truth: Truth) -> torch.Tensor:
        own = self._errors(calibrated(pred, truth, per_frame=False), truth)
        return (own - truth.memo("warping_error", truth.frames, lambda: self._errors(truth.frames, truth))).clamp_(min=0.0)

    @staticmethod
    def _errors(frames: torch.Tensor, truth: Truth) -> torch.Tensor:
        """The warping error ``E`` of each episode's sequence, ``float64 (B,)``."""
        sequences = with_last_context(frames.float(), truth.context)
        return torch.tensor([warping_error(s.detach().cpu().numpy()) for s in sequences], dtype=torch.float64)


#: An object gone for at most this many consecutive frames between two sightings blinks.
BLINK_FRAMES = 3


def blinked(visibility: np.ndarray) -> np.ndarray:
    """Frames ``(B, L, N)`` of visibility tracks ``(B, L, N)`` at which an object blinks:
    below ``GONE`` for at most :data:`BLINK_FRAMES` frames, seen just before and after."""
    gone, seen = visibility < GONE, visibility >= SEEN
    out = np.zeros_like(gone)
    for length in range(1, BLINK_FRAMES + 1):
        for start in range(1, gone.shape[1] - length):
            run = gone[:, start : start + length].all(axis=1)
            hit = run & seen[:, start - 1] & seen[:, start + length]
            out[:, start : start + length] |= hit[:, None]
    return out


@register
class Blinks(EpisodeMetric):
    name, unit, higher_is_better = "blinks", "fraction of object-steps", False
    area = "coherence"
    catches = ("popping",)
    margin = 0.01
    #: A frozen world obeys this law; one blink in 50 object-steps is clearly visible.
    violation_anchor = 0.02

    def score(self, pred: torch.Tensor, truth: Truth) -> torch.Tensor:
        own = self._blinks(pred, truth)
        baseline = truth.memo("blinks", truth.frames, lambda: self._blinks(truth.frames, truth))
        return torch.from_numpy(np.clip(own - baseline, 0.0, None))

    @staticmethod
    def _blinks(frames: torch.Tensor, truth: Truth) -> np.ndarray:
        """Per episode, the fraction of object-steps with the true object seen at which
        ``frames`` blink it."""
        tracks = build_tracks(frames, truth)
        counted = (tracks.true_vis[:, LEAD:] >= SEEN) & tracks.valid[:, None]
        hits = (blinked(tracks.pred_vis)[:, LEAD:] & counted).sum(axis=(1, 2))
        total = counted.sum(axis=(1, 2))
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(total > 0, hits / np.maximum(total, 1), np.nan)


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
        pred = calibrated(pred, truth, per_frame=False)
        values = []
        for i, episode in enumerate(truth.episodes):
            errors = []
            for leave, back in revisits(episode):
                if not context <= back < context + pred.shape[1]:
                    continue
                same = coarse_mask(unchanged(_frame(truth.context[i], truth.frames[i], leave),
                                             _frame(truth.context[i], truth.frames[i], back)))
                if same.any():
                    seen, returned = (coarse(_frame(truth.context[i], pred[i], t)) for t in (leave, back))
                    errors.append(float((change(returned, seen) * same).sum() / (same.sum() * pred.shape[2])))
            values.append(float(np.mean(errors)) if errors else math.nan)
        return torch.tensor(values, dtype=torch.float64)
