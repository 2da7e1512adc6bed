"""Adapters that break the contract, one way each (used by the bad-input tests)."""

import os
import signal

import torch

from wmbench import Adapter, ContextBatch


def _last(batch: ContextBatch) -> torch.Tensor:
    return batch.frames[:, -1:].expand(-1, batch.horizon, -1, -1, -1).clone()


class Raises(Adapter):
    def predict(self, batch):
        raise RuntimeError("model exploded")


class WrongShape(Adapter):
    def predict(self, batch):
        return _last(batch)[..., :-1]


class WrongCount(Adapter):
    def predict(self, batch):
        return _last(batch)[:, :-1]


class WrongDtype(Adapter):
    def predict(self, batch):
        return (_last(batch) * 255).to(torch.uint8)


class HasNaN(Adapter):
    def predict(self, batch):
        out = _last(batch)
        out[0, 0, 0, 0, 0] = float("nan")
        return out


class OutOfRange(Adapter):
    def predict(self, batch):
        return _last(batch) * 255.0


class NotATensor(Adapter):
    def predict(self, batch):
        return [1, 2, 3]


class InitFails(Adapter):
    def __init__(self):
        super().__init__()
        open("/nonexistent/weights.pt")  # noqa: SIM115


class SetupFails(Adapter):
    def setup(self, device):
        raise RuntimeError("no weights on this machine")

    def predict(self, batch):
        return _last(batch)


class WrongDevice(Adapter):
    def predict(self, batch):
        return _last(batch).to("meta")


class Dies(Adapter):
    """Kills its own process: run it isolated only (``--isolate``)."""

    def predict(self, batch):
        os.kill(os.getpid(), signal.SIGKILL)
