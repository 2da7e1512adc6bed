"""Per-step errors of one prediction, for pictures and plots (not scores).

For an episode and its predicted future ``uint8 (T, H, W, 3)``:

* ``psnr_db`` ``(T,)``: PSNR of each predicted frame in dB, as ``coherent_horizon``
  reads it (:func:`~wmbench.metrics.coherence.psnr_per_step`);
* ``trajectory_error`` ``(T,)``: at each step, the mean over fully visible objects of
  the displacement ``trajectory_ade`` averages (fraction of the view width, a lost
  object counting 1); NaN where no object is fully visible;
* ``pred_pixels`` ``(T, N, 2)`` and ``pred_seen`` ``(T, N)``: the object centroids
  extracted from the predicted frames and whether each object was found there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from wmbench.metrics.base import Truth
from wmbench.metrics.coherence import psnr_per_step
from wmbench.metrics.physics import displacement
from wmbench.metrics.tracks import LEAD, build_tracks
from wmbench.worlds.episode import Episode


@dataclass(frozen=True)
class StepErrors:
    psnr_db: np.ndarray
    trajectory_error: np.ndarray
    pred_pixels: np.ndarray
    pred_seen: np.ndarray


def _unit(frames: np.ndarray) -> torch.Tensor:
    """``uint8 (T, H, W, 3)`` -> ``float32 (1, T, 3, H, W)`` in ``[0, 1]``."""
    return torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2)[None].float().div_(255.0)


def step_errors(episode: Episode, pred: np.ndarray) -> StepErrors:
    """The per-step errors of ``pred`` against ``episode``'s true future."""
    truth = Truth(frames=_unit(episode.future_frames), context=_unit(episode.context_frames), episodes=[episode])
    prediction = _unit(pred)
    tracks = build_tracks(prediction, truth)
    dist, scored = displacement(tracks)
    counts = scored.sum(axis=2)[0]
    with np.errstate(invalid="ignore"):
        trajectory = np.where(counts > 0, (dist * scored).sum(axis=2)[0] / counts, np.nan)
    return StepErrors(
        psnr_db=psnr_per_step(prediction, truth)[0].numpy(),
        trajectory_error=trajectory,
        pred_pixels=tracks.pred_xy[0, LEAD:],
        pred_seen=tracks.measured[0, LEAD:],
    )
