"""``oracle``: returns the true future, a sanity upper bound (privileged, never ranked)."""

import torch

from wmbench import ContextBatch, ReferenceAdapter


class Oracle(ReferenceAdapter):
    name = "oracle"

    def predict_with_truth(self, batch: ContextBatch, future: torch.Tensor) -> torch.Tensor:
        return future.clone()
