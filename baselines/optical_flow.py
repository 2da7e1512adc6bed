"""``optical_flow``: dense optical flow from the last two context frames, carried forward.

The classic non-learned motion baseline. OpenCV's DIS optical flow (Kroeger et al.
2016, "Fast Optical Flow using Dense Inverse Search"; medium preset) from the last
context frame back to the one before gives every pixel's velocity ``v`` (pixels per
frame). Future frame ``k`` is the last frame forward-warped by ``k v``: every pixel is
splatted bilinearly onto the four pixels around its new place, weighted by
``exp(SPEED_WEIGHT * |v|)`` so that where a moving pixel and a still one land together
the moving one shows (softmax splatting, Niklaus and Liu 2020), and each pixel takes
the weighted mean of what lands on it. Pixels nothing lands on (the background a
moving object uncovers) are inpainted from their surroundings (Telea).

It differs from ``linear_extrapolation`` (Farneback flow, moving pixels alone moved to
the nearest pixel over a background inpainted beforehand) by a more accurate flow and
sub-pixel motion; both assume constant velocity: no gravity, no collisions.
"""

import cv2
import numpy as np
import torch

from wmbench import Adapter, ContextBatch, Requirements
from wmbench.baselines.linear_extrapolation import from_last_two

#: Splatting weight per pixel-per-frame of speed: a pixel moving 1 px/frame faster outweighs one by e^4.
SPEED_WEIGHT = 4.0
#: Less total splatting weight than this leaves a hole.
HOLE = 1e-3


def flow_velocity(previous: np.ndarray, last: np.ndarray) -> np.ndarray:
    """``float32 (H, W, 2)``: the velocity (x, y pixels per frame) of each pixel of ``last``."""
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    gray = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in (last, previous)]
    return -dis.calc(gray[0], gray[1], None)


def splat(image: np.ndarray, shift: np.ndarray, weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Forward-warp ``image`` ``(H, W, 3)`` by ``shift`` ``(H, W, 2)``: the weighted sum of
    colours landing on each pixel ``(H, W, 3)`` and the total weight ``(H, W)``."""
    h, w = weight.shape
    ys, xs = np.mgrid[0:h, 0:w]
    tx, ty = xs + shift[..., 0], ys + shift[..., 1]
    x0, y0 = np.floor(tx).astype(np.int64), np.floor(ty).astype(np.int64)
    colour = np.zeros((h * w, 3))
    total = np.zeros(h * w)
    for dx in (0, 1):
        for dy in (0, 1):
            cx, cy = x0 + dx, y0 + dy
            share = (1 - np.abs(tx - cx)) * (1 - np.abs(ty - cy)) * weight
            inside = (cx >= 0) & (cx < w) & (cy >= 0) & (cy < h) & (share > 0)
            index = (cy * w + cx)[inside]
            total += np.bincount(index, share[inside], h * w)
            for c in range(3):
                colour[:, c] += np.bincount(index, share[inside] * image[..., c][inside], h * w)
    return colour.reshape(h, w, 3), total.reshape(h, w)


def extrapolate(previous: np.ndarray, last: np.ndarray, horizon: int) -> np.ndarray:
    """``uint8 (horizon, H, W, 3)`` frames from two ``uint8 (H, W, 3)`` frames."""
    velocity = flow_velocity(previous, last)
    weight = np.exp(SPEED_WEIGHT * np.minimum(np.linalg.norm(velocity, axis=-1), 10.0))
    out = np.empty((horizon,) + last.shape, np.uint8)
    for k in range(1, horizon + 1):
        colour, total = splat(last.astype(np.float64), k * velocity, weight)
        frame = np.clip(np.rint(colour / np.maximum(total, HOLE)[..., None]), 0, 255).astype(np.uint8)
        holes = (total < HOLE).astype(np.uint8)
        out[k - 1] = cv2.inpaint(frame, holes, 3, cv2.INPAINT_TELEA) if holes.any() else frame
    return out


class OpticalFlow(Adapter):
    name = "optical_flow"
    requirements = Requirements(context=2)

    def predict(self, batch: ContextBatch) -> torch.Tensor:
        return from_last_two(batch, extrapolate)
