"""Object states from frames: each object's soft mask, centroid, area, shape and visibility.

Every object has a known flat colour (its rotation mark is the same colour darkened
by :data:`~wmbench.worlds.render.MARK_DARKEN`), so any predicted frame can be read
back into object states (the physics metrics first undo a global change of brightness,
contrast or colour and a global translation: :func:`wmbench.metrics.alignment.aligned`). Each pixel ``x`` (RGB
in ``[0, 1]``) is explained as a mixture of two palette colours ``a`` and ``b``
(the scene's background, scenery and occluder colours, every object's colour and its
mark colour), ``x ~ (1 - alpha) a + alpha b`` with ``alpha`` the projection of ``x`` on
the segment from ``a`` to ``b`` clipped to ``[0, 1]``: anti-aliased edges, blur and
resizing mix colours linearly, so the mixing weights keep an object's area. The pairs
are: two scene colours, a scene colour and an object's colour or mark colour, and an
object's colour and its mark colour (not two objects' colours: complementary colours
mix to the scene's greys). Within :data:`DEAD_ZONE` of either end a pixel counts as
that end's colour (``alpha`` rescaled from the zone's edges to 0 and 1). Each pair ``h`` is weighted by
``softmax_h(-r_h^2 / TEMPERATURE)`` of its residual ``r_h = |x - (1 - alpha) a - alpha b|``,
beside an "other" hypothesis with residual :data:`OTHER_DISTANCE`. An object's mask
``m`` is the sum over pairs of the weight times the object's share of the mixture
(``alpha`` at the ``b`` end, ``1 - alpha`` at the ``a`` end, 1 for its colour and mark).
Shares below :data:`MIN_SHARE` are set to 0, and so is the mask beyond twice the object's
circumradius (plus :data:`REACH_MARGIN`) from the centroid of a first reading, itself
kept that far from where the mask is densest (the centre of its heaviest 3x3 window:
compression ringing scattered over the frame outweighs a small object in a centroid,
not in a window; the first of equal windows, at a large object's top left, would leave
the window lopsided).
From the mask (pixel centres at integer coordinates, x right, y down):

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
import torch.nn.functional as F

from wmbench.metrics.photometry import LOGIT_FLOOR, OTHER_DISTANCE, SCENE_COLOURS, palette
from wmbench.worlds.episode import Episode, ObjectSpec
from wmbench.worlds.meta import scale_of

#: Softmax temperature on the pairs' squared residuals (0-1 scale): a residual of 4 grey
#: levels weighs ``1/e`` of an exact mixture.
TEMPERATURE = (4 / 255) ** 2
#: Within this RGB distance (0-1 scale) of either end of a pair a pixel counts as that
#: end's colour: faint noise, textured backdrops and compression ringing add no mass.
DEAD_ZONE = 0.08
#: A pixel's share of an object below this is left out of its mask: the soft weights of
#: rival hypotheses (a floor's anti-aliased edge half-explained by an object's colour)
#: spread such crumbs over whole edges far from the object and skew its moments.
MIN_SHARE = 0.05
#: Pixels beyond twice its circumradius, plus this many, from where an object's mask is
#: densest (for a first reading), then from that reading's centroid, are left out of its
#: mask: faint noise or compression ringing that happens to match the object's colour
#: far away would otherwise skew its centroid and moments.
REACH_MARGIN = 2.0
#: Masks are summed over windows in units of 1/QUANTUM: integer sums are exact and the
#: first of equal windows wins, on every machine.
QUANTUM = 4096
#: Below this mask area (pixels) an object is not measured (no centroid or shape).
MIN_AREA = 2.0
#: Pixels (over the batch) unmixed at once, at least one frame of each episode: the
#: hypotheses of a chunk stay in the CPU's cache and memory stays bounded.
CHUNK_PIXELS = 1 << 15


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


def circumradius_pixels(obj: ObjectSpec, ppm: float) -> float:
    """Radius of the smallest disc about the body origin that holds the object, in pixels."""
    if obj.shape == "circle":
        return float(obj.size[0] * ppm)
    return float(np.hypot(*np.asarray(obj.vertices, dtype=np.float64).T).max() * ppm)


def mixture_pairs(n: int) -> tuple[list[tuple[int, int]], np.ndarray, np.ndarray]:
    """The palette pairs ``(a, b)`` of :func:`palette` indices for ``n`` objects, and per
    pair and object ``(H, n)`` whether the object is at the ``a`` end and at the ``b`` end."""
    s = len(SCENE_COLOURS)
    owner = {s + k: k for k in range(n)} | {s + n + k: k for k in range(n)}
    pairs = [(i, j) for i in range(s) for j in range(i + 1, s)]
    pairs += [(i, s + k) for i in range(s) for k in range(n)] + [(i, s + n + k) for i in range(s) for k in range(n)]
    pairs += [(s + k, s + n + k) for k in range(n)]
    at_a, at_b = np.zeros((len(pairs), n), np.float32), np.zeros((len(pairs), n), np.float32)
    for h, (a, b) in enumerate(pairs):
        if a in owner:
            at_a[h, owner[a]] = 1.0
        if b in owner:
            at_b[h, owner[b]] = 1.0
    return pairs, at_a, at_b


def _unmix(
    x: torch.Tensor,
    start: torch.Tensor,
    end: torch.Tensor,
    usable: torch.Tensor,
    at_a: torch.Tensor,
    at_b: torch.Tensor,
) -> torch.Tensor:
    """Object masks ``(B, t, N, P)`` of pixels ``(B, t, 3, P)`` from the pairs' end colours
    ``(B, H, 3)`` (``usable`` ``(B, H)``: both ends are real palette colours)."""
    d = end - start
    dd = d.pow(2).sum(-1).clamp_min(1e-12)[:, None, :, None]
    xd = (d[:, None] @ x).sub_((start * d).sum(-1)[:, None, :, None])  # (x - a) . d
    alpha = (xd / dd).clamp_(0.0, 1.0)
    xa = (x * x).sum(2, keepdim=True) - 2 * (start[:, None] @ x) + start.pow(2).sum(-1)[:, None, :, None]
    logits = xa.sub_(alpha * (2 * xd - alpha * dd)).div_(-TEMPERATURE)  # -|x - a - alpha d|^2 / T
    logits.masked_fill_(~usable[:, None, :, None], -torch.inf)
    other = torch.full_like(logits[:, :, :1], -(OTHER_DISTANCE**2) / TEMPERATURE)
    logits = torch.cat([logits, other], 2)
    w = logits.sub_(logits.amax(2, keepdim=True)).clamp_(min=-LOGIT_FLOOR).exp_()
    w = w.div_(w.sum(2, keepdim=True))[:, :, :-1]
    # within DEAD_ZONE of either end a pixel is that end's colour (noise, texture, ringing)
    length = dd.sqrt()
    alpha = (alpha * length - DEAD_ZONE).div_((length - 2 * DEAD_ZONE).clamp_min(1e-6)).clamp_(0.0, 1.0)
    b_share = w * alpha
    return (at_b.T @ b_share).add_(at_a.T @ (w - b_share))


def object_masks(frames: torch.Tensor, episodes: list[Episode]) -> torch.Tensor:
    """Soft masks ``(B, T, N, H, W)`` in ``[0, 1]`` of every object in frames ``(B, T, 3, H, W)``."""
    colours, n = palette([[o.colour for o in e.objects] for e in episodes], frames.device)
    pairs, at_a, at_b = mixture_pairs(n)
    index_a, index_b = [a for a, _ in pairs], [b for _, b in pairs]
    start, end = colours[:, index_a], colours[:, index_b]
    real = colours[..., 0] < 2.0  # padding entries lie far outside the colour cube
    usable = real[:, index_a] & real[:, index_b]
    a_side, b_side = torch.from_numpy(at_a).to(frames.device), torch.from_numpy(at_b).to(frames.device)
    b, t, _, h, w = frames.shape
    step, out = max(1, CHUNK_PIXELS // (b * h * w)), []
    for first in range(0, t, step):
        x = frames[:, first : first + step].float().flatten(3)
        share = _unmix(x, start, end, usable, a_side, b_side).clamp_(0.0, 1.0)
        out.append(share.masked_fill_(share < MIN_SHARE, 0.0))
    return torch.cat(out, 1).view(b, t, n, h, w)


def extract_states(frames: torch.Tensor, episodes: list[Episode]) -> ObjectStates:
    """Object states from frames ``(B, T, 3, H, W)`` in ``[0, 1]`` (see the module docstring)."""
    b, w = frames.shape[0], frames.shape[-1]
    masks = object_masks(frames, episodes)
    n = masks.shape[2]
    full = torch.ones(b, n, dtype=torch.float32, device=frames.device)
    reach = torch.zeros(b, n, dtype=torch.float32, device=frames.device)
    valid = torch.zeros(b, n, dtype=torch.bool, device=frames.device)
    for i, episode in enumerate(episodes):
        ppm = scale_of(episode).ppm * w / episode.resolution[1]
        for k, obj in enumerate(episode.objects):
            full[i, k] = full_area_pixels(obj, ppm)
            reach[i, k] = 2 * circumradius_pixels(obj, ppm) + REACH_MARGIN
            valid[i, k] = True
    first = mask_states(within(masks, densest_points(masks), reach), full, valid)
    return mask_states(within(masks, first.centroid, reach), full, valid)


def densest_points(masks: torch.Tensor) -> torch.Tensor:
    """``(B, T, N, 2)`` pixel ``(u, v)`` at the centre of each mask's heaviest 3x3 window
    (masks ``(B, T, N, H, W)``); NaN where the mask is empty."""
    h, w = masks.shape[-2:]
    q = F.pad(torch.round(masks * QUANTUM).to(torch.int32), (1, 1, 1, 1))
    rows = q[..., :-2, :] + q[..., 1:-1, :] + q[..., 2:, :]
    window = (rows[..., :-2] + rows[..., 1:-1] + rows[..., 2:]).flatten(-2)
    heaviest, where = window.max(-1)
    point = torch.stack([where % w, where // w], -1).float()
    return torch.where((heaviest > 0)[..., None], point, torch.tensor(float("nan"), device=masks.device))


def within(masks: torch.Tensor, centre: torch.Tensor, reach: torch.Tensor) -> torch.Tensor:
    """Masks ``(B, T, N, H, W)`` kept within ``reach`` ``(B, N)`` pixels of ``centre``
    ``(B, T, N, 2)``; whole where the centre is unknown (NaN)."""
    h, w = masks.shape[-2:]
    du = torch.arange(w, device=masks.device, dtype=torch.float32) - centre[..., :1]  # (B, T, N, W)
    dv = torch.arange(h, device=masks.device, dtype=torch.float32) - centre[..., 1:]  # (B, T, N, H)
    near = dv[..., :, None].square() + du[..., None, :].square() <= reach[:, None, :, None, None].square()
    return torch.where(near | centre[..., :1].isnan()[..., None], masks, 0.0)


#: Image rows weighted at once by :func:`weighted_row_sums` (a 2 MB buffer at 128 px).
ROWS_AT_ONCE = 4096


def weighted_row_sums(x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """``(x * weights).sum(-1)`` for ``x`` ``(..., W)`` and ``weights`` ``(W,)``, each row
    summed on its own (the same numbers whatever the other dimensions, unlike a matrix
    product), through one reused buffer rather than a temporary as large as ``x``."""
    flat = x.reshape(-1, x.shape[-1])
    out = torch.empty(flat.shape[0], dtype=x.dtype, device=x.device)
    buffer = torch.empty(min(ROWS_AT_ONCE, flat.shape[0]), x.shape[-1], dtype=x.dtype, device=x.device)
    for start in range(0, flat.shape[0], ROWS_AT_ONCE):
        rows = flat[start : start + ROWS_AT_ONCE]
        out[start : start + len(rows)] = torch.mul(rows, weights, out=buffer[: len(rows)]).sum(1)
    return out.view(x.shape[:-1])


def mask_states(masks: torch.Tensor, full: torch.Tensor, valid: torch.Tensor) -> ObjectStates:
    """Object states from soft masks ``(B, T, N, H, W)``, the objects' full areas
    ``(B, N)`` (pixels) and which slots are real objects ``(B, N)``.

    The moments do not depend on the batch an episode is scored in: the masks' sums over
    rows, over columns and of ``mask * u`` along each row are float32 reductions over one
    image axis (the same order whatever the other dimensions), and everything after them
    is float64 on those sums, where the products with pixel indices and their sums are
    exact. (A float32 matrix product here rounded differently with the batch's shape.)"""
    h, w = masks.shape[-2:]
    device = masks.device
    u = torch.arange(w, device=device, dtype=torch.float64)
    v = torch.arange(h, device=device, dtype=torch.float64)
    cols, rows = masks.sum(3).double(), masks.sum(4).double()  # marginals over rows (..., W), columns (..., H)
    row_u = weighted_row_sums(masks, u.float()).double()  # sum of mask * u along each row (..., H)
    area = cols.sum(-1)
    safe = area.clamp_min(1e-6)
    cu, cv = (cols * u).sum(-1) / safe, (rows * v).sum(-1) / safe
    suu = (cols * u * u).sum(-1) / safe - cu * cu
    svv = (rows * v * v).sum(-1) / safe - cv * cv
    suv = (row_u * v).sum(-1) / safe - cu * cv
    half_trace, det = (suu + svv) / 2, suu * svv - suv * suv
    root = (half_trace**2 - det).clamp_min(0).sqrt()
    radii = torch.stack([(half_trace + root).clamp_min(0).sqrt(), (half_trace - root).clamp_min(0).sqrt()], -1)
    measured = (area >= MIN_AREA) & valid[:, None]
    nan = torch.tensor(float("nan"), device=device)
    centroid = torch.where(measured[..., None], torch.stack([cu, cv], -1), nan).float()
    radii = torch.where(measured[..., None], radii, nan).float()
    area = torch.where(valid[:, None], area, nan).float()
    return ObjectStates(
        area=area,
        fraction=area / full[:, None],
        centroid=centroid,
        radii=radii,
        full_area=full,
        valid=valid,
        masks=masks,
    )
