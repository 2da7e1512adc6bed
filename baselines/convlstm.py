"""``convlstm``: a convolutional LSTM video predictor (Shi et al. 2015).

Shi, Chen, Wang, Yeung, Wong and Woo, "Convolutional LSTM Network: A Machine Learning
Approach for Precipitation Nowcasting", NeurIPS 2015. An LSTM whose input-to-state and
state-to-state transitions are convolutions, so its hidden state is a feature map.

Here, at 64x64 pixels: each frame is encoded by two stride-2 convolutions (16x16
features), a stack of ConvLSTM layers steps through the context and then its own
predictions, and a decoder of two transposed convolutions turns the top layer's hidden
state into a residual added to the previous frame (its last layer starts at zero, so
the untrained network is a frozen world). Trained with scheduled sampling
(``wmbench train --model convlstm``); the committed checkpoint is
``checkpoints/convlstm.pt`` with its model card beside it.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from wmbench.adapters.learned import RecurrentPredictor, VideoPredictor, frame_encoder, residual_decoder


class ConvLSTMCell(nn.Module):
    """``i, f, o, g = conv([x, h])``; ``c' = f c + i g``; ``h' = o tanh(c')`` (peepholes omitted)."""

    def __init__(self, inputs: int, hidden: int, kernel: int = 3):
        super().__init__()
        self.hidden = hidden
        self.gates = nn.Conv2d(inputs + hidden, 4 * hidden, kernel, padding=kernel // 2)

    def forward(self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        h, c = state
        i, f, o, g = self.gates(torch.cat([x, h], 1)).chunk(4, 1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(c), c


class ConvLSTMNet(RecurrentPredictor):
    def __init__(self, hidden: int = 32, layers: int = 2, kernel: int = 3, action_dim: int = 0):
        super().__init__()
        self.encode = frame_encoder(3 + action_dim, hidden)
        self.cells = nn.ModuleList(ConvLSTMCell(hidden, hidden, kernel) for _ in range(layers))
        self.decode = residual_decoder(hidden)

    def step(self, x: torch.Tensor, state: list | None) -> tuple[torch.Tensor, list]:
        state = state or [(torch.zeros_like(x), torch.zeros_like(x)) for _ in self.cells]
        for k, cell in enumerate(self.cells):
            state[k] = cell(x, state[k])
            x = state[k][0]
        return x, state


class ConvLSTM(VideoPredictor):
    name = "convlstm"
    presets = {
        "smoke": {"hidden": 16, "layers": 1},  # minutes on a laptop CPU: tests and the committed checkpoint
        "cpu": {"hidden": 32, "layers": 2},  # an hour or so on a CPU
        "full": {"hidden": 64, "layers": 3},  # one GPU, under 15 minutes
    }
    default_checkpoint = "checkpoints/convlstm.pt"

    @classmethod
    def network(cls, action_dim: int = 0, **config: Any) -> ConvLSTMNet:
        return ConvLSTMNet(action_dim=action_dim, **config)
