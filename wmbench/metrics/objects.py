"""Object states from frames: each object's soft mask, centroid, area, shape and visibility.

Every object has a known flat colour (its rotation mark is the same colour darkened
by :data:`~wmbench.worlds.render.MARK_DARKEN`), so any predicted frame can be read
back into object states. Each pixel ``x`` (RGB in ``[0, 1]``) is softly assigned to
the prototype colours ``c_k`` (background, scenery, occluder, every object's colour
and mark colour) and to an "other" class at distance :data:`OTHER_DISTANCE`:

    p_k(x) = softmax_k(-|x - c_k|^2 / TEMPERATURE)

(logits more than 80 below a pixel's largest are raised to that floor: it changes a
probability by less than ``e^-80``).

An object's mask is the sum of the probabilities of its colour and its mark colour.
A global colour shift is compensated: the mean residual of the pixels assigned to the
background in a first pass is, when it exceeds :data:`SHIFT_TOLERANCE` on a channel,
subtracted from the frame before a second pass.
From the mask ``m`` (pixel centres at integer coordinates, x right, y down):

* ``area = sum m`` (pixels), ``fraction = area / full area`` (the object's known area
  in pixels, from its shape and the pixels per metre), ``visibility`` = ``fraction``
  clipped to ``[0, 1]``;
* ``centroid = sum m * (u, v) / area`` (pixels);
* ``radii``: square roots of the eigenvalues (major, minor) of the mask's second
  central moments (pixels); invariant under rotation, so constant for a rigid body.

Everything is vectorised over batch, time, objects and pixels in torch, on the
frames' device.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from wmbench.worlds.episode import Episode, ObjectSpec
from wmbench.worlds.meta import scale_of
from wmbench.worlds.render import BACKGROUND, MARK_DARKEN, OCCLUDER, SCENERY

#: Softmax temperature on squared RGB distances (0-1 scale).
TEMPERATURE = 0.01
#: A pixel farther than this (RGB, 0-1 scale) from every prototype is "other".
OTHER_DISTANCE = 0.3
#: Below this mask area (pixels) an object is not measured (no centroid or shape).
MIN_AREA = 2.0
#: Pixels (over the batch) assigned at once, at least one frame of each episode: the class
#: probabilities of a chunk stay in the CPU's cache and memory stays bounded.
CHUNK_PIXELS = 1 << 16
#: A global colour shift (per channel, 0-1 scale) below this is not compensated.
SHIFT_TOLERANCE = 0.01
#: Colour of padding prototypes (batches with different object counts): never the nearest.
_PADDING = 100.0
#: Logits (relative to a pixel's largest) are clipped at minus this before ``exp``.
_LOGIT_FLOOR = 80.0

#: The scene's own colours, the first prototypes: background, scenery, occluder.
SCENE_COLOURS = (BACKGROUND, SCENERY, OCCLUDER)


@dataclass
class ObjectStates:
    """States read from frames ``(B, T, ...)`` for ``N`` object slots (padded per batch).

    ``area``, ``fraction``, ``visibility``: ``(B, T, N)``; ``centroid``, ``radii``:
    ``(B, T, N, 2)`` (NaN where ``area < MIN_AREA``); ``valid``: ``(B, N)``, False for
    padding slots; ``full_area``: ``(B, N)`` pixels; ``masks``: ``(B, T, N, H, W)``.
    """

    area: torch.Tensor
    fraction: torch.Tensor
    centroid: torch.Tensor
    radii: torch.Tensor
    full_area: torch.Tensor
    valid: torch.Tensor
    masks: torch.Tensor

    @property
    def visibility(self) -> torch.Tensor:
        return self.fraction.clamp(0.0, 1.0)


def full_area_pixels(obj: ObjectSpec, ppm: float) -> float:
    """An object's area in pixels when fully visible: ``pi r^2`` or the polygon's area, times ppm^2."""
    if obj.shape == "circle":
        return float(np.pi * (obj.size[0] * ppm) ** 2)
    v = np.asarray(obj.vertices, dtype=np.float64)
    area = 0.5 * abs(np.dot(v[:, 0], np.roll(v[:, 1], -1)) - np.dot(v[:, 1], np.roll(v[:, 0], -1)))
    return float(area * ppm**2)


def inradius_pixels(obj: ObjectSpec, ppm: float) -> float:
    """Radius of the largest disc about the body origin inside the object, in pixels."""
    if obj.shape == "circle":
        return float(obj.size[0] * ppm)
    v = np.asarray(obj.vertices, dtype=np.float64)
    edges = np.roll(v, -1, axis=0) - v
    cross = np.abs(v[:, 0] * edges[:, 1] - v[:, 1] * edges[:, 0])
    return float((cross / np.linalg.norm(edges, axis=1)).min() * ppm)


def prototypes(object_colours: list[list[tuple[int, int, int]]], device: torch.device) -> tuple[torch.Tensor, int]:
    """Prototype colours ``(B, K, 3)`` (0-1 scale) and ``N`` for each batch item's object
    colours: the scene colours (:data:`SCENE_COLOURS`), then ``N`` object colours, then
    ``N`` mark colours (padding slots far outside the colour cube)."""
    n = max((len(c) for c in object_colours), default=0)
    s = len(SCENE_COLOURS)
    colours = np.full((len(object_colours), s + 2 * n, 3), _PADDING, np.float32)
    colours[:, :s] = np.asarray(SCENE_COLOURS, np.float32) / 255.0
    for b, item in enumerate(object_colours):
        for k, colour in enumerate(item):
            rgb = np.asarray(colour, np.float32)
            colours[b, s + k] = rgb / 255.0
            colours[b, s + n + k] = np.floor(rgb * MARK_DARKEN) / 255.0
    return torch.from_numpy(colours).to(device), n


def _assign(x: torch.Tensor, colours: torch.Tensor) -> torch.Tensor:
    """Soft assignment ``(B, t, K + 1, P)`` of pixels ``(B, t, 3, P)``; the last class is
    "other". ``|x|^2`` is common to all colour classes, so it only enters the "other" logit."""
    b, t, _, n = x.shape
    k = colours.shape[1]
    logits = torch.empty(b, t, k + 1, n, dtype=x.dtype, device=x.device)
    torch.matmul(colours[:, None] * (2 / TEMPERATURE), x, out=logits[:, :, :k])
    logits[:, :, :k].sub_((colours.pow(2).sum(2) / TEMPERATURE)[:, None, :, None])
    torch.sum(x * x, 2, out=logits[:, :, k]).sub_(OTHER_DISTANCE**2).div_(TEMPERATURE)
    # below exp(-80) a probability is 0 for every purpose, and exp is slow on underflow
    p = logits.sub_(logits.amax(2, keepdim=True)).clamp_(min=-_LOGIT_FLOOR).exp_()
    return p.div_(p.sum(2, keepdim=True))


def _classify(x: torch.Tensor, colours: torch.Tensor) -> torch.Tensor:
    """:func:`_assign` of pixels ``(B, t, 3, P)``, with a global colour shift compensated."""
    p = _assign(x, colours)
    # sum_P w (x - C^T p) with w the background probability, as two matrix-vector products
    weight = p[:, :, :1].transpose(2, 3)
    residual = (x @ weight).squeeze(3) - torch.einsum("btk,bkc->btc", (p[:, :, :-1] @ weight).squeeze(3), colours)
    shift = residual / weight.sum(2).clamp_min(1.0)
    if shift.abs().max() > SHIFT_TOLERANCE:
        p = _assign(x - shift[..., None], colours)
    return p


def colour_classes(frames: torch.Tensor, colours: torch.Tensor) -> torch.Tensor:
    """Soft assignment ``(B, T, K + 1, H, W)`` of every pixel of frames ``(B, T, 3, H, W)``
    to the prototype colours ``(B, K, 3)`` (see :func:`prototypes`) and "other" (last)."""
    b, t, _, h, w = frames.shape
    return _classify(frames.float().flatten(3), colours).view(b, t, -1, h, w)


def object_masks(frames: torch.Tensor, episodes: list[Episode]) -> torch.Tensor:
    """Soft masks ``(B, T, N, H, W)`` in ``[0, 1]`` of every object in frames ``(B, T, 3, H, W)``."""
    colours, n = prototypes([[o.colour for o in e.objects] for e in episodes], frames.device)
    s = len(SCENE_COLOURS)
    b, t, _, h, w = frames.shape
    step, out = max(1, CHUNK_PIXELS // (b * h * w)), []
    for start in range(0, t, step):
        p = _classify(frames[:, start : start + step].float().flatten(3), colours)
        out.append(p[:, :, s : s + n] + p[:, :, s + n : s + 2 * n])
    return torch.cat(out, 1).view(b, t, n, h, w)


def extract_states(frames: torch.Tensor, episodes: list[Episode]) -> ObjectStates:
    """Object states from frames ``(B, T, 3, H, W)`` in ``[0, 1]`` (see the module docstring)."""
    b, w = frames.shape[0], frames.shape[-1]
    masks = object_masks(frames, episodes)
    n = masks.shape[2]
    full = torch.ones(b, n, dtype=torch.float32, device=frames.device)
    valid = torch.zeros(b, n, dtype=torch.bool, device=frames.device)
    for i, episode in enumerate(episodes):
        for k, obj in enumerate(episode.objects):
            full[i, k] = full_area_pixels(obj, scale_of(episode).ppm * w / episode.resolution[1])
            valid[i, k] = True
    return mask_states(masks, full, valid)


def mask_states(masks: torch.Tensor, full: torch.Tensor, valid: torch.Tensor) -> ObjectStates:
    """Object states from soft masks ``(B, T, N, H, W)``, the objects' full areas
    ``(B, N)`` (pixels) and which slots are real objects ``(B, N)``."""
    h, w = masks.shape[-2:]
    device = masks.device
    u = torch.arange(w, device=device, dtype=torch.float32)
    v = torch.arange(h, device=device, dtype=torch.float32)
    cols, rows = masks.sum(3), masks.sum(4)  # marginals over rows (..., W) and columns (..., H)
    area = cols.sum(-1)
    safe = area.clamp_min(1e-6)
    cu, cv = (cols @ u) / safe, (rows @ v) / safe
    suu = (cols @ (u * u)) / safe - cu * cu
    svv = (rows @ (v * v)) / safe - cv * cv
    suv = ((masks @ u) @ v) / safe - cu * cv
    half_trace, det = (suu + svv) / 2, suu * svv - suv * suv
    root = (half_trace**2 - det).clamp_min(0).sqrt()
    radii = torch.stack([(half_trace + root).clamp_min(0).sqrt(), (half_trace - root).clamp_min(0).sqrt()], -1)
    measured = (area >= MIN_AREA) & valid[:, None]
    nan = torch.tensor(float("nan"), device=device)
    centroid = torch.where(measured[..., None], torch.stack([cu, cv], -1), nan)
    radii = torch.where(measured[..., None], radii, nan)
    area = torch.where(valid[:, None], area, nan)
    return ObjectStates(area=area, fraction=area / full[:, None], centroid=centroid, radii=radii,
                        full_area=full, valid=valid, masks=masks)
