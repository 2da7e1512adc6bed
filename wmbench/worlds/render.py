"""Rendering with OpenCV: anti-aliased flat-colour objects, ground-truth instance ids
and visible fractions.

Image coordinates: x right, y down, pixel centres at integers. A world point
``(x, y)`` (metres, y up) maps to ``u = (x - cx) * ppm + W / 2 - 0.5`` and
``v = (cy - y) * ppm + H / 2 - 0.5`` for a camera centred on ``(cx, cy)`` with
``ppm`` pixels per metre.

Drawing order, back to front: the background (flat, or a :class:`Backdrop` texture
fixed in world coordinates), static scenery (floors, walls, ramps), tethers (e.g.
pendulum strings), the objects with their rotation marks, then occluders. Instance ids
follow the same order, so an object's visible fraction counts what occluders, objects
drawn after it and the frame edges hide.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

import cv2
import numpy as np

from wmbench.worlds import exactmath
from wmbench.worlds.episode import OCCLUDER_ID, ObjectSpec

SHIFT = 4  # OpenCV fixed-point bits: vertices at 1/16 pixel
_SCALE = 1 << SHIFT
BACKGROUND = (236, 236, 230)
SCENERY = (120, 120, 128)
OCCLUDER = (70, 70, 78)
MARK_DARKEN = 0.45
TETHER_WIDTH = 0.012  # metres

#: Well-separated flat colours for objects (RGB), in the order objects take them.
PALETTE = (
    (230, 25, 75), (60, 120, 240), (255, 190, 0), (0, 170, 90), (145, 30, 180),
    (255, 120, 30), (0, 190, 200), (240, 50, 230), (120, 80, 20), (128, 128, 0),
)


@dataclass(frozen=True)
class Camera:
    """A view of ``resolution`` square pixels centred on ``(cx, cy)`` metres."""

    cx: float
    cy: float
    ppm: float
    resolution: int

    def to_pixels(self, xy: np.ndarray) -> np.ndarray:
        """World points ``(..., 2)`` to image coordinates ``(..., 2)``."""
        xy = np.asarray(xy, dtype=np.float64)
        half = self.resolution / 2 - 0.5
        u = (xy[..., 0] - self.cx) * self.ppm + half
        v = (self.cy - xy[..., 1]) * self.ppm + half
        return np.stack([u, v], axis=-1)

    def to_fixed(self, xy: np.ndarray) -> np.ndarray:
        """World points ``(K, 2)`` to OpenCV fixed-point pixel coordinates ``int32 (K, 2)``."""
        scale = self.ppm * _SCALE
        offset = (self.resolution / 2 - 0.5) * _SCALE
        return np.rint((xy - (self.cx, self.cy)) * (scale, -scale) + offset).astype(np.int32)

    def world_grid(self) -> tuple[np.ndarray, np.ndarray]:
        """World x of every pixel column ``(W,)`` and world y of every pixel row ``(H,)``."""
        offsets = (np.arange(self.resolution) - (self.resolution / 2 - 0.5)) / self.ppm
        return self.cx + offsets, self.cy - offsets


@dataclass(frozen=True)
class Backdrop:
    """A static procedural texture fixed in world coordinates (deterministic in ``seed``).

    Square tiles of ``tile`` metres, each shaded by an integer hash of its index, with
    a finer layer of tiles a quarter the size on top: a panning camera sees the same
    content at the same world place, so consistency of static content can be scored.
    Colours stay within ``contrast`` grey levels of :data:`BACKGROUND`, far from the
    object palette.
    """

    seed: int
    tile: float = 0.25
    contrast: float = 18.0

    def image(self, camera: Camera) -> np.ndarray:
        """The texture as seen by ``camera``: ``uint8 (H, W, 3)``."""
        xs, ys = camera.world_grid()
        shade = 0.7 * self._layer(xs, ys, self.tile, 1) + 0.3 * self._layer(xs, ys, self.tile / 4, 2)
        tint = np.array([1.0, 0.85, 0.6]) * self.contrast
        image = np.asarray(BACKGROUND, np.float64) + shade[..., None] * tint
        return np.clip(np.rint(image), 0, 255).astype(np.uint8)

    def _layer(self, xs: np.ndarray, ys: np.ndarray, tile: float, salt: int) -> np.ndarray:
        ix = np.floor(xs / tile).astype(np.int64).view(np.uint64)
        iy = np.floor(ys / tile).astype(np.int64).view(np.uint64)
        key = np.uint64((self.seed * 0x9E3779B97F4A7C15 + salt * 0xD1B54A32D192ED03) % (1 << 64))
        h = iy[:, None] * np.uint64(0xC2B2AE3D27D4EB4F) + ix[None, :] * np.uint64(0x165667B19E3779F9) + key
        h ^= h >> np.uint64(29)
        h *= np.uint64(0xBF58476D1CE4E5B9)
        h ^= h >> np.uint64(32)
        return (h & np.uint64(0xFFFF)).astype(np.float64) / 32767.5 - 1.0

    def describe(self) -> dict:
        return {"seed": self.seed, "tile": self.tile, "contrast": self.contrast}


@lru_cache(maxsize=8)
def _flat_background(size: int) -> np.ndarray:
    image = np.empty((size, size, 3), np.uint8)
    image[:] = BACKGROUND
    image.flags.writeable = False
    return image


def outline(obj: ObjectSpec, x: float, y: float, angle: float) -> np.ndarray:
    """World-space polygon ``(K, 2)`` of a box or polygon object at a pose."""
    s, c = exactmath.sincos(angle)
    local = np.asarray(obj.vertices, dtype=np.float64)
    return np.stack([x + c * local[:, 0] - s * local[:, 1], y + s * local[:, 0] + c * local[:, 1]], axis=1)


@dataclass
class _Drawn:
    """One object's fixed-point geometry in a frame and its pixel bounding box."""

    centre: np.ndarray  # int32 (2,), fixed point
    polygon: np.ndarray | None  # int32 (K, 2), fixed point; None for circles
    radius: int  # fixed point; circles only
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 inclusive pixel bounds (may lie outside)


@lru_cache(maxsize=1024)
def _style(obj: ObjectSpec) -> tuple[float, tuple[int, int, int], np.ndarray | None]:
    """Per object, once: the rotation mark's reach (metres) and colour, and the body-local
    polygon (``None`` for circles)."""
    reach = 0.8 * (obj.size[0] if obj.shape == "circle" else min(obj.size) / 2)
    dark = tuple(int(v * MARK_DARKEN) for v in obj.colour)
    local = None if obj.shape == "circle" else np.asarray(obj.vertices, np.float64)
    return reach, dark, local


@lru_cache(maxsize=256)
def _corners(objects: tuple[ObjectSpec, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mark reaches ``(N,)``, every polygon's body-local corners stacked ``(M, 2)`` and
    the object each corner belongs to ``(M,)``."""
    styles = [_style(obj) for obj in objects]
    polygons = [(k, style[2]) for k, style in enumerate(styles) if style[2] is not None]
    local = np.concatenate([p for _, p in polygons]) if polygons else np.zeros((0, 2))
    owner = np.concatenate([np.full(len(p), k) for k, p in polygons]).astype(np.intp) if polygons else np.zeros(0, np.intp)
    return np.array([style[0] for style in styles]), local, owner


def _layout(objects: Sequence[ObjectSpec], poses: np.ndarray, camera: Camera) -> tuple[list[_Drawn], np.ndarray]:
    """Every object's fixed-point geometry and mark tip ``(N, 2)``, in one transform."""
    n = len(objects)
    poses = np.asarray(poses, np.float64)[:n]
    x, y = poses[:, 0], poses[:, 1]
    s, c = exactmath.sincos(poses[:, 2])
    styles = [_style(obj) for obj in objects]
    reach, local, owner = _corners(tuple(objects))
    c_, s_ = c[owner], s[owner]
    points = np.concatenate([
        poses[:, :2], np.stack([x + reach * c, y + reach * s], axis=1),
        np.stack([x[owner] + c_ * local[:, 0] - s_ * local[:, 1], y[owner] + s_ * local[:, 0] + c_ * local[:, 1]], 1)])
    fixed = camera.to_fixed(points)
    drawn, at = [], 2 * n
    for k, (obj, (_, _, local)) in enumerate(zip(objects, styles)):
        centre = fixed[k]
        if local is None:
            radius = int(round(obj.size[0] * camera.ppm * _SCALE))
            drawn.append(_Drawn(centre, None, radius, _pixel_box(centre - radius, centre + radius)))
        else:
            polygon = fixed[at: at + len(local)]
            at += len(local)
            drawn.append(_Drawn(centre, polygon, 0, _pixel_box(polygon.min(0), polygon.max(0))))
    return drawn, fixed[n: 2 * n]


def _pixel_box(lo: np.ndarray, hi: np.ndarray) -> tuple[int, int, int, int]:
    """Inclusive pixel bounds that surely contain a shape spanning fixed points lo..hi."""
    return (int(lo[0] >> SHIFT) - 2, int(lo[1] >> SHIFT) - 2, int(hi[0] >> SHIFT) + 2, int(hi[1] >> SHIFT) + 2)


def _fill(canvas: np.ndarray, drawn: _Drawn, colour, line: int, offset: np.ndarray | None = None) -> None:
    centre, polygon = drawn.centre, drawn.polygon
    if offset is not None:
        centre = centre - offset
        polygon = None if polygon is None else polygon - offset
    if polygon is None:
        cv2.circle(canvas, (int(centre[0]), int(centre[1])), drawn.radius, colour, -1, line, SHIFT)
    else:
        cv2.fillPoly(canvas, [polygon], colour, line, SHIFT)


def _draw_mark(canvas: np.ndarray, obj: ObjectSpec, drawn: _Drawn, tip: np.ndarray, ppm: float) -> None:
    """A darker spoke from the centre towards the body's local +x axis: shows rotation."""
    reach, dark, _ = _style(obj)
    width = max(1, int(round(ppm * reach * 0.25)))
    a = drawn.centre
    cv2.line(canvas, (int(a[0]), int(a[1])), (int(tip[0]), int(tip[1])), dark, width, cv2.LINE_AA, SHIFT)


def _full_area_pixels(drawn: _Drawn) -> int:
    """Pixels the object covers when drawn alone on an unbounded canvas.

    The fixed-point geometry is shifted by a whole number of pixels into a small
    canvas, so it is rasterised exactly as in the frame.
    """
    x0, y0, x1, y1 = drawn.box
    mask = np.zeros((y1 - y0 + 1, x1 - x0 + 1), np.uint8)
    _fill(mask, drawn, 1, cv2.LINE_8, offset=np.array([x0, y0], np.int32) << SHIFT)
    return int(np.count_nonzero(mask))


def _overlaps(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


def render(objects: list[ObjectSpec], poses: np.ndarray, camera: Camera,
           scenery: Sequence[np.ndarray] = (), occluders: Sequence[np.ndarray] = (),
           background: np.ndarray | None = None, *,
           tethers: Sequence[tuple[Sequence[float], int]] = ()) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Render one frame.

    ``poses``: ``(N, >=3)`` with ``x, y, angle`` per object. ``scenery`` and
    ``occluders``: world-space polygons, drawn behind and in front of objects.
    ``background``: an ``(H, W, 3)`` image to draw on (e.g. :meth:`Backdrop.image`),
    else a flat colour. ``tethers``: ``(anchor_xy, object_index)`` pairs, a thin line
    from a world point to an object's centre, drawn behind the objects.
    Returns ``frame uint8 (H, W, 3)``, ``ids uint8 (H, W)`` and ``visible (N,)``.
    """
    size = camera.resolution
    frame = (background if background is not None else _flat_background(size)).copy()
    ids = np.zeros((size, size), np.uint8)
    for poly in scenery:
        cv2.fillPoly(frame, [camera.to_fixed(np.asarray(poly, np.float64))], SCENERY, cv2.LINE_AA, SHIFT)
    if tethers:
        width = max(1, int(round(TETHER_WIDTH * camera.ppm)))
        for anchor, index in tethers:
            ends = camera.to_fixed(np.array([anchor, poses[index][:2]], np.float64))
            cv2.line(frame, tuple(map(int, ends[0])), tuple(map(int, ends[1])), SCENERY, width, cv2.LINE_AA, SHIFT)
    drawn, tips = _layout(objects, poses, camera)
    for k, (obj, geo) in enumerate(zip(objects, drawn), start=1):
        _fill(frame, geo, obj.colour, cv2.LINE_AA)
        _draw_mark(frame, obj, geo, tips[k - 1], camera.ppm)
        _fill(ids, geo, k, cv2.LINE_8)
    occluder_boxes = []
    for poly in occluders:
        pts = camera.to_fixed(np.asarray(poly, np.float64))
        cv2.fillPoly(frame, [pts], OCCLUDER, cv2.LINE_AA, SHIFT)
        cv2.fillPoly(ids, [pts], OCCLUDER_ID, cv2.LINE_8, SHIFT)
        occluder_boxes.append(_pixel_box(pts.min(0), pts.max(0)))
    return frame, ids, _visible_fractions(ids, drawn, occluder_boxes)


def _visible_fractions(ids: np.ndarray, drawn: list[_Drawn], occluder_boxes: list) -> np.ndarray:
    """Visible pixels of each object over the pixels it covers when drawn alone.

    An object inside the frame that nothing drawn after it can touch is wholly
    visible; one wholly outside the frame is invisible; the rest are counted.
    """
    size = ids.shape[0]
    visible = np.zeros(len(drawn), np.float32)
    for k, geo in enumerate(drawn, start=1):
        x0, y0, x1, y1 = geo.box
        if x1 < 0 or y1 < 0 or x0 >= size or y0 >= size:
            continue
        inside = x0 >= 0 and y0 >= 0 and x1 < size and y1 < size
        covered = any(_overlaps(geo.box, other.box) for other in drawn[k:]) or any(
            _overlaps(geo.box, box) for box in occluder_boxes)
        if inside and not covered:
            visible[k - 1] = 1.0
            continue
        full = _full_area_pixels(geo)
        window = ids[max(y0, 0): y1 + 1, max(x0, 0): x1 + 1]
        visible[k - 1] = min(1.0, np.count_nonzero(window == k) / full) if full else 0.0
    return visible
