"""``copy_last``: a frozen world that repeats the last context frame.

This is the 0 of every normalised score.
"""

import torch

from wmbench import Adapter, ContextBatch, Requirements


class CopyLast(Adapter):
    name = "copy_last"
    requirements = Requirements(context=1)

    def predict(self, batch: ContextBatch) -> torch.Tensor:
        last = batch.frames[:, -1:]
        return last.expand(-1, batch.horizon, -1, -1, -1).clone()
