"""Metrics that, besides one value per episode, pool per-item data across processes.

Some definitions need more than the per-episode values: an AUROC over every clip of
every episode, or a mean curve over the horizon. :class:`PooledEpisodeMetric.score`
stays the per-episode definition and also hands the batch's items to :meth:`_pool`;
the following :meth:`update` appends them to list states declared with
``dist_reduce_fx="cat"``, so :meth:`pooled` returns every process's items.
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torchmetrics.utilities import dim_zero_cat

from wmbench.metrics.base import EpisodeMetric


class PooledEpisodeMetric(EpisodeMetric):
    """Base class: ``pooled_states`` names the per-item tensors kept across batches."""

    pooled_states: ClassVar[tuple[str, ...]] = ()

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        for name in self.pooled_states:
            self.add_state(name, default=[], dist_reduce_fx="cat")
        self._pending: dict[str, torch.Tensor] = {}

    def _pool(self, **items: torch.Tensor) -> None:
        """Record the items of the batch being scored (added to the states by :meth:`update`)."""
        self._pending = items

    def update(self, values: torch.Tensor) -> None:
        super().update(values)
        for name, items in self._pending.items():
            getattr(self, name).append(items.to(self.total.device))
        self._pending = {}

    def reset(self) -> None:
        super().reset()
        self._pending = {}

    def pooled(self, name: str) -> torch.Tensor | None:
        """All items of state ``name`` so far, gathered from every process (a collective
        call when distributed: every process must make it), or ``None`` if there are none."""
        local = not self._is_synced  # inside compute() the states are already gathered
        with self.sync_context(should_sync=local, should_unsync=local):
            state = getattr(self, name)
            if isinstance(state, list) and not state:
                return None
            return dim_zero_cat(state).clone()
