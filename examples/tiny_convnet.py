"""Example: wrapping a plain ``torch.nn.Module`` as a wmbench adapter, in one file.

``TinyNet`` predicts the next frame from the last two as the last frame plus a residual;
its last layer starts at zero, so untrained it is a frozen world (``copy_last`` at 64
pixels). Train it however you like and pass the state dict::

    wmbench run --adapter examples/tiny_convnet.py:TinyConvNet --adapter-config '{"checkpoint": "net.pt"}' --out results/tiny
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from wmbench import Adapter, ContextBatch, Requirements, WmbenchError


class TinyNet(nn.Module):
    """Two 3x3 convolutions over the last two frames -> a residual added to the last one."""

    def __init__(self, width: int = 16):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(6, width, 3, padding=1), nn.ReLU(), nn.Conv2d(width, 3, 3, padding=1))
        nn.init.zeros_(self.body[-1].weight)
        nn.init.zeros_(self.body[-1].bias)

    def forward(self, previous: torch.Tensor, last: torch.Tensor) -> torch.Tensor:
        return (last + self.body(torch.cat([previous, last], dim=1))).clamp(0, 1)


class TinyConvNet(Adapter):
    """Rolls ``TinyNet`` out autoregressively over the horizon, at 64x64 pixels."""

    name = "tiny_convnet"
    # two context frames, 64x64 pixels (wmbench resizes in and out), at most 32 episodes a call
    requirements = Requirements(context=2, resolution=64, max_batch_size=32)

    def __init__(self, checkpoint: str | None = None, width: int = 16):
        super().__init__()
        self.net = TinyNet(width)  # an nn.Module attribute: setup() moves it to the device, in eval mode
        if checkpoint is not None:
            if not Path(checkpoint).is_file():
                raise WmbenchError(f"tiny_convnet: checkpoint {checkpoint} does not exist")
            self.net.load_state_dict(torch.load(checkpoint, map_location="cpu", weights_only=True))

    def predict(self, batch: ContextBatch) -> torch.Tensor:
        previous, last = batch.frames[:, -2], batch.frames[:, -1]
        frames = []
        for _ in range(batch.horizon):
            previous, last = last, self.net(previous, last)
            frames.append(last)
        return torch.stack(frames, dim=1)
