"""Frames in their two layouts: episodes and files hold ``uint8 (..., H, W, 3)`` RGB
arrays; models and metrics take ``(..., 3, H, W)`` tensors, ``float32`` in ``[0, 1]``.
"""

from __future__ import annotations

import numpy as np
import torch


def channels_first(frames: np.ndarray) -> torch.Tensor:
    """``uint8 (..., H, W, 3)`` -> contiguous ``uint8 (..., 3, H, W)``: every batch built
    from it has one memory layout, so reductions over it run in one order."""
    return torch.from_numpy(np.ascontiguousarray(frames)).movedim(-1, -3).contiguous()


def as_float(frames: torch.Tensor) -> torch.Tensor:
    """``uint8`` frames as a new ``float32`` tensor in ``[0, 1]`` (same layout)."""
    return frames.float().div_(255.0)


def unit_float(frames: np.ndarray, device: torch.device | str | None = None) -> torch.Tensor:
    """``uint8 (..., H, W, 3)`` RGB array -> ``float32 (..., 3, H, W)`` in ``[0, 1]`` on
    ``device``: a view of the array's layout, converted without a copy first."""
    return as_float(torch.from_numpy(np.ascontiguousarray(frames)).to(device).movedim(-1, -3))
