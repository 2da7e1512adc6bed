"""Adapters with a known cost, for interruption tests and the harness benchmark."""

import time

import torch

from wmbench import Adapter, ContextBatch


class Sleeper(Adapter):
    """Repeats the last frame after sleeping ``seconds`` per ``predict`` call; its
    interactive ``step`` sleeps ``step_seconds``."""

    def __init__(self, seconds: float = 0.5, step_seconds: float = 0.0):
        super().__init__()
        self.seconds, self.step_seconds = seconds, step_seconds

    def predict(self, batch: ContextBatch) -> torch.Tensor:
        time.sleep(self.seconds)
        return batch.frames[:, -1:].expand(-1, batch.horizon, -1, -1, -1).clone()

    def step(self, action=None) -> torch.Tensor:
        time.sleep(self.step_seconds)
        return self._window[:, -1].clone()
