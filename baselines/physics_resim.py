"""``physics_resim``: a physics engine started from the state it reads in the context frames.

Object-centric and not privileged: it sees only the context frames an adapter gets,
and what the renderer publishes (its colours, its palette in the order objects take it,
the physics rate). From the frames alone it:

1. assigns every pixel to the renderer's colours with wmbench's own object extractor
   (:func:`wmbench.metrics.photometry.colour_classes`): background, scenery, occluder,
   and each palette colour with its darker rotation mark; every palette colour seen
   in the context is an object;
2. measures each object (:func:`wmbench.metrics.objects.mask_states` for centroid and
   area; OpenCV for the outline): a circle or a box (how much of its minimum-area
   rectangle its mask fills), its size (from its area), its orientation (the rectangle's
   axes, the way round its mark points), its velocity (the last two frames where it is
   fully seen, plus half a frame of gravity) and its angular velocity (a straight line
   through its last unwrapped angles);
3. rebuilds the static world from the scenery that stays put (floors, walls, ramps:
   their outlines become static segments; strokes thinner than :data:`THIN` pixels,
   such as goal lines and strings, are decoration); an object moving on a circle with
   a string drawn from the circle's centre hangs from that point (a pendulum);
4. decides on gravity: on for a visible floor without a ceiling, a pendulum, or objects
   seen falling; its strength is :data:`GRAVITY` m/s^2 over a view ``view_metres`` wide
   (the scenes' nominal 2 m), or, when an object falls freely during the context, the
   acceleration it shows;
5. simulates the horizon in pymunk with default materials (elasticity and friction
   0.5, scenery 1.0, mass proportional to area; the true masses, frictions and
   restitutions are never read) at the engine's rate, and renders each frame with the
   benchmark's renderer over the context's background, with the occluders (moved at
   the speed they showed) in front.

An object first measured earlier than the last context frame (e.g. it went behind an
occluder) enters the simulation there and is carried through the rest of the context.
It shows how far "a physics engine with inferred state" gets, and where it fails:
unknown masses, frictions and restitutions, invisible walls, the agent's future actions.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import pymunk
import torch

from wmbench import Adapter, ContextBatch
from wmbench.metrics.objects import mask_states
from wmbench.metrics.photometry import SCENE_COLOURS, colour_classes, palette
from wmbench.worlds.episode import ObjectSpec
from wmbench.worlds.render import PALETTE, Camera, render
from wmbench.worlds.world import SIM_HZ

#: Gravity assumed when the context does not show it, m/s^2.
GRAVITY = 9.81
#: Default materials: objects, and the static scenery.
ELASTICITY, FRICTION, SCENERY_ELASTICITY, SCENERY_FRICTION = 0.5, 0.5, 1.0, 1.0
#: Scenery strokes thinner than this (pixels) are decoration, not walls.
THIN = 3
#: A patch of a palette colour is an object (or its visible part) when it covers this many
#: pixels, is this thick (pixels, the short side of its minimum-area rectangle), fills at
#: least :data:`COMPACT` of its convex hull and is not mostly surrounded by other objects
#: (:data:`INSIDE`): anti-aliased mixtures of two colours can match a third one along
#: edges (thin seams and rings) or inside an object (around its mark).
MIN_PIXELS, MIN_THICKNESS, COMPACT, INSIDE = 6, 2.5, 0.5, 0.6
#: A frame shows an object fully when it touches neither an occluder nor the frame's edge
#: and its area is at least this fraction of its largest.
FULL = 0.7
#: A body that stays still this long (seconds) in the simulation falls asleep again.
SLEEP_SECONDS = 0.5
#: A body within this distance (pixels) and angle (radians) of where it entered the
#: simulation keeps its own pixels from the last context frame instead of being redrawn.
STILL_PIXELS, STILL_ANGLE = 0.25, 0.02
#: A box must overlap an object's mask better than a circle by this much to be chosen
#: (objects a few pixels across look much alike either way).
BOX_MARGIN = 0.03
#: Frames of free flight needed to measure gravity, and how many such windows must agree
#: (within this fraction of their median) for gravity to be measured.
FALL_FRAMES, FALLS_AGREE = 5, 0.25
#: Slower than this (pixels per frame) between two frames is at rest.
AT_REST = 0.1

_BACKGROUND, _SCENERY, _OCCLUDER = range(3)


@dataclass
class Body:
    """One object as read from the context: pixel units, y up (``y = H - 1 - row``)."""

    spec: ObjectSpec
    start: int  # context frame whose state it enters the simulation with
    position: tuple[float, float]
    angle: float
    velocity: tuple[float, float]  # pixels per frame
    spin: float  # radians per frame
    anchor: tuple[float, float] | None = None  # pivot of a pendulum
    footprint: np.ndarray | None = None  # bool (H, W): its pixels in the last context frame (and its string)

    @property
    def at_rest(self) -> bool:
        """Seen still in its last two frames: it sleeps until something touches it."""
        return self.anchor is None and max(map(abs, self.velocity)) <= AT_REST and abs(self.spin) <= AT_REST / 10


@dataclass
class Scene:
    """What the context shows: the bodies, the static world and how to draw the future."""

    bodies: list[Body]
    last: np.ndarray  # uint8 (H, W, 3): the last context frame
    walls: list[np.ndarray]  # polylines (K, 2), pixels, y up
    gravity: float  # pixels per frame^2, downwards
    background: np.ndarray  # uint8 (H, W, 3)
    occluder: np.ndarray  # float32 (H, W) alpha of the occluders in the last frame
    occluder_colour: np.ndarray  # uint8 (H, W, 3)
    occluder_velocity: tuple[float, float]  # pixels per frame (columns, rows)


def _to_up(points: np.ndarray, height: int) -> np.ndarray:
    """Image ``(u, v)`` to simulation ``(x, y)``: same scale, y up."""
    return np.stack([points[..., 0], height - 1 - points[..., 1]], axis=-1)


def _classes(frames: torch.Tensor) -> np.ndarray:
    """Soft classes ``(T, 3 + 2 * len(PALETTE) + 1, H, W)`` of context frames ``(T, 3, H, W)``."""
    colours, _ = palette([list(PALETTE)], frames.device)
    return colour_classes(frames[None], colours)[0].cpu().numpy()


def _patches(masks: np.ndarray) -> np.ndarray:
    """Masks ``(C, N, H, W)`` of palette colours kept only where they form objects (see
    :data:`MIN_PIXELS`), grown by a pixel to keep their anti-aliased edges."""
    solid = masks > 0.5
    kept = np.zeros(masks.shape, np.uint8)
    ring = np.ones((3, 3), np.uint8)
    for t, k in np.ndindex(masks.shape[:2]):
        count, labels, stats, _ = cv2.connectedComponentsWithStats(solid[t, k].astype(np.uint8), connectivity=8)
        others = solid[t].any(0) & ~solid[t, k]
        for label in range(1, count):
            if stats[label, cv2.CC_STAT_AREA] < MIN_PIXELS:
                continue
            patch = (labels == label).astype(np.uint8)
            rows, cols = np.nonzero(patch)
            points = np.stack([cols, rows], 1).astype(np.float32)
            hull = cv2.convexHull(points)
            area = cv2.contourArea(hull) + cv2.arcLength(hull, True) / 2 + 1  # hull of pixel centres, grown
            border = cv2.dilate(patch, ring).astype(bool) & ~patch.astype(bool)
            if (
                min(cv2.minAreaRect(points)[1]) + 1 >= MIN_THICKNESS
                and len(rows) >= COMPACT * area
                and (others & border).sum() <= INSIDE * border.sum()
            ):
                kept[t, k] |= patch
    grown = np.stack([cv2.dilate(m, ring) for m in kept.reshape(-1, *masks.shape[2:])]).reshape(masks.shape)
    return masks * grown


def _touches(mask: np.ndarray, occluder: np.ndarray) -> bool:
    """Whether an object's mask ``(H, W)`` reaches the frame's edge or an occluder (it may be cut)."""
    solid = mask > 0.5
    if solid[0].any() or solid[-1].any() or solid[:, 0].any() or solid[:, -1].any():
        return True
    grown = cv2.dilate(solid.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    return bool((grown & occluder).any())


def _outline(mask: np.ndarray) -> np.ndarray | None:
    """Corners ``(4, 2)`` of the minimum-area rectangle around a mask's pixels (their
    centres, so grown by half a pixel each side)."""
    rows, cols = np.nonzero(mask > 0.5)
    if len(rows) < 3:
        return None
    (cu, cv), (w, h), angle = cv2.minAreaRect(np.stack([cols, rows], axis=1).astype(np.float32))
    return cv2.boxPoints(((cu, cv), (w + 1.0, h + 1.0), angle))


def _axis_angle(direction: np.ndarray) -> float:
    """World angle (y up, counterclockwise) of an image-space direction ``(du, dv)``."""
    return float(np.arctan2(-direction[1], direction[0]))


def _pose(fill: np.ndarray, mark: np.ndarray, centre: np.ndarray, box: bool) -> tuple[float, tuple[float, float]]:
    """Angle of the body's local +x axis and, for a box, its sides ``(along x, along y)``."""
    outline = _outline(fill + mark) if box else None
    pointing = None
    if mark.sum() > 0.5:
        rows, cols = np.indices(mark.shape)
        pointing = np.array([(mark * cols).sum(), (mark * rows).sum()]) / mark.sum() - centre
    if outline is None:
        return (_axis_angle(pointing) if pointing is not None else 0.0), (0.0, 0.0)
    corners = outline
    edges = [corners[1] - corners[0], corners[2] - corners[1]]
    lengths = [float(np.linalg.norm(e)) for e in edges]
    candidates = [(e / max(n, 1e-9), k) for k, (e, n) in enumerate(zip(edges, lengths)) for e in (e, -e)]
    if pointing is None:
        axis, k = candidates[0]
    else:
        axis, k = max(candidates, key=lambda c: float(c[0] @ pointing))
    return _axis_angle(axis), (lengths[k], lengths[1 - k])


def _circle(k: int, radius: float) -> ObjectSpec:
    return ObjectSpec(id=k + 1, shape="circle", colour=PALETTE[k], mass=np.pi * radius**2, size=(radius,))


def _box(k: int, wx: float, wy: float) -> ObjectSpec:
    corners = ((-wx / 2, -wy / 2), (wx / 2, -wy / 2), (wx / 2, wy / 2), (-wx / 2, wy / 2))
    return ObjectSpec(id=k + 1, shape="box", colour=PALETTE[k], mass=wx * wy, size=(wx, wy), vertices=corners)


def _silhouette(spec: ObjectSpec, pose: np.ndarray, window: tuple[int, int, int]) -> np.ndarray:
    """The pixels the renderer gives ``spec`` drawn alone at ``pose`` (image height ``H``),
    in the square ``window`` ``(row, column, side)`` of the frame."""
    top, left, side = window
    height = pose[0, 3]
    camera = Camera(left + (side - 1) / 2, height - 1 - top - (side - 1) / 2, 1.0, resolution=side)
    _, ids, _ = render([spec], pose[:, :3], camera)
    return (ids == 1).astype(np.float32)


def _fitted(spec: ObjectSpec, mask: np.ndarray, pose: np.ndarray) -> tuple[ObjectSpec, float]:
    """``spec`` scaled so that, drawn at ``pose`` ``(1, 4)`` (x, y, angle, image height) by
    the renderer, it covers the area of ``mask`` ``(H, W)``, and the overlap of the two
    (intersection over union of the soft masks, around the object)."""
    rows, cols = np.nonzero(mask > 0.05)
    side = int(2 * max(np.ptp(rows), np.ptp(cols)) + 8)
    top, left = int(rows.mean()) - side // 2, int(cols.mean()) - side // 2
    seen = np.zeros((side, side), np.float32)
    r0, c0 = max(top, 0), max(left, 0)
    part = mask[r0 : top + side, c0 : left + side]
    seen[r0 - top : r0 - top + part.shape[0], c0 - left : c0 - left + part.shape[1]] = part
    area = float(mask.sum())
    for _ in range(2):
        drawn = _silhouette(spec, pose, (top, left, side))
        scale = np.sqrt(area / max(float(drawn.sum()), 1e-9))
        size = tuple(v * scale for v in spec.size)
        spec = _circle(spec.id - 1, size[0]) if spec.shape == "circle" else _box(spec.id - 1, *size)
    drawn = _silhouette(spec, pose, (top, left, side))
    return spec, float(np.minimum(seen, drawn).sum() / max(np.maximum(seen, drawn).sum(), 1e-9))


def _walls(scenery: np.ndarray) -> list[np.ndarray]:
    """Outlines (image coordinates) of the static scenery thicker than :data:`THIN` pixels."""
    solid = cv2.morphologyEx((scenery > 0.5).astype(np.uint8), cv2.MORPH_OPEN, np.ones((THIN, THIN), np.uint8))
    contours, _ = cv2.findContours(solid, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    return [cv2.approxPolyDP(c, 0.75, True)[:, 0].astype(np.float64) for c in contours if len(c) >= 2]


def _pivot(track: np.ndarray, strings: np.ndarray) -> np.ndarray | None:
    """The point (image coordinates) an object swings about, if its centroids ``(K, 2)``
    lie on a circle (within half a pixel) and a string runs from the circle's centre to
    the object; ``strings`` ``(K, H, W)``: the scenery colour that moves, in those frames.
    The point is where the strings of every frame cross (a least-squares intersection of
    the lines fitted to them), better placed than a short arc's centre."""
    if len(track) < 5 or np.ptp(track, axis=0).max() < 2.0:
        return None
    (d, e, f), *_ = np.linalg.lstsq(np.column_stack([track, np.ones(len(track))]), -(track**2).sum(1), rcond=None)
    centre = np.array([-d / 2, -e / 2])
    radius2 = centre @ centre - f
    if radius2 <= 0 or np.abs(np.linalg.norm(track - centre, axis=1) - np.sqrt(radius2)).max() > 0.5:
        return None
    normal_sum, point_sum, lines = np.zeros((2, 2)), np.zeros(2), 0
    rows, cols = np.indices(strings.shape[1:])
    for bob, string in zip(track, strings):
        along = bob - centre
        length = np.linalg.norm(along)
        rel = np.stack([cols - centre[0], rows - centre[1]], -1)
        t = rel @ along / length**2
        near = (string > 0.3) & (t > 0.1) & (t < 0.9) & (np.abs(rel @ np.array([-along[1], along[0]]) / length) < 2.5)
        if near.sum() < 0.5 * 0.8 * length:  # no string there
            return None
        points = np.stack([cols[near], rows[near]], 1).astype(np.float32)
        dx, dy, x0, y0 = cv2.fitLine(points, cv2.DIST_L2, 0, 0.01, 0.01).ravel()
        project = np.eye(2) - np.outer([dx, dy], [dx, dy])
        normal_sum += project
        point_sum += project @ np.array([x0, y0])
        lines += 1
    if np.linalg.cond(normal_sum) > 1e4:  # parallel strings: keep the circle's centre
        return centre
    return np.linalg.solve(normal_sum, point_sum)


def _background(frames: np.ndarray, covered: np.ndarray) -> np.ndarray:
    """Per pixel, the median of the context frames where nothing covers it; pixels always
    covered are inpainted from their surroundings."""
    free = np.where(~covered[..., None], frames.astype(np.float32), np.nan)
    hidden = covered.all(0)
    filled = np.nanmedian(np.where(hidden[None, ..., None], 0.0, free), axis=0)
    image = np.clip(np.rint(filled), 0, 255).astype(np.uint8)
    return cv2.inpaint(image, hidden.astype(np.uint8), 3, cv2.INPAINT_TELEA) if hidden.any() else image


def _falls(track: np.ndarray, frames: list[int], g0: float) -> list[float]:
    """Downward accelerations (pixels per frame^2) a centroid track ``(C, 2)`` shows in
    free flight: over every :data:`FALL_FRAMES` consecutive ``frames`` that a parabola
    fits within half a pixel, with a clear fall (0.4 to 1.6 times ``g0``) and little
    sideways acceleration."""
    found, seen = [], set(frames)
    for first in frames:
        run = list(range(first, first + FALL_FRAMES))
        if not seen.issuperset(run):
            continue
        t = np.asarray(run, np.float64)
        design = np.column_stack([t**2 / 2, t, np.ones_like(t)])
        coef, *_ = np.linalg.lstsq(design, track[run], rcond=None)
        ax, ay = coef[0]
        if np.abs(design @ coef - track[run]).max() <= 0.5 and abs(ax) < 0.3 * g0 and 0.4 * g0 < ay < 1.6 * g0:
            found.append(float(ay))
    return found


def _occluder_velocity(occluded: np.ndarray) -> tuple[float, float]:
    """How fast the occluders move (columns, rows per frame): the trend of their centroid
    while their area holds (0 when it changes, or below 0.05 pixels per frame)."""
    areas = occluded.sum((1, 2))
    if areas.min() == 0 or areas.max() - areas.min() > 0.05 * areas.max():
        return 0.0, 0.0
    rows, cols = np.indices(occluded.shape[1:])
    centroid = np.stack([[(o * cols).sum() / o.sum(), (o * rows).sum() / o.sum()] for o in occluded])
    shift = _trend(list(range(len(occluded))), centroid)
    return (0.0, 0.0) if np.abs(shift).max() <= 0.05 else (float(shift[0]), float(shift[1]))


def _trend(times: list[int], values: np.ndarray) -> np.ndarray:
    """Least-squares slope of ``values`` ``(K, ...)`` over ``times`` ``(K,)`` (0 with fewer than two)."""
    values = np.asarray(values, np.float64)
    if len(times) < 2:
        return np.zeros(values.shape[1:])
    t = np.asarray(times, np.float64)
    t = t - t.mean()
    return np.tensordot(t, values, axes=1) / (t @ t)


class PhysicsResim(Adapter):
    """Re-simulates the horizon in pymunk from the state read in the context (see the module docstring).

    ``view_metres``: width of the view in metres, used only to turn the default gravity
    into pixels when the context shows no free fall (the built-in scenes' nominal view
    is 2 m; the side view of ``push_side`` is 1.2 m, the violation-of-expectation
    scenes 1.5 m).
    """

    name = "physics_resim"

    def __init__(self, view_metres: float = 2.0):
        super().__init__()
        self.view_metres = float(view_metres)

    def predict(self, batch: ContextBatch) -> torch.Tensor:
        out = [self.rollout(frames, batch.horizon, batch.fps) for frames in batch.frames]
        return torch.from_numpy(np.stack(out)).to(batch.frames.device).permute(0, 1, 4, 2, 3).float() / 255

    def rollout(self, frames: torch.Tensor, horizon: int, fps: float) -> np.ndarray:
        """``uint8 (horizon, H, W, 3)`` from one episode's context ``float (C, 3, H, W)``."""
        scene = self.read(frames, fps)
        return self.draw(scene, self.simulate(scene, frames.shape[0], horizon, fps), frames.shape[0])

    # -- reading the context ------------------------------------------------------------

    def read(self, frames: torch.Tensor, fps: float) -> Scene:
        p = _classes(frames)
        c, h, w = frames.shape[0], frames.shape[-2], frames.shape[-1]
        images = (frames * 255).round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
        s, n = len(SCENE_COLOURS), len(PALETTE)
        kept = _patches(p[:, s : s + n] + p[:, s + n : s + 2 * n]) > 0
        fills, marks = p[:, s : s + n] * kept, p[:, s + n : s + 2 * n] * kept
        masks = fills + marks
        present = [k for k in range(n) if (masks[:, k] > 0.5).sum((1, 2)).max() >= MIN_PIXELS]
        objects = masks.sum(1) > 0.5
        scenery_seen = np.where(objects, 0.0, p[:, _SCENERY])
        scenery = scenery_seen.sum(0) / np.maximum((~objects).sum(0), 1)  # static scenery: near 1
        states = mask_states(
            torch.from_numpy(masks[None, :, present]),
            torch.from_numpy(masks[:, present].sum((2, 3)).max(0)[None]),
            torch.ones(1, len(present), dtype=torch.bool),
        )
        centres = states.centroid[0].double().numpy()  # (C, N, 2), image coordinates
        fraction = states.fraction[0].double().numpy()
        occluded = p[:, _OCCLUDER] > 0.5
        seen = {}
        for i, k in enumerate(present):
            full = [
                t
                for t in range(c)
                if fraction[t, i] >= FULL and np.isfinite(centres[t, i, 0]) and not _touches(masks[t, k], occluded[t])
            ]
            seen[i] = full or [int(np.nanargmax(fraction[:, i]))]
        strings = np.where(scenery < 0.5, scenery_seen, 0.0)  # (C, H, W)
        pivots = {i: _pivot(centres[seen[i], i], strings[seen[i]]) for i in seen}
        gravity = self._gravity(centres, seen, pivots, scenery, GRAVITY * w / self.view_metres / fps**2)
        bodies = [
            self._body(k, fills[:, k], marks[:, k], centres[:, i], seen[i], pivots[i], gravity, h)
            for i, k in enumerate(present)
        ]
        grow = np.ones((3, 3), np.uint8)
        for body, k in zip(bodies, present):
            footprint = masks[-1, k] > 0.1
            if body.anchor is not None:
                footprint |= strings[-1] > 0.1
            body.footprint = cv2.dilate(footprint.astype(np.uint8), grow).astype(bool)
        covered = objects | occluded | ((scenery_seen > 0.5) & (scenery < 0.5))  # and moving strings
        return Scene(
            bodies=bodies,
            last=images[-1],
            walls=[_to_up(line, h) for line in _walls(scenery)],
            gravity=gravity,
            background=_background(images, covered),
            occluder=p[-1, _OCCLUDER].astype(np.float32),
            occluder_colour=images[-1],
            occluder_velocity=_occluder_velocity(occluded),
        )

    @staticmethod
    def _body(
        k: int,
        fill: np.ndarray,
        mark: np.ndarray,
        centres: np.ndarray,
        seen: list[int],
        pivot: np.ndarray | None,
        gravity: float,
        height: int,
    ) -> Body:
        """Palette object ``k`` from its masks ``(C, H, W)`` and centroids ``(C, 2)``, measured
        in the frames ``seen`` fully (the last of them is where it enters the simulation)."""
        masks = fill + mark
        best = max(seen, key=lambda t: masks[t].sum())
        angle, sides = _pose(fill[best], mark[best], centres[best], box=True)
        if min(sides) <= 0:
            sides = (float(np.sqrt(masks[best].sum())),) * 2
        pose = np.array([[*_to_up(centres[best], height), angle, height]])
        candidates = [_fitted(_circle(k, 1.0), masks[best], pose), _fitted(_box(k, *sides), masks[best], pose)]
        spec = candidates[1][0] if candidates[1][1] > candidates[0][1] + BOX_MARGIN else candidates[0][0]
        box = spec.shape == "box"
        last = seen[-1]
        recent = [t for t in seen if t >= last - 3]
        angles = np.unwrap([_pose(fill[t], mark[t], centres[t], box)[0] for t in recent])
        velocity = np.zeros(2)
        if len(seen) >= 2 and seen[-2] == last - 1:
            step = centres[last] - centres[last - 1]
            velocity = np.array([step[0], -step[1]])
            if np.abs(velocity).max() > AT_REST:  # the mean velocity over the frame, half a frame ago
                velocity[1] -= gravity / 2
        return Body(
            spec=spec,
            start=last,
            position=tuple(_to_up(centres[last], height)),
            angle=float(angles[-1]),
            velocity=tuple(velocity),
            spin=float(_trend(recent, angles)),
            anchor=None if pivot is None else tuple(_to_up(pivot, height)),
        )

    @staticmethod
    def _gravity(
        centres: np.ndarray,
        seen: dict[int, list[int]],
        pivots: dict[int, np.ndarray | None],
        scenery: np.ndarray,
        g0: float,
    ) -> float:
        """Downward acceleration (pixels per frame^2) of the simulation: what objects falling
        freely show (two windows at least, agreeing), else ``g0`` for a floor without a
        ceiling or a pendulum, else 0."""
        falls = np.array(
            [a for i, frames in seen.items() if pivots[i] is None for a in _falls(centres[:, i], frames, g0)]
        )
        agree = np.abs(falls - np.median(falls)) <= FALLS_AGREE * np.median(falls) if len(falls) else falls
        if agree.sum() >= 2:  # one window may be a collision that happens to look like a fall
            return float(np.median(falls[agree]))
        band = max(2, scenery.shape[0] // 4)
        floor = ((scenery[-band:] > 0.5).any(0)).mean() > 0.8
        ceiling = ((scenery[:band] > 0.5).any(0)).mean() > 0.8
        on = (floor and not ceiling) or any(p is not None for p in pivots.values())
        return g0 if on else 0.0

    # -- simulating and drawing -----------------------------------------------------------

    def simulate(self, scene: Scene, context: int, horizon: int, fps: float) -> list[np.ndarray]:
        """Poses ``(N, 3)`` (x, y, angle) of every body at each of the ``horizon`` frames."""
        substeps = max(1, round(SIM_HZ / fps))
        space = pymunk.Space()
        space.gravity = (0.0, -scene.gravity * fps**2)
        space.sleep_time_threshold = SLEEP_SECONDS
        for line in scene.walls:
            for a, b in zip(line, np.roll(line, -1, axis=0)):
                wall = pymunk.Segment(space.static_body, tuple(a), tuple(b), 0.5)
                wall.elasticity, wall.friction = SCENERY_ELASTICITY, SCENERY_FRICTION
                space.add(wall)
        made: list[pymunk.Body | None] = [None] * len(scene.bodies)
        poses = []
        first = min((b.start for b in scene.bodies), default=context - 1)
        for t in range(first, context + horizon):
            for i, body in enumerate(scene.bodies):
                if body.start == t:
                    made[i] = self._add(space, body, fps)
            if t >= context:
                poses.append(np.array([(b.position.x, b.position.y, b.angle) for b in made], np.float64).reshape(-1, 3))
            for _ in range(substeps):
                space.step(1.0 / (fps * substeps))
        return poses

    @staticmethod
    def _add(space: pymunk.Space, body: Body, fps: float) -> pymunk.Body:
        spec, mass = body.spec, body.spec.mass
        if spec.shape == "circle":
            made = pymunk.Body(mass, pymunk.moment_for_circle(mass, 0, spec.size[0]))
            shape: pymunk.Shape = pymunk.Circle(made, spec.size[0])
        else:
            made = pymunk.Body(mass, pymunk.moment_for_box(mass, spec.size))
            shape = pymunk.Poly.create_box(made, spec.size)
        shape.elasticity, shape.friction = ELASTICITY, FRICTION
        made.position, made.angle = body.position, body.angle
        made.velocity = (body.velocity[0] * fps, body.velocity[1] * fps)
        made.angular_velocity = body.spin * fps
        space.add(made, shape)
        if body.anchor is not None:
            space.add(pymunk.PinJoint(space.static_body, made, body.anchor, (0.0, 0.0)))
        if body.at_rest:
            made.sleep()
        return made

    def draw(self, scene: Scene, poses: list[np.ndarray], context: int) -> np.ndarray:
        """Each future frame: the last context frame, where every body that moved (and a
        moving occluder) is replaced by the background and the body redrawn at its new
        pose, then the occluders in front."""
        h, w = scene.last.shape[:2]
        camera = Camera((w - 1) / 2, (h - 1) / 2, 1.0, resolution=w)
        start = np.array([(*b.position, b.angle) for b in scene.bodies], np.float64).reshape(-1, 3)
        moving_occluder = any(scene.occluder_velocity)
        out = np.empty((len(poses), h, w, 3), np.uint8)
        for k, pose in enumerate(poses, start=1):
            moved = [
                i
                for i, b in enumerate(scene.bodies)
                if np.hypot(*(pose[i, :2] - start[i, :2])) > STILL_PIXELS
                or abs(pose[i, 2] - start[i, 2]) > STILL_ANGLE
                or b.start < context - 1
            ]
            erase = np.zeros((h, w), bool)
            for i in moved:
                erase |= scene.bodies[i].footprint
            if moving_occluder:
                erase |= scene.occluder > 0.05
            base = np.where(erase[..., None], scene.background, scene.last)
            specs = [scene.bodies[i].spec for i in moved]
            tethers = [(scene.bodies[i].anchor, j) for j, i in enumerate(moved) if scene.bodies[i].anchor is not None]
            frame, _, _ = render(specs, pose[moved], camera, background=base, tethers=tethers)
            du, dv = scene.occluder_velocity[0] * k, scene.occluder_velocity[1] * k
            move = np.float32([[1, 0, du], [0, 1, dv]])
            alpha = cv2.warpAffine(scene.occluder, move, (w, h))[..., None]
            colour = cv2.warpAffine(scene.occluder_colour, move, (w, h)).astype(np.float32)
            out[k - 1] = np.clip(np.rint(alpha * colour + (1 - alpha) * frame), 0, 255).astype(np.uint8)
        return out
