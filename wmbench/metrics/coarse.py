"""Changes as the coherence metrics read them: area means over ``COARSE x COARSE``
blocks (on the grid of the 8x8 blocks of block codecs such as JPEG, so faint noise and a
codec's ringing average out), and only beyond :data:`NOISE_FLOOR` per channel."""

from __future__ import annotations

import torch
import torch.nn.functional as F

#: Coherence reads frames at 1 / COARSE of their width and height (area means).
COARSE = 8
#: A change up to this much (0-1 scale, per channel, on the coarse frames) is not a change.
NOISE_FLOOR = 0.01


def coarse(frames: torch.Tensor) -> torch.Tensor:
    """``(..., C, H, W)`` frames as float32 area means over ``COARSE x COARSE`` blocks."""
    lead = frames.shape[:-3]
    x = F.avg_pool2d(frames.reshape(-1, *frames.shape[-3:]).float(), COARSE)
    return x.view(*lead, *x.shape[-3:])


def change(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``d(a, b) = max(0, |a - b| - NOISE_FLOOR)`` of coarse frames."""
    return (a - b).abs_().sub_(NOISE_FLOOR).clamp_(min=0.0)
