"""``linear_extrapolation``: constant velocity per pixel, from the last two context frames.

Dense optical flow (Farneback, OpenCV) from the last context frame back to the one
before gives each pixel's velocity; future frame ``k`` moves every moving pixel of the
last frame ``k`` times its velocity (forward splatting, faster pixels drawn over slower
ones). Where no moving pixel lands, the background shows: the last frame with its
moving pixels inpainted from their surroundings (Telea). No gravity, no collisions: the
simplest model of motion, between ``copy_last`` (no motion) and a physical model.
"""

from collections.abc import Callable

import cv2
import numpy as np
import torch

from wmbench import Adapter, ContextBatch, Requirements

#: Pixels slower than this (pixels per frame) count as static.
MIN_SPEED = 0.5


def _gray(frame: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)


def extrapolate(previous: np.ndarray, last: np.ndarray, horizon: int) -> np.ndarray:
    """``uint8 (horizon, H, W, 3)`` frames from two ``uint8 (H, W, 3)`` frames."""
    back = cv2.calcOpticalFlowFarneback(_gray(last), _gray(previous), None, pyr_scale=0.5, levels=3,
                                        winsize=15, iterations=3, poly_n=5, poly_sigma=1.2, flags=0)
    velocity = -back  # (H, W, 2): x, y pixels per frame of each pixel of the last frame
    speed = np.linalg.norm(velocity, axis=-1)
    moving = speed > MIN_SPEED
    background = cv2.inpaint(last, moving.astype(np.uint8), 3, cv2.INPAINT_TELEA) if moving.any() else last
    ys, xs = np.nonzero(moving)
    order = np.argsort(speed[ys, xs])  # faster pixels drawn last, on top
    ys, xs = ys[order], xs[order]
    h, w = speed.shape
    out = np.empty((horizon, h, w, 3), dtype=np.uint8)
    for k in range(1, horizon + 1):
        tx = np.rint(xs + k * velocity[ys, xs, 0]).astype(np.int64)
        ty = np.rint(ys + k * velocity[ys, xs, 1]).astype(np.int64)
        inside = (tx >= 0) & (tx < w) & (ty >= 0) & (ty < h)
        frame = background.copy()
        frame[ty[inside], tx[inside]] = last[ys[inside], xs[inside]]
        out[k - 1] = frame
    return out


def from_last_two(batch: ContextBatch, extrapolate_clip: Callable[[np.ndarray, np.ndarray, int], np.ndarray]) -> torch.Tensor:
    """Each clip's future from its last two context frames: ``extrapolate_clip(previous,
    last, horizon)`` on ``uint8 (H, W, 3)`` frames gives ``uint8 (horizon, H, W, 3)``."""
    frames = (batch.frames[:, -2:] * 255).round().clamp(0, 255).to(torch.uint8)
    frames = frames.permute(0, 1, 3, 4, 2).cpu().numpy()  # (B, 2, H, W, 3)
    out = np.stack([extrapolate_clip(f[0], f[1], batch.horizon) for f in frames])
    return torch.from_numpy(out).to(batch.frames.device).permute(0, 1, 4, 2, 3).float() / 255


class LinearExtrapolation(Adapter):
    name = "linear_extrapolation"
    requirements = Requirements(context=2)

    def predict(self, batch: ContextBatch) -> torch.Tensor:
        return from_last_two(batch, extrapolate)
