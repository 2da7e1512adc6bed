"""``simvp``: SimVP, a fully convolutional video predictor without recurrence.

Gao, Tan, Wu and Li, "SimVP: Simpler yet Better Video Prediction", CVPR 2022, with the
gated spatial attention translator of SimVP v2 (Tan, Gao, Wu, Li, "SimVP: Towards
Simple yet Powerful Spatiotemporal Predictive Learning", 2022). A spatial encoder
turns each context frame into features; the translator stacks the frames' features
along the channels and maps them, with convolutions only, to the features of a whole
block of future frames at once; a spatial decoder turns each into a frame.

Here, at 64x64 pixels: the frame encoder shared with ``convlstm`` (16x16 features), a
translator of gated spatial attention blocks (depthwise 5x5, then depthwise 7x7 with
dilation 3, then a 1x1 convolution split into a value and a sigmoid gate; each followed
by a depthwise-convolutional MLP), and the residual decoder adding each predicted
change to the last context frame. Horizons longer than its block (``chunk`` frames)
are predicted block by block, each from the last ``C`` frames so far; it trains on one
block (``future`` and ``teacher`` are not used). The
action-conditioned variant adds a learned embedding of the block's actions (those of
the context and of every predicted step) to the translator's input.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from wmbench.adapters.learned import Predictor, VideoPredictor, frame_encoder, residual_decoder


class GatedSpatialAttention(nn.Module):
    """``x + proj(f * sigmoid(g))``, ``(f, g) = split(conv1x1(dwconv7x7_dil3(dwconv5x5(gelu(conv1x1(norm(x)))))))``,
    then ``x + mlp(norm(x))`` with a depthwise 3x3 convolution inside the MLP."""

    def __init__(self, channels: int, expand: int = 4):
        super().__init__()
        self.norm1, self.norm2 = nn.GroupNorm(1, channels), nn.GroupNorm(1, channels)
        self.inp = nn.Conv2d(channels, channels, 1)
        self.spatial = nn.Sequential(
            nn.Conv2d(channels, channels, 5, padding=2, groups=channels),
            nn.Conv2d(channels, channels, 7, padding=9, dilation=3, groups=channels),
            nn.Conv2d(channels, 2 * channels, 1),
        )
        self.out = nn.Conv2d(channels, channels, 1)
        self.mlp = nn.Sequential(
            nn.Conv2d(channels, expand * channels, 1),
            nn.Conv2d(expand * channels, expand * channels, 3, padding=1, groups=expand * channels),
            nn.GELU(),
            nn.Conv2d(expand * channels, channels, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        value, gate = self.spatial(nn.functional.gelu(self.inp(self.norm1(x)))).chunk(2, 1)
        x = x + self.out(value * torch.sigmoid(gate))
        return x + self.mlp(self.norm2(x))


class SimVPNet(Predictor):
    def __init__(
        self,
        hidden: int = 32,
        translator: int = 128,
        blocks: int = 4,
        context: int = 4,
        chunk: int = 8,
        action_dim: int = 0,
    ):
        super().__init__()
        self.context, self.chunk, self.hidden = context, chunk, hidden
        self.encode = frame_encoder(3, hidden)
        self.inp = nn.Conv2d(context * hidden, translator, 1)
        self.actions = nn.Linear((context + chunk - 1) * action_dim, translator) if action_dim else None
        self.blocks = nn.Sequential(*(GatedSpatialAttention(translator) for _ in range(blocks)))
        self.out = nn.Conv2d(translator, chunk * hidden, 1)
        self.decode = residual_decoder(hidden)

    def block(self, frames: torch.Tensor, actions: torch.Tensor | None) -> torch.Tensor:
        """The next ``chunk`` frames ``(B, chunk, 3, H, W)`` from ``context`` frames."""
        b, c, _, h, w = frames.shape
        features = self.encode(frames.flatten(0, 1)).view(b, c * self.hidden, h // 4, w // 4)
        x = self.inp(features)
        if self.actions is not None:
            x = x + self.actions(actions.flatten(1))[:, :, None, None]
        x = self.out(self.blocks(x)).view(b * self.chunk, self.hidden, h // 4, w // 4)
        change = self.decode(x).view(b, self.chunk, 3, h, w)
        return (frames[:, -1:] + change).clamp(0, 1)

    def forward(
        self,
        context: torch.Tensor,
        horizon: int,
        actions: torch.Tensor | None = None,
        future: torch.Tensor | None = None,
        teacher: float = 0.0,
    ) -> torch.Tensor:
        frames, out, done = context[:, -self.context :], [], 0
        offset = context.shape[1] - self.context  # actions[:, offset + t] acts after frames[:, t]
        while done < horizon:
            window = None
            if actions is not None:
                window = actions[:, offset + done : offset + done + self.context + self.chunk - 1]
                if window.shape[1] < self.context + self.chunk - 1:  # past the last action: pad with zeros
                    pad = window.new_zeros(
                        window.shape[0], self.context + self.chunk - 1 - window.shape[1], window.shape[2]
                    )
                    window = torch.cat([window, pad], 1)
            out.append(self.block(frames, window))
            frames = torch.cat([frames, out[-1]], 1)[:, -self.context :]
            done += self.chunk
        return torch.cat(out, 1)[:, :horizon]


class SimVP(VideoPredictor):
    name = "simvp"
    presets = {
        "smoke": {"hidden": 16, "translator": 64, "blocks": 2},
        "cpu": {"hidden": 32, "translator": 128, "blocks": 4},
        "full": {"hidden": 64, "translator": 256, "blocks": 6},
    }
    default_checkpoint = "checkpoints/simvp.pt"

    @classmethod
    def network(cls, action_dim: int = 0, **config: Any) -> SimVPNet:
        return SimVPNet(context=cls.requirements.context, action_dim=action_dim, **config)
