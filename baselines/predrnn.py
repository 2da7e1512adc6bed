"""``predrnn``: PredRNN-v2, a recurrent video predictor with a zigzag spatiotemporal memory.

Wang, Wu, Ma, Long, Wang, Yu and Long, "PredRNN: A Recurrent Neural Network for
Spatiotemporal Predictive Learning", IEEE TPAMI 2022 (v2 of Wang et al., NeurIPS 2017).
Each layer is a spatiotemporal LSTM (ST-LSTM) cell: besides the ConvLSTM's temporal
memory ``C`` (passed from step to step in a layer) it keeps a spatiotemporal memory
``M`` that flows up the layers within a step and from the top layer to the bottom one
at the next step. v2's memory decoupling loss keeps the two memories' increments
apart: the mean absolute cosine similarity, per channel over space, of ``W * dC`` and
``W * dM`` (``W`` a 1x1 convolution per layer), weighted by ``decouple`` in training.

Here, at 64x64 pixels: the frame encoder and residual decoder shared with ``convlstm``
(16x16 features), ST-LSTM layers with 3x3 kernels, trained with scheduled sampling on
the predicted frames (v2's reverse scheduled sampling of the context is not used).
The committed checkpoint is ``checkpoints/predrnn.pt`` with its model card beside it.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from wmbench.adapters.learned import RecurrentPredictor, VideoPredictor, frame_encoder, residual_decoder

#: Added to the forget gates' pre-activation, as in the reference implementation.
FORGET_BIAS = 1.0


class SpatioTemporalLSTMCell(nn.Module):
    """One ST-LSTM step: ``(x, h, c, m) -> (h', c', m', dc, dm)``.

    ``i, f, g`` from ``x`` and ``h`` update ``c``; ``i', f', g'`` from ``x`` and ``m``
    update ``m``; the output gate sees ``x``, ``h`` and both new memories, and
    ``h' = o * tanh(conv1x1([c', m']))``. ``dc``, ``dm`` are the memories' increments.
    """

    def __init__(self, inputs: int, hidden: int, kernel: int = 3):
        super().__init__()
        pad = kernel // 2
        self.x = nn.Conv2d(inputs, 7 * hidden, kernel, padding=pad)
        self.h = nn.Conv2d(hidden, 4 * hidden, kernel, padding=pad)
        self.m = nn.Conv2d(hidden, 3 * hidden, kernel, padding=pad)
        self.o = nn.Conv2d(2 * hidden, hidden, kernel, padding=pad)
        self.last = nn.Conv2d(2 * hidden, hidden, 1)

    def forward(self, x: torch.Tensor, h: torch.Tensor, c: torch.Tensor, m: torch.Tensor) -> tuple[torch.Tensor, ...]:
        ix, fx, gx, ix2, fx2, gx2, ox = self.x(x).chunk(7, 1)
        ih, fh, gh, oh = self.h(h).chunk(4, 1)
        im, fm, gm = self.m(m).chunk(3, 1)
        dc = torch.sigmoid(ix + ih) * torch.tanh(gx + gh)
        c = torch.sigmoid(fx + fh + FORGET_BIAS) * c + dc
        dm = torch.sigmoid(ix2 + im) * torch.tanh(gx2 + gm)
        m = torch.sigmoid(fx2 + fm + FORGET_BIAS) * m + dm
        memory = torch.cat([c, m], 1)
        h = torch.sigmoid(ox + oh + self.o(memory)) * torch.tanh(self.last(memory))
        return h, c, m, dc, dm


class PredRNNNet(RecurrentPredictor):
    def __init__(self, hidden: int = 32, layers: int = 2, kernel: int = 3, decouple: float = 0.1, action_dim: int = 0):
        super().__init__()
        self.encode = frame_encoder(3 + action_dim, hidden)
        self.cells = nn.ModuleList(SpatioTemporalLSTMCell(hidden, hidden, kernel) for _ in range(layers))
        self.adapters = nn.ModuleList(nn.Conv2d(hidden, hidden, 1, bias=False) for _ in range(layers))
        self.decode = residual_decoder(hidden)
        self.decouple = decouple
        self._similarity: list[torch.Tensor] = []

    def step(self, x: torch.Tensor, state: tuple | None) -> tuple[torch.Tensor, tuple]:
        """State: each layer's ``(h, c)`` and the spatiotemporal memory ``m``, which leaves the
        top layer at one step to enter the bottom one at the next."""
        layers, m = state or ([(torch.zeros_like(x), torch.zeros_like(x)) for _ in self.cells], torch.zeros_like(x))
        for k, (cell, adapter) in enumerate(zip(self.cells, self.adapters)):
            h, c, m, dc, dm = cell(x, *layers[k], m)
            layers[k] = (h, c)
            if self.training:
                dc, dm = adapter(dc).flatten(2), adapter(dm).flatten(2)
                self._similarity.append(F.cosine_similarity(dc, dm, dim=2).abs().mean())
            x = h
        return x, (layers, m)

    def forward(
        self,
        context: torch.Tensor,
        horizon: int,
        actions: torch.Tensor | None = None,
        future: torch.Tensor | None = None,
        teacher: float = 0.0,
    ) -> torch.Tensor:
        self._similarity = []
        return super().forward(context, horizon, actions, future, teacher)

    def regulariser(self) -> torch.Tensor:
        """The memory decoupling loss of the last forward pass (in training), weighted."""
        if not self._similarity:
            return super().regulariser()
        return self.decouple * torch.stack(self._similarity).mean()


class PredRNN(VideoPredictor):
    name = "predrnn"
    presets = {
        "smoke": {"hidden": 16, "layers": 1},
        "cpu": {"hidden": 32, "layers": 2},
        "full": {"hidden": 64, "layers": 3},
    }
    default_checkpoint = "checkpoints/predrnn.pt"

    @classmethod
    def network(cls, action_dim: int = 0, **config: Any) -> PredRNNNet:
        return PredRNNNet(action_dim=action_dim, **config)
