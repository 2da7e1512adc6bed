"""The Physics-IQ motion masks frame by frame with OpenCV's calls (NumPy only, no torch):
the definition in :mod:`wmbench.metrics.motion` (steps 1-5), as the official
``binary_mask_generator`` runs it. Used on the CPU by :func:`~wmbench.metrics.motion.motion_masks`
and by ``wmbench physics-iq``."""

from __future__ import annotations

import cv2
import numpy as np

BACKGROUND_WEIGHT = 0.3
THRESHOLD = 10
MORPH_SIZE = 5
_KERNEL = np.ones((MORPH_SIZE, MORPH_SIZE), np.uint8)


class MotionMasks:
    """Masks of one sequence, one frame at a time: :meth:`push` a ``uint8 (H, W, 3)``
    frame (BGR, or RGB with ``rgb=True``), get its ``uint8 (H, W)`` mask (0 or 255).

    ``background``: the ``float64 (H, W)`` running average to continue from (updated
    in place); without one, the first frame starts it and its mask is empty.
    """

    def __init__(self, background: np.ndarray | None = None, rgb: bool = False):
        self.background = background
        self._grey = cv2.COLOR_RGB2GRAY if rgb else cv2.COLOR_BGR2GRAY

    def push(self, frame: np.ndarray) -> np.ndarray:
        grey = cv2.GaussianBlur(cv2.cvtColor(frame, self._grey), (5, 5), 0)
        if self.background is None:
            self.background = grey.astype(np.float64)
            return np.zeros_like(grey)
        cv2.accumulateWeighted(grey, self.background, BACKGROUND_WEIGHT)
        difference = cv2.absdiff(grey, cv2.convertScaleAbs(self.background))
        _, mask = cv2.threshold(difference, THRESHOLD, 255, cv2.THRESH_BINARY)
        return cv2.morphologyEx(cv2.morphologyEx(mask, cv2.MORPH_OPEN, _KERNEL), cv2.MORPH_CLOSE, _KERNEL)
