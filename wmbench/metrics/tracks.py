"""Predicted and true object tracks over the horizon, as host arrays for the physics metrics.

A track covers the last :data:`LEAD` context frames and the ``T`` horizon frames
(index ``LEAD + t`` is horizon step ``t``). The context part of the predicted track is
read from the true context frames, so a jump from the context into the first
predicted frame is seen. Predicted frames are read after their global photometric change
and translation are undone (:func:`wmbench.metrics.alignment.aligned`). True positions
are the episodes' ``truth.pixels``; true visibility is ``truth.visibility``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np
import torch

from wmbench.errors import WmbenchError
from wmbench.metrics.alignment import aligned
from wmbench.metrics.base import Truth
from wmbench.metrics.objects import ObjectStates, extract_states, inradius_pixels
from wmbench.worlds.meta import scale_of

#: Context frames that lead each track.
LEAD = 2
#: True visibility at or above which an object counts as fully visible.
FULL = 0.99
#: Visibility (true or predicted) at or above which an object counts as seen.
SEEN = 0.5
#: Predicted visibility at or above which an object's centroid is close enough to its
#: centre to time impacts by (a partly hidden object's visible part lags its centre).
WHOLE = 0.9
#: Predicted visibility below which an object counts as gone.
GONE = 0.1
#: True visibility below which an object counts as hidden.
HIDDEN = 0.05


@dataclass
class Tracks:
    """``(B, LEAD + T, N, ...)`` arrays, NaN-padded to the batch's most objects.

    ``pred_xy``/``true_xy``: pixels (x right, y down); ``pred_vis``/``true_vis``:
    visible fraction; ``true_states``: the episodes' states (metres, y up); ``valid``
    ``(B, N)``: real object slots; ``inradius``, ``mass`` ``(B, N)``; ``ppm``, ``fps``,
    ``gravity``, ``view`` ``(B,)``: pixels per metre, frames per second, m/s^2 and the
    view width in pixels. ``ensemble_xy`` ``(B, M, LEAD + T, N, 2)``: the true centres of
    the physical-variance rollouts (``M`` = the batch's fewest members, NaN-padded to at
    least one). ``pred``/``true_frames``: the states read from the predicted and the true
    horizon frames.
    """

    pred_xy: np.ndarray
    pred_vis: np.ndarray
    true_xy: np.ndarray
    true_vis: np.ndarray
    true_states: np.ndarray
    valid: np.ndarray
    inradius: np.ndarray
    mass: np.ndarray
    ppm: np.ndarray
    fps: np.ndarray
    gravity: np.ndarray
    view: np.ndarray
    ensemble_xy: np.ndarray
    pred: ObjectStates
    true_frames: ObjectStates

    @property
    def horizon(self) -> int:
        return self.pred_xy.shape[1] - LEAD

    @property
    def measured(self) -> np.ndarray:
        """``(B, LEAD + T, N)``: the predicted object is seen and has a centroid."""
        return (self.pred_vis >= SEEN) & ~np.isnan(self.pred_xy[..., 0])

    @property
    def whole(self) -> np.ndarray:
        """``(B, LEAD + T, N)``: the predicted object is (nearly) wholly visible, with a centroid."""
        return (self.pred_vis >= WHOLE) & ~np.isnan(self.pred_xy[..., 0])


def _np(x: torch.Tensor) -> np.ndarray:
    return x.detach().double().cpu().numpy()


def read_states(frames: torch.Tensor, truth: Truth) -> ObjectStates:
    """Object states of a batch's frames: a prediction's with its global photometric
    change and translation against the true future undone first (:func:`aligned`)."""
    if frames is not truth.context:
        frames = aligned(frames, truth)
    return extract_states(frames, truth.episodes)


def build_tracks(pred: torch.Tensor, truth: Truth) -> Tracks:
    """Tracks of a batch of predictions ``(B, T, 3, H, W)`` against the truth."""
    episodes = truth.episodes
    b, t = pred.shape[:2]
    width = pred.shape[-1]
    for episode in episodes:
        if episode.resolution[1] != width or truth.context.shape[1] < LEAD:
            raise WmbenchError(f"episode {episode.key}: physics metrics need frames at the episode's "
                               f"resolution {episode.resolution[1]} px and at least {LEAD} context frames "
                               f"(got {width} px, {truth.context.shape[1]} context frames)")
    pred_states, context_states, true_frames = (
        truth.memo("object_states", frames, partial(read_states, frames, truth))
        for frames in (pred, truth.context, truth.frames))
    n = pred_states.area.shape[2]
    shape = (b, LEAD + t, n)
    true_xy, true_vis = np.full(shape + (2,), np.nan), np.full(shape, np.nan)
    true_states = np.full(shape + (6,), np.nan)
    inradius, mass = np.full((b, n), np.nan), np.full((b, n), np.nan)
    members = min(len(e.ensemble) for e in episodes)
    ensemble_xy = np.full((b, max(members, 1), LEAD + t, n, 2), np.nan)
    for i, episode in enumerate(episodes):
        k, start = len(episode.objects), episode.context - LEAD
        for m, member in enumerate(episode.ensemble[:members]):
            ensemble_xy[i, m, :, :k] = member.pixels[start : episode.context + t]
        true_xy[i, :, :k] = episode.truth.pixels[start : episode.context + t]
        true_vis[i, :, :k] = episode.truth.visibility[start : episode.context + t]
        true_states[i, :, :k] = episode.truth.states[start : episode.context + t]
        inradius[i, :k] = [inradius_pixels(o, scale_of(episode).ppm) for o in episode.objects]
        mass[i, :k] = [o.mass for o in episode.objects]
    pred_xy = np.concatenate([_np(context_states.centroid[:, -LEAD:]), _np(pred_states.centroid)], 1)
    pred_vis = np.concatenate([_np(context_states.visibility[:, -LEAD:]), _np(pred_states.visibility)], 1)
    return Tracks(
        pred_xy=pred_xy, pred_vis=pred_vis, true_xy=true_xy, true_vis=true_vis, true_states=true_states,
        valid=pred_states.valid.cpu().numpy(), inradius=inradius, mass=mass,
        ppm=np.array([scale_of(e).ppm for e in episodes], float), fps=np.array([e.fps for e in episodes], float),
        gravity=np.array([scale_of(e).gravity for e in episodes], float), view=np.full(b, float(width)),
        ensemble_xy=ensemble_xy, pred=pred_states, true_frames=true_frames,
    )
