"""Geometric calibration: a prediction's global translation undone before the physics
metrics read it, as :mod:`~wmbench.metrics.photometry` undoes its global change of
intensities (a camera shaken by a pixel or two moves no object in the world).

The reference is the true future's static scene pixels that can tell a translation:
those whose 8-bit levels never change over the horizon, within :data:`REACH` pixels of
an edge of its first frame, at least as far from the border and away from every
object's true place in the horizon (a resting object is no reference: a prediction may
rightly put it elsewhere, and a floor's edge alone cannot tell a sideways shift). For every
integer translation ``(dx, dy)`` with ``|dx|, |dy| <= REACH`` the prediction's levels,
summed over its frames and translated, are compared with ``T`` times the true levels
there: the sum of absolute differences over those pixels and channels, in integers
(the same on every machine). The translation with the least difference is undone
(the frames read at ``(u + dx, v + dy)``, borders replicated) when it at most halves
the difference of none and that difference is beyond :data:`NOISE_LEVELS` per pixel,
channel and frame; of equal differences the smaller translation wins. A prediction
with fewer than :data:`MIN_PIXELS` such pixels to compare (a moving camera), or whose
static pixels already match best untranslated, is returned as it is, bit for bit. One
translation per predicted sequence: a picture that jumps from frame to frame is left
for the coherence metrics to see.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F

from wmbench.metrics.base import Truth
from wmbench.metrics.objects import circumradius_pixels
from wmbench.metrics.photometry import calibrated
from wmbench.worlds.episode import Episode
from wmbench.worlds.meta import scale_of

#: The largest translation undone, in pixels along each axis.
REACH = 2
#: Fewer static edge pixels than this tell no translation (a moving camera, a few specks).
MIN_PIXELS = 64
#: A mismatch of the static edge pixels at no translation below this many 8-bit levels
#: (mean per pixel, channel and frame) is left as it is: an object the truth never shows
#: there, not a shaken picture (which misses by 1.8-17 levels on the core tasks).
NOISE_LEVELS = 1.0
#: Translations tried, the smaller first (ties go to the first).
OFFSETS = sorted(
    ((dx, dy) for dx in range(-REACH, REACH + 1) for dy in range(-REACH, REACH + 1)),
    key=lambda d: (abs(d[0]) + abs(d[1]), d),
)


def _levels(frames: torch.Tensor) -> torch.Tensor:
    return torch.round(frames.float() * 255).to(torch.int32)


def _objects_anywhere(episodes: list[Episode], horizon: int, h: int, w: int) -> torch.Tensor:
    """``(B, H, W)``: True within an object's circumradius plus :data:`REACH` + 1 pixels
    (a square around its true centre) in some frame of the horizon."""
    out = torch.zeros(len(episodes), h, w, dtype=torch.bool)
    for b, episode in enumerate(episodes):
        scale = w / episode.resolution[1]
        ppm = scale_of(episode).ppm * scale
        centres = episode.truth.pixels[episode.context : episode.context + horizon] * scale  # (T, N, 2)
        for k, obj in enumerate(episode.objects):
            reach = circumradius_pixels(obj, ppm) + REACH + 1
            for u, v in centres[:, k]:
                if np.isfinite(u) and np.isfinite(v):
                    top, left = max(0, math.floor(v - reach)), max(0, math.floor(u - reach))
                    out[b, top : math.ceil(v + reach) + 1, left : math.ceil(u + reach) + 1] = True
    return out


class StaticEdges(NamedTuple):
    """One sequence's reference: flat indices ``(K,)`` into ``H * W`` of its static edge
    pixels, their levels ``(3, K)``, and the flat indices of every pixel within
    :data:`REACH` of them (all that a translation compares them with)."""

    pixels: torch.Tensor
    levels: torch.Tensor
    around: torch.Tensor


def static_edges(reference: torch.Tensor, episodes: list[Episode]) -> list[StaticEdges]:
    """Per sequence of ``reference`` ``(B, T, 3, H, W)`` in ``[0, 1]`` (the true future of
    ``episodes``), the static pixels of the scene that can tell a translation: within
    :data:`REACH` of an edge of the first frame, at least as far from the border and
    away from every object. (Pixels farther from every edge match any translation
    alike; an object at rest is no reference: a prediction may rightly put it elsewhere.)"""
    r, (t, _, h, w) = REACH, reference.shape[1:]
    true = _levels(reference)
    first = true[:, 0]
    static = (true.amax(1) == true.amin(1)).all(1)  # (B, H, W)
    edge = torch.zeros_like(static)
    edge[:, :, 1:] |= (first[..., 1:] != first[..., :-1]).any(1)
    edge[:, 1:, :] |= (first[..., 1:, :] != first[..., :-1, :]).any(1)
    inner = torch.zeros_like(static)
    inner[:, r : h - r, r : w - r] = True
    scene = ~_objects_anywhere(episodes, t, h, w).to(static.device)
    keep = static & _within_reach(edge) & inner & scene
    out = []
    for kept, around, levels in zip(keep, _within_reach(keep), first):
        index = kept.flatten().nonzero()[:, 0]
        out.append(StaticEdges(index, levels.flatten(1)[:, index].long(), around.flatten().nonzero()[:, 0]))
    return out


def _within_reach(mask: torch.Tensor) -> torch.Tensor:
    """``(B, H, W)``: True within :data:`REACH` pixels (a square) of a True pixel of ``mask``."""
    return F.max_pool2d(mask[:, None].float(), 2 * REACH + 1, 1, REACH)[:, 0] > 0


def translations(frames: torch.Tensor, reference: list[StaticEdges]) -> list[tuple[int, int]]:
    """Per sequence of ``frames`` ``(B, T, 3, H, W)`` in ``[0, 1]``, the translation
    ``(dx, dy)`` (pixels) that maps the :func:`static_edges` ``reference`` onto them;
    ``(0, 0)`` where none clearly does (see the module docstring). Only the pixels a
    translation compares are read."""
    t, w = frames.shape[1], frames.shape[-1]
    out = []
    for sequence, (pixels, levels, around) in zip(frames.flatten(3), reference):
        if len(pixels) < MIN_PIXELS:
            out.append((0, 0))
            continue
        summed = torch.zeros(sequence.shape[1:], dtype=torch.int64, device=frames.device)  # (3, H * W)
        summed[:, around] = _levels(sequence[:, :, around]).sum(0, dtype=torch.int64)  # exact
        costs = torch.stack([(summed[:, pixels + dy * w + dx] - t * levels).abs().sum() for dx, dy in OFFSETS])
        best = int(costs.argmin())  # the first of equal costs: OFFSETS[0] is (0, 0)
        shaken = costs[0] > NOISE_LEVELS * t * levels.numel() and 2 * costs[best] <= costs[0]
        out.append(OFFSETS[best] if shaken else (0, 0))
    return out


def translate(frames: torch.Tensor, offsets: list[tuple[int, int]]) -> torch.Tensor:
    """Frames ``(B, T, 3, H, W)`` read at ``(u + dx, v + dy)`` per sequence, borders
    replicated; the very same tensor when every offset is ``(0, 0)``."""
    if all(offset == (0, 0) for offset in offsets):
        return frames
    r, (b, t, c, h, w) = REACH, frames.shape
    padded = F.pad(frames.flatten(0, 1), (r, r, r, r), mode="replicate").view(b, t, c, h + 2 * r, w + 2 * r)
    return torch.stack([padded[i, :, :, r + y : r + y + h, r + x : r + x + w] for i, (x, y) in enumerate(offsets)])


def aligned(frames: torch.Tensor, truth: Truth) -> torch.Tensor:
    """``frames`` (a prediction of ``truth``'s batch, or its own frames) with their global
    photometric change (:func:`~wmbench.metrics.photometry.calibrated`, per frame) and then
    their global translation against the true future undone, once per tensor and batch."""

    def align() -> torch.Tensor:
        photometric = calibrated(frames, truth)
        if frames is truth.frames:
            return photometric
        reference = truth.memo("static_edges", truth.frames, lambda: static_edges(truth.frames, truth.episodes))
        return translate(photometric, translations(photometric, reference))

    return truth.memo("aligned", frames, align)
