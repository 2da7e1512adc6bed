"""Kinematics of object tracks: free fall, impacts, energy, overlaps and contact.

Pure functions on NumPy tracks (pixels, y down, unless a docstring says otherwise) and
torch masks, shared by the physical-plausibility metrics (:mod:`wmbench.metrics.physics`).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

#: Velocity change beyond gravity's, in units of ``g / fps``, that marks an impact ...
IMPACT_THRESHOLD = 5.0
#: ... and that is enough to match an impact on the other track (hysteresis against noise).
WEAK_IMPACT_THRESHOLD = 2.5
#: Without gravity in the picture (a table seen from above) contact timing takes this
#: acceleration (pixels per frame^2) as the unit instead, wherever it is larger: a weak
#: impact is then a change of velocity of 1.5 px per frame, beyond the reading's jitter.
LEAST_IMPACT_UNIT = 0.6
#: Energy is averaged over this many consecutive frame intervals before its rise is taken.
SMOOTH_INTERVALS = 3
#: True velocity change differing from free fall by less than this fraction of ``g / fps``.
FREE_FALL_TOLERANCE = 0.01


def free_fall_segments(states: np.ndarray, visible: np.ndarray, gravity: float, fps: float) -> list[np.ndarray]:
    """Runs of consecutive frames (indices into a ``(T, 6)`` state track) in free fall.

    A frame interval is free when the true velocity changes as gravity alone would
    (``dvx = 0``, ``dvy = -g / fps``, within ``FREE_FALL_TOLERANCE * g / fps``), i.e.
    nothing touches the object, and it is fully visible at both ends. (Spin is not
    checked: a ball's rolling resistance slows its spin in the air too.)
    """
    dv = np.diff(states[:, 3:5], axis=0) - np.array([0.0, -gravity / fps])
    free = (np.abs(dv).max(axis=1) < FREE_FALL_TOLERANCE * gravity / fps) & visible[:-1] & visible[1:]
    runs, start = [], None
    for i, ok in enumerate(np.append(free, False)):
        if ok and start is None:
            start = i
        elif not ok and start is not None:
            runs.append(np.arange(start, i + 1))
            start = None
    return runs


def fitted_acceleration(xy: np.ndarray, segments: list[np.ndarray]) -> np.ndarray | None:
    """Least-squares acceleration ``(ax, ay)`` in pixels/frame^2 shared by all segments
    (each with its own position and velocity) of a ``(T, 2)`` track; ``None`` if unfit."""
    segments = [s for s in segments if len(s) >= 3 and not np.isnan(xy[s]).any()]
    if not segments:
        return None
    rows = sum(len(s) for s in segments)
    design = np.zeros((rows, 2 * len(segments) + 1))
    target = np.zeros((rows, 2))
    r = 0
    for j, seg in enumerate(segments):
        tau = (seg - seg[0]).astype(float)
        design[r : r + len(seg), 2 * j] = 1.0
        design[r : r + len(seg), 2 * j + 1] = tau
        design[r : r + len(seg), -1] = 0.5 * tau**2
        target[r : r + len(seg)] = xy[seg]
        r += len(seg)
    coef, *_ = np.linalg.lstsq(design, target, rcond=None)
    return coef[-1]


def impact_steps(
    xy: np.ndarray,
    ok: np.ndarray,
    g: float,
    ppm: float,
    fps: float,
    threshold: float = IMPACT_THRESHOLD,
    least_unit: float = 0.0,
) -> np.ndarray:
    """Times (track indices) of the impacts in a ``(T, 2)`` pixel track.

    The velocity change at frame ``t`` is the second difference of the positions,
    ``(c(t+1) - 2 c(t) + c(t-1)) * fps / ppm`` (m/s, y up). Each run of frames where it
    differs from gravity's ``(0, -g / fps)`` by more than ``WEAK_IMPACT_THRESHOLD * u / fps``
    whose largest deviation exceeds ``threshold * u / fps`` is one impact, timed at that
    largest deviation's frame; the unit ``u = max(g, least_unit * fps^2 / ppm)``
    (``least_unit`` in pixels per frame^2).
    """
    dv = (xy[2:] - 2 * xy[1:-1] + xy[:-2]) * np.array([1.0, -1.0]) * fps / ppm
    usable = ok[2:] & ok[1:-1] & ok[:-2]
    deviation = np.nan_to_num(np.where(usable, np.linalg.norm(dv - np.array([0.0, -g / fps]), axis=-1), 0.0))
    unit = max(g, least_unit * fps**2 / ppm) / fps
    hit = deviation > min(threshold, WEAK_IMPACT_THRESHOLD) * unit
    times, start = [], None
    for i, on in enumerate(np.append(hit, False)):
        if on and start is None:
            start = i
        elif not on and start is not None:
            peak = start + int(np.argmax(deviation[start:i]))
            if deviation[peak] > threshold * unit:
                times.append(1 + peak)
            start = None
    return np.array(times, dtype=float)


def near_impacts(xy: np.ndarray, ok: np.ndarray, g: float, ppm: float, fps: float) -> np.ndarray:
    """``(T - 1,)`` bool: frame intervals that touch an impact (even a weak one) of any object's track."""
    near = np.zeros(len(xy) - 1, bool)
    for k in range(xy.shape[1]):
        for time in impact_steps(xy[:, k], ok[:, k], g, ppm, fps, WEAK_IMPACT_THRESHOLD):
            near[max(int(np.floor(time)) - 1, 0) : int(np.ceil(time)) + 1] = True
    return near


def energy_rise(
    xy: np.ndarray, ok: np.ndarray, skip: np.ndarray, mass: np.ndarray, g: float, ppm: float, fps: float
) -> float:
    """Largest rise ``max_{s<t} E(t) - E(s)`` of ``E = sum_k m_k (g y_k + |v_k|^2 / 2)``
    (J) over the frame intervals of positions ``xy (T, N, 2)`` in pixels (y down): ``v``
    is the interval's mean velocity and ``y`` its mean height (exact for free fall up to a
    constant). Intervals where an object is not ``ok`` or that are ``skip``ped (impacts,
    where the mean velocity misses the speed) are left out; the rest are averaged over
    ``SMOOTH_INTERVALS`` consecutive ones (measurement noise). NaN if fewer than
    ``SMOOTH_INTERVALS + 1`` remain."""
    metres = xy / ppm * np.array([1.0, -1.0])
    v = np.diff(metres, axis=0) * fps
    height = (metres[1:, :, 1] + metres[:-1, :, 1]) / 2
    e = (mass * (g * height + 0.5 * (v**2).sum(-1))).sum(-1)
    e = e[(ok[1:] & ok[:-1]).all(1) & ~skip]
    if len(e) < SMOOTH_INTERVALS + 1:
        return float("nan")
    e = np.convolve(e, np.full(SMOOTH_INTERVALS, 1.0 / SMOOTH_INTERVALS), mode="valid")
    return float((e - np.minimum.accumulate(e)).max())


def lens_area(d: np.ndarray, r1: np.ndarray, r2: np.ndarray) -> np.ndarray:
    """Overlap area of two discs with radii ``r1``, ``r2`` whose centres are ``d`` apart."""
    d = np.maximum(d, 1e-9)
    with np.errstate(invalid="ignore", divide="ignore"):  # a disc shrunk to radius 0
        a = r1**2 * np.arccos(np.clip((d**2 + r1**2 - r2**2) / (2 * d * r1), -1, 1))
        b = r2**2 * np.arccos(np.clip((d**2 + r2**2 - r1**2) / (2 * d * r2), -1, 1))
        c = 0.5 * np.sqrt(np.clip((-d + r1 + r2) * (d + r1 - r2) * (d - r1 + r2) * (d + r1 + r2), 0, None))
    lens = a + b - c
    lens = np.where(d >= r1 + r2, 0.0, lens)
    return np.where(d <= np.abs(r1 - r2), np.pi * np.minimum(r1, r2) ** 2, lens)


def mask_gaps(masks: torch.Tensor, most: int = 3) -> torch.Tensor:
    """``(B, N, N)`` int: the gap between objects' masks (> 0.5, ``(B, N, H, W)``), as the
    fewest pixels one must grow by (8-neighbourhood) to reach the other: 0 where they
    overlap, 1 where they touch, at most ``most``. A mask pixel none of whose 8 neighbours is
    in the same mask is left out: where two colours blend (an anti-aliased or blurred edge)
    a lone pixel can take a third object's colour, and it is no evidence of that object."""
    solid = (masks > 0.5).float()
    neighbours = F.avg_pool2d(solid, 3, stride=1, padding=1, divisor_override=1) - solid
    solid = solid * (neighbours > 0)
    gaps = torch.full(masks.shape[:2] + masks.shape[1:2], most, dtype=torch.long, device=masks.device)
    for reach in reversed(range(most)):
        grown = F.max_pool2d(solid, 2 * reach + 1, stride=1, padding=reach) if reach else solid
        gaps[torch.einsum("bihw,bjhw->bij", grown, solid) > 0] = reach
    return gaps


def nearest(step: float, others: np.ndarray, default: int) -> float:
    return float(np.abs(others - step).min()) if len(others) else float(default)


def contact_normals(masks: torch.Tensor, solids: torch.Tensor, reach: int | np.ndarray, band: int = 2) -> np.ndarray:
    """``(B, T, N, 2, 2)`` unit contact normals (pixels, y down) of objects whose masks
    (> 0.5, ``(B, T, N, H, W)``) come within ``reach`` pixels (one for all, or one per
    object and frame, ``(B, T, N)`` integers) of static solids (``(B, H, W)`` bool; entry
    ``[..., 0, :]``) or of other objects (``[..., 1, :]``): from the mean of the touched
    pixels to the object's centroid (a ball on a floor: straight up). Touched are those
    within ``band`` pixels of the nearest distance at which anything of that kind is
    (a ball in a corner, nearer the wall: the wall's normal). NaN where nothing of that
    kind is touched."""
    b, t, n, h, w = masks.shape
    solid = (masks > 0.5).float()
    free = solid == 0
    kinds = torch.stack(
        [solids[:, None, None].expand_as(free) & free, (solid.sum(2, keepdim=True) - solid > 0) & free], 3
    ).float()  # (B, T, N, 2, H, W)
    reaches = torch.from_numpy(np.broadcast_to(np.asarray(reach, dtype=np.int64), (b, t, n)).copy()).to(solid.device)
    nearest = torch.full((b, t, n, 2), h + w, dtype=torch.int64, device=solid.device)  # nothing yet
    touched = torch.zeros_like(kinds)
    dilated = solid.reshape(b * t * n, 1, h, w)
    for r in range(1, int(reaches.max()) + 1):
        dilated = F.max_pool2d(dilated, 3, 1, 1)  # r times a 3 x 3 square: within r pixels
        grown = dilated.view(b, t, n, 1, h, w) * kinds
        hit = grown.sum((-2, -1)) > 0
        nearest = torch.where(hit, torch.clamp(nearest, max=r), nearest)
        counted = (r <= reaches[..., None]) & (r <= nearest + band)
        touched = torch.where(counted[..., None, None], grown, touched)
    ys = torch.arange(h, dtype=solid.dtype, device=solid.device).view(h, 1)
    xs = torch.arange(w, dtype=solid.dtype, device=solid.device).view(1, w)

    def mean_xy(weight: torch.Tensor) -> torch.Tensor:
        total = weight.sum((-2, -1)).clamp(min=1)[..., None]
        return torch.stack([(weight * xs).sum((-2, -1)), (weight * ys).sum((-2, -1))], -1) / total

    away = (mean_xy(solid)[:, :, :, None] - mean_xy(touched)).double().cpu().numpy()
    length = np.linalg.norm(away, axis=-1, keepdims=True)
    seen = (solid.sum((3, 4)) > 0)[..., None]
    contact = ((touched.sum((-2, -1)) > 0) & seen).cpu().numpy()[..., None] & (length > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(contact, away / length, np.nan)
