"""Rendering with OpenCV: anti-aliased flat-colour objects, ground-truth instance ids
and visible fractions.

Image coordinates: x right, y down, pixel centres at integers. A world point
``(x, y)`` (metres, y up) maps to ``u = (x - cx) * ppm + W / 2 - 0.5`` and
``v = (cy - y) * ppm + H / 2 - 0.5`` for a camera centred on ``(cx, cy)`` with
``ppm`` pixels per metre.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from wmbench.worlds.episode import OCCLUDER_ID, ObjectSpec

SHIFT = 4  # OpenCV fixed-point bits: vertices at 1/16 pixel
_SCALE = 1 << SHIFT
BACKGROUND = (236, 236, 230)
SCENERY = (120, 120, 128)
OCCLUDER_COLOUR = (70, 70, 78)
MARK_DARKEN = 0.45

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


def outline(obj: ObjectSpec, x: float, y: float, angle: float) -> np.ndarray:
    """World-space polygon ``(K, 2)`` of a box or polygon object at a pose."""
    c, s = np.cos(angle), np.sin(angle)
    local = np.asarray(obj.vertices, dtype=np.float64)
    return np.stack([x + c * local[:, 0] - s * local[:, 1], y + s * local[:, 0] + c * local[:, 1]], axis=1)


def _fixed(points: np.ndarray) -> np.ndarray:
    return np.round(points * _SCALE).astype(np.int32)


def _draw_shape(canvas: np.ndarray, obj: ObjectSpec, pose: np.ndarray, camera: Camera,
                colour, antialias: bool) -> None:
    line = cv2.LINE_AA if antialias else cv2.LINE_8
    x, y, angle = pose[:3]
    if obj.shape == "circle":
        centre = _fixed(camera.to_pixels(np.array([x, y])))
        radius = int(round(obj.size[0] * camera.ppm * _SCALE))
        cv2.circle(canvas, (int(centre[0]), int(centre[1])), radius, colour, -1, line, SHIFT)
    else:
        cv2.fillPoly(canvas, [_fixed(camera.to_pixels(outline(obj, x, y, angle)))], colour, line, SHIFT)


def _draw_mark(canvas: np.ndarray, obj: ObjectSpec, pose: np.ndarray, camera: Camera) -> None:
    """A darker spoke from the centre towards the body's local +x axis: shows rotation."""
    x, y, angle = pose[:3]
    reach = 0.8 * (obj.size[0] if obj.shape == "circle" else min(obj.size) / 2)
    tip = np.array([x + reach * np.cos(angle), y + reach * np.sin(angle)])
    a, b = _fixed(camera.to_pixels(np.array([x, y]))), _fixed(camera.to_pixels(tip))
    dark = tuple(int(v * MARK_DARKEN) for v in obj.colour)
    width = max(1, int(round(camera.ppm * reach * 0.25)))
    cv2.line(canvas, (int(a[0]), int(a[1])), (int(b[0]), int(b[1])), dark, width, cv2.LINE_AA, SHIFT)


def _full_area_pixels(obj: ObjectSpec, pose: np.ndarray, camera: Camera) -> int:
    """Pixels the object covers when drawn alone on an unbounded canvas.

    The camera is shifted by a whole number of pixels so that the object lands in a
    small canvas at the same sub-pixel phase as in the frame.
    """
    extent = int(np.ceil(max(obj.size) * camera.ppm)) + 4
    offset = np.floor(camera.to_pixels(pose[:2])) - extent
    local = Camera(camera.cx + offset[0] / camera.ppm, camera.cy - offset[1] / camera.ppm,
                   camera.ppm, camera.resolution)
    mask = np.zeros((2 * extent + 2, 2 * extent + 2), np.uint8)
    _draw_shape(mask, obj, pose, local, 1, antialias=False)
    return int(mask.sum())


def render(objects: list[ObjectSpec], poses: np.ndarray, camera: Camera,
           scenery: list[np.ndarray] = (), occluders: list[np.ndarray] = (),
           background: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Render one frame.

    ``poses``: ``(N, >=3)`` with ``x, y, angle`` per object. ``scenery`` and
    ``occluders``: world-space polygons, drawn behind and in front of objects.
    Returns ``frame uint8 (H, W, 3)``, ``ids uint8 (H, W)`` and ``visible (N,)``.
    """
    size = camera.resolution
    frame = (background.copy() if background is not None
             else np.empty((size, size, 3), np.uint8))
    if background is None:
        frame[:] = BACKGROUND
    ids = np.zeros((size, size), np.uint8)
    for poly in scenery:
        cv2.fillPoly(frame, [_fixed(camera.to_pixels(poly))], SCENERY, cv2.LINE_AA, SHIFT)
    for k, (obj, pose) in enumerate(zip(objects, poses), start=1):
        _draw_shape(frame, obj, pose, camera, obj.colour, antialias=True)
        _draw_mark(frame, obj, pose, camera)
        _draw_shape(ids, obj, pose, camera, k, antialias=False)
    for poly in occluders:
        pts = [_fixed(camera.to_pixels(poly))]
        cv2.fillPoly(frame, pts, OCCLUDER_COLOUR, cv2.LINE_AA, SHIFT)
        cv2.fillPoly(ids, pts, OCCLUDER_ID, cv2.LINE_8, SHIFT)
    counts = np.bincount(ids.ravel(), minlength=256)
    visible = np.zeros(len(objects), np.float32)
    for k, (obj, pose) in enumerate(zip(objects, poses), start=1):
        full = _full_area_pixels(obj, pose, camera)
        visible[k - 1] = min(1.0, counts[k] / full) if full else 0.0
    return frame, ids, visible
