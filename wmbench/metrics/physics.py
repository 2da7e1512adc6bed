"""Physical plausibility of predicted frames, scored on the object states read from them.

Each metric reads object tracks (:mod:`wmbench.metrics.tracks`) from the predicted
frames and compares them with the true states and with the laws. Distances are in
pixels divided by the view width ``W`` (fraction of the view); times in frames.
Every metric returns NaN (missing) for an episode where it cannot be computed, never 0.
``catches`` names the self-test corruptions (:mod:`wmbench.validation.selftest`) the
metric must detect; ``margin`` is how much worse than the truth (in the metric's unit) a
corrupted future must score to count as detected. The laws (metrics with a
``violation_anchor``) are obeyed by a frozen world: they penalise their area's index
and give no credit (:mod:`wmbench.results.headline`).
"""

from __future__ import annotations

from typing import ClassVar, cast

import numpy as np
import torch
import torch.nn.functional as F

from wmbench.metrics.base import EpisodeMetric, Truth, register
from wmbench.metrics.kinematics import (
    LEAST_IMPACT_UNIT,
    WEAK_IMPACT_THRESHOLD,
    contact_normals,
    energy_rise,
    fitted_acceleration,
    free_fall_segments,
    impact_steps,
    lens_area,
    mask_gaps,
    near_impacts,
    nearest,
)
from wmbench.metrics.objects import within
from wmbench.metrics.tracks import FULL, GONE, HIDDEN, LEAD, SEEN, Tracks, build_tracks
from wmbench.worlds.meta import objects_collide
from wmbench.worlds.render import SCENERY

#: Scenery pixels: within this RGB distance (0-1 scale) of the scenery colour in a true frame.
SCENERY_TOLERANCE = 0.05
#: Trajectory errors are normalised on a log scale down to this (fraction of the view
#: width; half a pixel of a 100-pixel view): finer is the reading's own noise.
POSITION_FLOOR = 0.005
#: A size or shape change (log ratio) up to this is the reading's own (blur, compression).
RIGIDITY_TOLERANCE = 0.1
#: Interpenetration counts object mass at least this deep (pixels) inside static solids
#: (JPEG's chroma bleeds colours up to 2 pixels across an edge) ...
PENETRATION_DEPTH = 3
#: ... and overlaps of the objects' inscribed discs shrunk by this much (pixels).
DISC_SHRINK = 2
#: Width (pixels) of an object's rim that a contact's seam, blur or compression can add to
#: or take from its reading (JPEG at quality 75 reads an object of 5 px radius up to 15%
#: smaller): an area change up to ``RIM`` times the perimeter is the reading's own.
RIM = 0.5
#: Interpenetration up to this fraction of the objects' area is the reading's own: JPEG at
#: quality 75 leaves up to 1.1% at contacts and walls (through a wall reads 60% and more).
PENETRATION_TOLERANCE = 0.015
#: A jump up to this many pixels beyond the object's true top speed is the reading's own.
JUMP_TOLERANCE = 1.5
#: A change of velocity (pixels per frame) up to this beyond the truth's is the reading's own.
VELOCITY_TOLERANCE = 1.5
#: An object within this many pixels (plus its travel in a frame) of a static solid or
#: another object touches it.
CONTACT_REACH = 2
#: A contact's push changes an object's velocity along the surface by up to this times
#: itself (Coulomb friction: the worlds' coefficients combine to at most 0.8).
CONTACT_FRICTION = 1.0
#: An energy rise (fraction of ``m g H_view``) beyond the true frames' own reading up to
#: this is what blur or compression does to the reading's noise.
ENERGY_TOLERANCE = 0.01


class PhysicsMetric(EpisodeMetric):
    """A metric on object tracks: subclasses implement :meth:`from_tracks`."""

    area = "physics"
    catches: ClassVar[tuple[str, ...]] = ()
    margin: ClassVar[float]

    def score(self, pred: torch.Tensor, truth: Truth) -> torch.Tensor:
        return torch.as_tensor(self.from_tracks(build_tracks(pred, truth), truth), dtype=torch.float64)

    def from_tracks(self, tr: Tracks, truth: Truth) -> np.ndarray:
        raise NotImplementedError


def _nanmean(values: np.ndarray, mask: np.ndarray | np.bool_, axis: int | tuple[int, ...] | None = None) -> np.ndarray:
    """Mean of ``values`` where ``mask``; NaN where nothing is selected."""
    total = np.where(mask, values, 0.0).sum(axis=axis)
    count = mask.sum(axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def displacement(tr: Tracks) -> tuple[np.ndarray, np.ndarray]:
    """Per horizon step and object: ``(distance / W, scored)``, both ``(B, T, N)``.

    Scored where the true object is fully visible; a predicted object that is gone
    (visibility below ``GONE``) or unmeasurable counts as a distance of one view width.
    """
    pred, true = tr.pred_xy[:, LEAD:], tr.true_xy[:, LEAD:]
    dist = np.linalg.norm(pred - true, axis=-1) / tr.view[:, None, None]
    lost = (tr.pred_vis[:, LEAD:] < GONE) | np.isnan(dist)
    dist = np.where(lost, 1.0, np.minimum(dist, 1.0))
    scored = (tr.true_vis[:, LEAD:] >= FULL) & tr.valid[:, None]
    return dist, scored


@register
class TrajectoryADE(PhysicsMetric):
    """Average displacement error: ``mean_{t,k} min(|c_pred - c_true|, W) / W`` over horizon
    steps and objects where the true object is fully visible; a lost predicted object
    counts as ``W``. Unit: fraction of the view width; lower is better.
    :meth:`curve` gives the same mean per horizon step."""

    name, unit, higher_is_better = "trajectory_ade", "fraction of view width", False
    catches = ("gravity_reversed", "object_teleports", "frozen", "time_reversed", "object_vanishes", "through_walls")
    margin = 0.01
    log_floor = POSITION_FLOOR

    def from_tracks(self, tr: Tracks, truth: Truth) -> np.ndarray:
        dist, scored = displacement(tr)
        return _nanmean(dist, scored, axis=(1, 2))

    def curve(self, pred: torch.Tensor, truth: Truth) -> torch.Tensor:
        """Per horizon step ``(B, T)``: mean displacement over objects (NaN where none is scored)."""
        dist, scored = displacement(build_tracks(pred, truth))
        return torch.as_tensor(_nanmean(dist, scored, axis=2), dtype=torch.float64)


@register
class TrajectoryFDE(PhysicsMetric):
    """Final displacement error: per object, the displacement (as in ``trajectory_ade``)
    at the last horizon step where the true object is fully visible; mean over objects.
    Unit: fraction of the view width; lower is better."""

    name, unit, higher_is_better = "trajectory_fde", "fraction of view width", False
    catches = ("gravity_reversed", "object_teleports", "frozen", "object_vanishes", "through_walls")
    margin = 0.01
    log_floor = POSITION_FLOOR

    def from_tracks(self, tr: Tracks, truth: Truth) -> np.ndarray:
        dist, scored = displacement(tr)
        t = dist.shape[1]
        last = t - 1 - np.argmax(scored[:, ::-1], axis=1)  # (B, N)
        final = np.take_along_axis(dist, last[:, None], axis=1)[:, 0]
        return _nanmean(final, scored.any(axis=1), axis=1)


@register
class GravityError(PhysicsMetric):
    """Gravity: on the horizon's free-fall segments of the true states (at least 3 frames,
    the object fully visible), fit ``c(t) = c0 + v t + a t^2 / 2`` to the predicted
    centroids (one ``a`` per episode, pooled over objects and segments) and report
    ``|a * fps^2 / ppm - (0, g)| / g`` with ``g`` the task's gravity (image y points
    down). Unit: fraction of g; lower is better. Missing without a free-fall segment
    (or when the prediction loses the object on it)."""

    name, unit, higher_is_better = "gravity_error", "fraction of g", False
    catches = ("gravity_halved", "gravity_reversed", "frozen")
    margin = 0.2

    def from_tracks(self, tr: Tracks, truth: Truth) -> np.ndarray:
        out = np.full(len(tr.valid), np.nan)
        for b in range(len(out)):
            rows = []
            for k in np.flatnonzero(tr.valid[b]):
                segs = free_fall_segments(
                    tr.true_states[b, LEAD:, k], tr.true_vis[b, LEAD:, k] >= FULL, tr.gravity[b], tr.fps[b]
                )
                xy = np.where(tr.measured[b, LEAD:, k, None], tr.pred_xy[b, LEAD:, k], np.nan)
                rows += [(xy, s) for s in segs]
            if rows:
                out[b] = self._pooled(rows, tr.gravity[b], tr.fps[b], tr.ppm[b])
        return out

    @staticmethod
    def _pooled(rows: list[tuple[np.ndarray, np.ndarray]], g: float, fps: float, ppm: float) -> float:
        # Stack every (object, segment) as its own segment of one long track.
        xy = np.concatenate([x[s] for x, s in rows])
        offsets = np.cumsum([0] + [len(s) for _, s in rows])
        segments = [np.arange(offsets[j], offsets[j + 1]) for j in range(len(rows))]
        acc = fitted_acceleration(xy, segments)
        if acc is None:
            return float("nan")
        return float(np.linalg.norm(acc * fps**2 / ppm - np.array([0.0, g])) / g)


@register
class Permanence(PhysicsMetric):
    """Object permanence: the fraction of (horizon step, object) pairs where the
    prediction loses an object the truth shows (true visibility >= 0.5, predicted
    < 0.1) or shows one the truth hides (true < 0.05, predicted >= 0.5).
    Unit: fraction of object-steps; lower is better."""

    name, unit, higher_is_better = "permanence", "fraction of object-steps", False
    catches = ("object_vanishes", "occluded_vanish")
    margin = 0.02
    violation_anchor = margin  # a frozen world obeys this law: 0 is a clear violation

    def from_tracks(self, tr: Tracks, truth: Truth) -> np.ndarray:
        true, pred = tr.true_vis[:, LEAD:], tr.pred_vis[:, LEAD:]
        broken = ((true >= SEEN) & (pred < GONE)) | ((true < HIDDEN) & (pred >= SEEN))
        return _nanmean(broken.astype(float), np.broadcast_to(tr.valid[:, None], broken.shape), axis=(1, 2))


def reappearances(tr: Tracks, truth: Truth, b: int, k: int) -> list[tuple[int, int]]:
    """``(first hidden horizon step, true reappearance step)`` for each time object ``k``
    of episode ``b`` reappears in the horizon: its true visibility reaches 0.5 after
    having been below 0.05 (in the horizon or the context) with nothing seen between."""
    episode = truth.episodes[b]
    vis = episode.truth.visibility[: episode.context + tr.horizon, k]
    events, hidden_since = [], None
    for i, v in enumerate(vis):
        if v < HIDDEN and hidden_since is None:
            hidden_since = i
        elif v >= SEEN:
            if hidden_since is not None and i >= episode.context:
                events.append((max(hidden_since - episode.context, 0), i - episode.context))
            hidden_since = None
    return events


class _Reappearance(PhysicsMetric):
    """Shared by the reappearance metrics: per event ``(time error, place error)``."""

    def events(self, tr: Tracks, truth: Truth) -> list[list[tuple[float, float]]]:
        t = tr.horizon
        seen = tr.pred_vis[:, LEAD:] >= SEEN
        out = []
        for b in range(len(tr.valid)):
            errors = []
            for k in np.flatnonzero(tr.valid[b]):
                for hidden, true_step in reappearances(tr, truth, b, int(k)):
                    after = np.flatnonzero(seen[b, hidden:, k])
                    pred_step = hidden + after[0] if len(after) else t
                    check = [
                        s
                        for s in range(true_step, t)
                        if tr.true_vis[b, LEAD + s, k] >= FULL and tr.measured[b, LEAD + s, k]
                    ]
                    place = (
                        min(
                            1.0,
                            np.linalg.norm(tr.pred_xy[b, LEAD + check[0], k] - tr.true_xy[b, LEAD + check[0], k])
                            / tr.view[b],
                        )
                        if check
                        else 1.0
                    )
                    errors.append((float(abs(pred_step - true_step)), place))
            out.append(errors)
        return out


@register
class ReappearanceTime(_Reappearance):
    """Reappearance time: for each true reappearance in the horizon (true visibility
    reaches 0.5 after being below 0.05), ``|t_pred - t_true|`` in frames, where
    ``t_pred`` is the first step from the start of the hiding on which the predicted
    visibility is >= 0.5 (the horizon length ``T`` if never). Mean over events; missing
    without a reappearance. Unit: frames; lower is better."""

    name, unit, higher_is_better = "reappearance_time", "frames", False
    catches = ("occluded_vanish",)
    margin = 1.0

    def from_tracks(self, tr: Tracks, truth: Truth) -> np.ndarray:
        return np.array([np.mean([e[0] for e in ev]) if ev else np.nan for ev in self.events(tr, truth)])


@register
class ReappearancePosition(_Reappearance):
    """Reappearance position: for each true reappearance in the horizon, the predicted
    centroid's distance from the true centre, divided by ``W`` (at most 1), on the first
    step from the true reappearance where the true object is fully visible and the
    predicted one is seen (1 if there is none). Mean over events; missing without a
    reappearance. Unit: fraction of the view width; lower is better."""

    name, unit, higher_is_better = "reappearance_position", "fraction of view width", False
    catches = ("occluded_vanish",)
    margin = 0.05

    def from_tracks(self, tr: Tracks, truth: Truth) -> np.ndarray:
        return np.array([np.mean([e[1] for e in ev]) if ev else np.nan for ev in self.events(tr, truth)])


@register
class Rigidity(PhysicsMetric):
    """Rigidity: on (horizon step, object) pairs where the true object is fully visible
    and the predicted one is present (visibility >= 0.1), the size and shape change
    ``c = max(|ln(A_p / A_t)|, |s_p - s_t| / sqrt(A_t / pi))`` against the same object
    read from the true frame, with ``A`` the mask area and ``s = sqrt(r1^2 - r2^2)`` from
    the principal radii of its second moments (rotation-invariant; an isotropic blur
    adds the same to ``r1^2`` and ``r2^2``); mean over pairs of ``max(0, c - tol)`` with
    ``tol = max(0.1, 2 * 0.5 px / inradius)``: a change up to :data:`RIGIDITY_TOLERANCE`,
    or a rim of :data:`RIM` pixels on a small object, is the reading's own. Unit: log
    ratio beyond the tolerance; lower is better."""

    name, unit, higher_is_better = "rigidity", "log ratio", False
    catches = ("object_grows", "object_shrinks")
    margin = 0.1
    violation_anchor = margin  # a frozen world obeys this law: it only penalises its area's index

    def from_tracks(self, tr: Tracks, truth: Truth) -> np.ndarray:
        p, t = tr.pred, tr.true_frames
        with np.errstate(divide="ignore", invalid="ignore"):
            area = np.abs(np.log(_ratio(p.area, t.area)))
            shape = np.abs(_anisotropy(p.radii) - _anisotropy(t.radii)) / np.sqrt(_np(t.area) / np.pi)
        change = np.fmax(area, shape)
        present = tr.pred_vis[:, LEAD:] >= GONE
        mask = (tr.true_vis[:, LEAD:] >= FULL) & present & ~np.isnan(change)
        tolerance = np.fmax(RIGIDITY_TOLERANCE, rim_share(tr))[:, None]
        return _nanmean(np.clip(change - tolerance, 0, None), mask, axis=(1, 2))


def rim_share(tr: Tracks) -> np.ndarray:
    """``(B, N)``: the share of each object's area in a rim of :data:`RIM` pixels,
    ``RIM * perimeter / area = 2 * RIM / inradius`` (exact for discs and regular polygons)."""
    return 2 * RIM / np.fmax(tr.inradius, 1.0)


def _np(x: torch.Tensor) -> np.ndarray:
    return x.double().cpu().numpy()


def _anisotropy(radii: torch.Tensor) -> np.ndarray:
    """``sqrt(r1^2 - r2^2)`` of principal radii ``(..., 2)``: 0 for a disc or a square."""
    r = _np(radii)
    return np.sqrt(np.clip(r[..., 0] ** 2 - r[..., 1] ** 2, 0, None))


def _ratio(a: torch.Tensor, b: torch.Tensor) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return (a.double() / b.double()).cpu().numpy()


def scenery_region(truth: Truth) -> torch.Tensor:
    """``(B, H, W)`` bool: pixels showing the scenery colour in any true frame, once per batch."""
    colour = [c / 255.0 for c in SCENERY]

    def near(frames: torch.Tensor) -> torch.Tensor:
        d2 = cast(torch.Tensor, sum((frames[:, :, c].float() - colour[c]) ** 2 for c in range(3)))
        return (d2 < SCENERY_TOLERANCE**2).any(1)

    return cast(torch.Tensor, truth.memo("scenery", truth.frames, lambda: near(truth.context) | near(truth.frames)))


def solid_interior(truth: Truth, depth: int = PENETRATION_DEPTH) -> torch.Tensor:
    """``(B, H, W)`` bool: pixels at least ``depth`` pixels inside the scenery (static
    solids) of any true frame; thin scenery (strings, outlines) has no interior."""
    outside = (~scenery_region(truth)).float()[:, None]
    return F.max_pool2d(outside, 2 * depth + 1, stride=1, padding=depth)[:, 0] == 0


@register
class Interpenetration(PhysicsMetric):
    """Interpenetration of solids: per horizon step, the objects' mask mass at least
    3 pixels inside static solids (pixels with the scenery colour in any true frame,
    eroded by :data:`PENETRATION_DEPTH`) and within ``2 * inradius + 1`` pixels of the
    object's predicted centroid (a compression's colour specks farther away are not the
    object) plus the objects' overlap: the larger of (a) the
    overlap area of every pair of objects' inscribed discs shrunk by :data:`DISC_SHRINK`
    (placed at the predicted centroids) and (b) the area the objects lose where they touch
    another object (:func:`covered_by_objects`: in a side view a solid can only be
    covered by one it has entered), in scenes whose objects collide with each other
    (:func:`~wmbench.worlds.meta.objects_collide`: not pendulums swinging in planes of
    their own); summed, divided by the objects' total full area; the
    largest over steps (a brief pass through each other counts as much as a lasting one),
    beyond :data:`PENETRATION_TOLERANCE`. Contact, anti-aliased edges, blur and compression
    stay within the tolerances. Unit: fraction of the objects' area; lower is better."""

    name, unit, higher_is_better = "interpenetration", "fraction of object area", False
    catches = ("through_walls",)
    margin = 0.02
    violation_anchor = margin  # a frozen world obeys this law: it only penalises its area's index

    def from_tracks(self, tr: Tracks, truth: Truth) -> np.ndarray:
        interior = solid_interior(truth).float()[:, None, None]
        masks = tr.pred.masks
        centre = torch.from_numpy(np.nan_to_num(tr.pred_xy[:, LEAD:], nan=-1e9)).to(masks)  # unmeasured: nowhere
        masks = within(masks, centre, torch.from_numpy(2 * tr.inradius + 1).to(masks))
        solids = np.nan_to_num((masks * interior).sum((2, 3, 4)).double().cpu().numpy())
        discs = np.zeros_like(solids)
        n = tr.valid.shape[1]
        for i in range(n):
            for j in range(i + 1, n):
                both = tr.valid[:, i] & tr.valid[:, j]
                r1, r2 = (np.clip(tr.inradius[:, None, k] - DISC_SHRINK, 0, None) for k in (i, j))
                overlap = lens_area(np.linalg.norm(tr.pred_xy[:, LEAD:, i] - tr.pred_xy[:, LEAD:, j], axis=-1), r1, r2)
                discs += np.where(both[:, None], np.nan_to_num(overlap), 0.0)
        collide = np.array([objects_collide(e) for e in truth.episodes])[:, None]
        total = solids + np.where(collide, np.maximum(discs, covered_by_objects(tr)), 0.0)
        full = tr.pred.full_area.masked_fill(~tr.pred.valid, 0).sum(1).double().cpu().numpy()
        share = total.max(axis=1) / np.maximum(full, 1e-9)
        return np.where(full > 0, np.maximum(share - PENETRATION_TOLERANCE, 0.0), np.nan)


def covered_by_objects(tr: Tracks) -> np.ndarray:
    """``(B, T)`` pixels per horizon step of objects the truth shows whole that touch
    another predicted object and read smaller than in the true frames: each one's area
    shortfall against the true frames' reading beyond a rim of :data:`RIM` pixels (the
    perimeter is ``2 * area / inradius``, exact for discs and regular polygons)."""
    masks = tr.pred.masks
    b, t, n, h, w = masks.shape
    if n < 2:
        return np.zeros((b, t))
    grown = F.max_pool2d(masks.reshape(b * t * n, 1, h, w), 3, 1, 1).view(b, t, n, h, w)
    touching = (masks * (grown.sum(2, keepdim=True) - grown)).sum((3, 4)).cpu().numpy() >= 1.0
    full = tr.pred.full_area.double().cpu().numpy()[:, None]
    whole = (tr.true_vis[:, LEAD:] >= FULL) & tr.valid[:, None]
    shortfall = _np(tr.true_frames.area) - _np(tr.pred.area) - rim_share(tr)[:, None] * full
    return np.where(touching & whole, np.clip(np.nan_to_num(shortfall), 0.0, None), 0.0).sum(-1)


def _throughout(ok: np.ndarray, frames: int) -> np.ndarray:
    """``(B, T - frames + 1, N)``: every window of ``frames`` consecutive frames of ``ok``
    ``(B, T, N)`` where it holds throughout."""
    return np.logical_and.reduce([ok[:, s : ok.shape[1] - frames + 1 + s] for s in range(frames)])


def _both_ends(tr: Tracks, frames: int) -> np.ndarray:
    """``(B, LEAD + T - frames + 1, N)``: every window of ``frames`` consecutive track frames
    from the last context frame on where the true object is fully visible and the
    predicted one is measured throughout."""
    ok = (tr.true_vis >= FULL) & tr.measured & tr.valid[:, None]
    return _throughout(ok[:, LEAD - 1 :] if frames == 2 else ok[:, LEAD - 2 :], frames)


@register
class Continuity(PhysicsMetric):
    """Continuity (no teleporting): ``max_{t,k} max(0, |c_pred(t+1) - c_pred(t)| - v_k - 1.5 px) / W``
    over frame intervals from the last context frame through the horizon where the true
    object is fully visible and the predicted one is measured at both ends; ``v_k`` is
    the object's top speed (pixels per frame) in the true track and the physical-variance
    rollouts (:data:`JUMP_TOLERANCE`: the reading's own jitter). Unit: fraction of the
    view width; lower is better."""

    name, unit, higher_is_better = "continuity", "fraction of view width", False
    #: Not ``time_reversed``: a reversed future starts where the true one ends, a jump only
    #: where that is far from the last context frame (one of three ``drop_single`` episodes reads 0.014).
    catches = ("object_teleports",)
    margin = 0.02
    violation_anchor = margin  # a frozen world obeys this law: it only penalises its area's index

    def from_tracks(self, tr: Tracks, truth: Truth) -> np.ndarray:
        pred = np.linalg.norm(np.diff(tr.pred_xy[:, LEAD - 1 :], axis=1), axis=-1)
        possible = np.concatenate([tr.true_xy[:, None], tr.ensemble_xy], axis=1)
        top = np.fmax.reduce(np.linalg.norm(np.diff(possible, axis=2), axis=-1), axis=(1, 2))  # (B, N)
        mask = _both_ends(tr, 2)
        jump = np.clip(pred - top[:, None] - JUMP_TOLERANCE, 0, None) / tr.view[:, None, None]
        out = np.where(mask, jump, -np.inf).max(axis=(1, 2))
        return np.where(mask.any(axis=(1, 2)), out, np.nan)


def _accelerations(xy: np.ndarray) -> np.ndarray:
    """Second differences ``c(t+1) - 2 c(t) + c(t-1)`` (pixels per frame^2) of tracks
    ``(..., L, N, 2)``: ``(..., L - 2, N, 2)``, entry ``t`` centred on track frame ``t + 1``."""
    return xy[..., 2:, :, :] - 2 * xy[..., 1:-1, :, :] + xy[..., :-2, :, :]


def _left_by_contact(change: np.ndarray, normal: np.ndarray) -> np.ndarray:
    """The part of velocity changes ``dv`` ``(..., 2)`` that a contact with normal ``n``
    cannot cause, as a vector: a contact pushes the object away, ``p = max(dv . n, 0)``,
    and its friction changes the velocity along the surface by up to
    ``CONTACT_FRICTION * p``; left are ``min(dv . n, 0) n`` and the change along the
    surface shortened by that much (its length ``max(0, |dv - (dv . n) n| - CONTACT_FRICTION * p)``).
    A stop while sliding along a surface has no push, so no friction excuses it. No
    contact (NaN ``n``): all of ``dv``."""
    along = np.nan_to_num((change * normal).sum(-1))[..., None]
    unit = np.nan_to_num(normal)
    tangent = change - along * unit
    across = np.linalg.norm(tangent, axis=-1, keepdims=True)
    push = np.clip(along, 0, None)
    with np.errstate(invalid="ignore", divide="ignore"):
        kept = np.where(across > 0, np.clip(across - CONTACT_FRICTION * push, 0, None) / across, 0.0)
    return (along - push) * unit + kept * tangent


def _uncaused_by_contacts(change: np.ndarray, normals: np.ndarray) -> np.ndarray:
    """``|dv|`` left by two contacts, each read at one of three frames (``normals``
    ``(B, L + 2, N, 2, 2)``: static solids and other objects, :func:`contact_normals`;
    ``change`` ``(B, L, N, 2)`` centred on the middle frame): the least over the frames
    of each and the order in which they act (a domino pushed by its neighbour while
    standing on the floor)."""
    length = change.shape[1]
    scenery = [normals[:, s : s + length, :, 0] for s in range(3)]
    objects = [normals[:, s : s + length, :, 1] for s in range(3)]
    return np.minimum.reduce(
        [
            np.linalg.norm(_left_by_contact(_left_by_contact(change, first), second), axis=-1)
            for a in scenery
            for b in objects
            for first, second in ((a, b), (b, a))
        ]
    )


@register
class Inertia(PhysicsMetric):
    """Inertia (nothing stops, starts or turns without a cause): the largest change of
    velocity ``dv = c(t+1) - 2 c(t) + c(t-1)`` (pixels per frame^2) of a predicted object
    at each track frame from the last context frame on that has no cause: ``|dv|`` beyond
    the largest the true track or any physical-variance rollout shows within one frame
    of it, or, where less, the part no contact can cause. The predicted object's contacts
    within one frame are read from its mask: static solids and other objects within
    :data:`CONTACT_REACH` pixels plus its travel in a frame (:func:`_contacts_around`),
    one normal for each kind (from the mean of the touched pixels nearest to it to the
    object's centroid). Each contact pushes the object away and changes its
    velocity along the surface by up to :data:`CONTACT_FRICTION` times that push
    (:func:`_left_by_contact`); the two act in either order (:func:`_uncaused_by_contacts`); then
    less :data:`VELOCITY_TOLERANCE` (1.5 px per frame^2, the reading's own jitter); ``max_{t,k} max(0, excess) / W`` where the
    true object is fully visible and the predicted one measured on all three frames. A
    bounce or a stop against something is caused wherever it happens; a stop in mid-air
    or while sliding along a floor is not. Unit: fraction of the view width per frame^2;
    lower is better."""

    name, unit, higher_is_better = "inertia", "fraction of view width per frame^2", False
    catches = ("object_freezes", "object_teleports", "time_reversed")
    margin = 0.01  # a stop from 3 px per frame at 128 px
    violation_anchor = margin  # a stop in the prediction is its own violation, not credit

    def from_tracks(self, tr: Tracks, truth: Truth) -> np.ndarray:
        change = _accelerations(tr.pred_xy[:, LEAD - 2 :])  # (B, L, N, 2), L = LEAD + T - 2
        possible = np.concatenate([tr.true_xy[:, None], tr.ensemble_xy], axis=1)[:, :, LEAD - 2 :]
        allowed = np.fmax.reduce(np.linalg.norm(_accelerations(possible), axis=-1), axis=1)  # (B, L, N)
        padded = np.pad(allowed, ((0, 0), (1, 1), (0, 0)), constant_values=0.0)
        allowed = np.maximum.reduce([padded[:, :-2], padded[:, 1:-1], padded[:, 2:]])
        mask = _both_ends(tr, 3)
        uncaused = np.linalg.norm(change, axis=-1) - allowed
        unexplained = mask & (uncaused > VELOCITY_TOLERANCE)
        at_contact = _uncaused_by_contacts(change, _contacts_around(tr, truth, unexplained))
        excess = np.clip(np.minimum(uncaused, at_contact) - VELOCITY_TOLERANCE, 0, None) / tr.view[:, None, None]
        out = np.where(mask, excess, -np.inf).max(axis=(1, 2))
        return np.where(mask.any(axis=(1, 2)), out, np.nan)


def _contacts_around(tr: Tracks, truth: Truth, changes: np.ndarray) -> np.ndarray:
    """``(B, LEAD + T, N, 2, 2)`` contact normals (:func:`contact_normals`) of the predicted
    horizon frames within one track frame of the velocity changes ``changes``
    ``(B, LEAD + T - 2, N)`` (entry ``j`` centred on track frame ``j + 1``); NaN elsewhere
    (the masks are only read where a change needs a cause). The reach at a frame is
    :data:`CONTACT_REACH` plus the object's travel (:func:`_travel`): what it hits
    between two frames is at most that far from it at one of them."""
    b, length, n = changes.shape
    normals = np.full((b, length + 2, n, 2, 2), np.nan)
    solids = scenery_region(truth)
    reach = CONTACT_REACH + np.ceil(_travel(tr.pred_xy)).astype(np.int64)
    for i in range(b):
        centres = np.flatnonzero(changes[i].any(-1)) + 1
        frames = np.unique(np.clip(np.concatenate([centres - 1, centres, centres + 1]), LEAD, length + 1))
        if len(frames):
            masks = tr.pred.masks[i : i + 1, torch.from_numpy(frames - LEAD)]
            normals[i, frames] = contact_normals(masks, solids[i : i + 1], reach[i : i + 1, frames])[0]
    return normals


def _travel(xy: np.ndarray) -> np.ndarray:
    """``(B, L, N)``: how far each object moves (pixels) in the longer of the frame
    intervals before and after each track frame of ``xy`` ``(B, L, N, 2)``; 0 where unmeasured."""
    step = np.nan_to_num(np.linalg.norm(np.diff(xy, axis=1), axis=-1))
    padded = np.pad(step, ((0, 0), (1, 1), (0, 0)))
    return np.maximum(padded[:, :-1], padded[:, 1:])


@register
class EnergyGain(PhysicsMetric):
    """Energy must not increase in passive scenes: the largest rise of the objects'
    mechanical energy ``E = sum_k m_k (g y_k + |v_k|^2 / 2)`` over the track (the last
    context frames and the horizon; per frame interval, from the predicted centroids,
    leaving out intervals at impacts of either track, averaged over 3 consecutive
    intervals), minus the larger of the same rise on the true centres and on the
    centroids read from the true frames (the reading's own noise), divided by
    ``sum_k m_k * g * H_view`` (``H_view`` the view height in metres; without gravity,
    ``sum_k m_k * H_view^2 / 2`` in 1/s^2, the kinetic energy of crossing the view in one
    second), less :data:`ENERGY_TOLERANCE` (what blur or compression does to that noise),
    clipped at 0. Missing for action tasks. Unit: fraction of that reference energy;
    lower is better."""

    name, unit, higher_is_better = "energy_gain", "fraction of m g H_view", False
    catches = ("gravity_reversed", "time_reversed")
    margin = 0.03
    violation_anchor = margin  # a frozen world obeys this law: 0 is a clear violation

    def from_tracks(self, tr: Tracks, truth: Truth) -> np.ndarray:
        out = np.full(len(tr.valid), np.nan)
        for b, episode in enumerate(truth.episodes):
            if episode.truth.actions is not None:
                continue
            k = tr.valid[b]
            m, g, ppm, fps = tr.mass[b, k], tr.gravity[b], tr.ppm[b], tr.fps[b]
            pred_xy, ok, true_xy = tr.pred_xy[b][:, k], tr.measured[b][:, k], tr.true_xy[b][:, k]
            everywhere = np.ones_like(ok)
            skip = near_impacts(pred_xy, ok, g, ppm, fps) | near_impacts(true_xy, everywhere, g, ppm, fps)
            read_xy = np.concatenate([pred_xy[:LEAD], _np(tr.true_frames.centroid[b])[:, k]])
            pred = energy_rise(pred_xy, ok, skip, m, g, ppm, fps)
            true = np.fmax(
                energy_rise(true_xy, everywhere, skip, m, g, ppm, fps),
                energy_rise(read_xy, ~np.isnan(read_xy[..., 0]), skip, m, g, ppm, fps),
            )
            height = tr.view[b] / ppm
            scale = m.sum() * (g * height if g > 0 else 0.5 * height**2)
            out[b] = max(0.0, (pred - true) / scale - ENERGY_TOLERANCE) if not np.isnan(pred) else np.nan
        return out


#: Frame intervals a velocity spans in :class:`KineticEnergyError`: JPEG's chroma moves a thin
#: object's centroid by up to half a pixel from one frame to the next, and over two
#: intervals that reads as half the speed noise (a quarter of its energy).
VELOCITY_SPAN = 2


def kinetic_energy(xy: np.ndarray, counted: np.ndarray, mass: np.ndarray) -> np.ndarray:
    """Per window of :data:`VELOCITY_SPAN` frame intervals of ``(B, T, N, 2)`` pixel tracks:
    ``sum_k m_k |v_k|^2 / 2`` with ``v_k = (c(t + S) - c(t)) / S``, over the objects
    ``counted`` ``(B, T - S, N)`` (mass times pixels^2 per frame^2)."""
    velocity = (xy[:, VELOCITY_SPAN:] - xy[:, :-VELOCITY_SPAN]) / VELOCITY_SPAN
    speed2 = np.nan_to_num((velocity**2).sum(-1))
    return np.where(counted, np.nan_to_num(mass)[:, None] * speed2 / 2, 0.0).sum(-1)


@register
class KineticEnergyError(PhysicsMetric):
    """How far the objects' kinetic energy ``K(t) = sum_k m_k |v_k|^2 / 2`` strays from the
    truth's: ``mean_t |K_pred(t) - K_true(t)| / mean_t K_true(t)`` over the horizon, with
    velocities over two frame intervals (``v = (c(t + 2) - c(t)) / 2``, from the centroids),
    summed over the objects fully visible in the truth throughout (a predicted object not
    seen throughout adds nothing). The step from the last context frame is left to
    ``continuity``: read as a velocity, a constant offset of the whole prediction (a
    one-pixel shift) would count as motion there. The total over objects does not depend
    on which of them carries the energy, so a chaotic scene's variance rollouts keep it while
    a wrong restitution or friction (energy lost at contacts), a wrong speed or a frozen
    world (error 1) do not. Missing when the true objects move less than half a pixel per
    frame on average. Unit: fraction of the true mean kinetic energy; lower is better."""

    name, unit, higher_is_better = "kinetic_energy_error", "fraction of the true mean kinetic energy", False
    catches = ("frozen", "slow_motion", "fast_motion")
    margin = 0.1
    log_floor = 0.05

    def from_tracks(self, tr: Tracks, truth: Truth) -> np.ndarray:
        horizon = slice(LEAD, None)
        full = (tr.true_vis[:, horizon] >= FULL) & tr.valid[:, None]
        frames = VELOCITY_SPAN + 1
        counted = _throughout(full, frames)
        true = kinetic_energy(tr.true_xy[:, horizon], counted, tr.mass)
        pred = kinetic_energy(tr.pred_xy[:, horizon], _both_ends(tr, frames)[:, frames - 1 :], tr.mass)  # ... and measured
        scored = counted.any(-1)
        mean_true = _nanmean(true, scored, axis=1)
        at_half_pixel = _nanmean(np.where(counted, tr.mass[:, None], 0.0).sum(-1), scored, axis=1) * 0.5**2 / 2
        with np.errstate(invalid="ignore", divide="ignore"):  # still scenes: missing below
            error = _nanmean(np.abs(pred - true), scored, axis=1) / mean_true
        return np.where(mean_true >= at_half_pixel, error, np.nan)  # NaN compares False


@register
class ContactTiming(PhysicsMetric):
    """Contact events: impacts (runs of frames whose velocity change differs from
    gravity's by more than ``2.5 u / fps`` and somewhere by more than ``5 u / fps``, ``u``
    gravity or, without it, 0.6 px per frame^2 (:func:`impact_steps`), from
    second differences of positions, each timed at its largest deviation) found on the true centres and
    on the predicted centroids (where the object is at least 90% visible: the centroid of
    a partly hidden object lags its centre) over the last context frames and the horizon, matched
    per object: ``mean`` over true and predicted impacts of the distance in frames to
    the nearest impact of the same object on the other side, where a weak impact
    (beyond ``2.5 u / fps``) suffices as a match (``T`` if there is none).
    Missing without a true impact. Unit: frames; lower is better."""

    name, unit, higher_is_better = "contact_timing", "frames", False
    catches = ("frozen", "through_walls")
    margin = 0.5

    def from_tracks(self, tr: Tracks, truth: Truth) -> np.ndarray:
        out = np.full(len(tr.valid), np.nan)
        t = tr.horizon
        for b in range(len(out)):
            g, ppm, fps = tr.gravity[b], tr.ppm[b], tr.fps[b]
            gaps, any_true = [], False
            for k in np.flatnonzero(tr.valid[b]):
                tracks = (
                    (tr.true_xy[b, :, k], np.ones(len(tr.true_xy[b]), bool)),
                    (tr.pred_xy[b, :, k], tr.whole[b, :, k]),
                )
                (true, true_weak), (pred, pred_weak) = [
                    (
                        impact_steps(xy, ok, g, ppm, fps, least_unit=LEAST_IMPACT_UNIT),
                        impact_steps(xy, ok, g, ppm, fps, WEAK_IMPACT_THRESHOLD, LEAST_IMPACT_UNIT),
                    )
                    for xy, ok in tracks
                ]
                any_true |= len(true) > 0
                gaps += [nearest(s, pred_weak, t) for s in true] + [nearest(s, true_weak, t) for s in pred]
            if any_true:
                out[b] = float(np.mean(gaps))
        return out


@register
class OutcomeAccuracy(PhysicsMetric):
    """Discrete outcome at the last horizon step, as the fraction of facts the prediction
    gets right. Facts: for each object, whether it ends seen (visibility >= 0.5); where
    the true object ends more than its inradius left or right (up or down) of where it
    was at the last context frame, the side it ends on (the prediction must have moved
    it at least half its inradius that way); for each pair of objects seen at the end,
    whether they touch (masks within one pixel), where a gap within one pixel of the true
    gap is right too (JPEG's chroma or a blur moves a mask's edge by a pixel where two
    objects meet). Unit: fraction of facts; higher is better."""

    name, unit, higher_is_better = "outcome_accuracy", "fraction of facts", True
    catches = ("gravity_reversed", "frozen", "object_vanishes")
    margin = 0.1

    def from_tracks(self, tr: Tracks, truth: Truth) -> np.ndarray:
        pred_gap = mask_gaps(tr.pred.masks[:, -1]).cpu().numpy()
        true_gap = mask_gaps(tr.true_frames.masks[:, -1]).cpu().numpy()
        touch_right = ((pred_gap <= 1) == (true_gap <= 1)) | (np.abs(pred_gap - true_gap) <= 1)
        out = np.full(len(tr.valid), np.nan)
        for b in range(len(out)):
            facts: list[bool] = []
            objects = np.flatnonzero(tr.valid[b])
            true_seen, pred_seen = tr.true_vis[b, -1] >= SEEN, tr.measured[b, -1]
            for k in objects:
                facts.append(bool(true_seen[k] == pred_seen[k]))
                start = tr.true_xy[b, LEAD - 1, k]
                moved, pred_moved = tr.true_xy[b, -1, k] - start, tr.pred_xy[b, -1, k] - start
                for axis in (0, 1):
                    if abs(moved[axis]) > tr.inradius[b, k]:
                        facts.append(bool(pred_moved[axis] * np.sign(moved[axis]) > tr.inradius[b, k] / 2))
            for i in objects:
                for j in objects[objects > i]:
                    if true_seen[i] and true_seen[j]:
                        facts.append(bool(touch_right[b, i, j]))
            out[b] = np.mean(facts) if facts else np.nan
        return out
