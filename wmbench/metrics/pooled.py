"""Metrics that, besides one value per episode, pool per-item data over episodes.

Some definitions need more than the per-episode values: an AUROC over every clip of
every episode, or a mean curve over the horizon. :meth:`PooledEpisodeMetric.items` is,
next to :meth:`~wmbench.metrics.base.EpisodeMetric.score`, a pure function of the batch:
each episode's items. They reach two places:

* :meth:`update` appends them to list states declared with ``dist_reduce_fx="cat"``,
  so :meth:`pooled_summary` (and ``compute()``) sees every process's items;
* :meth:`episode_items` gives them to the run's rows, so a result (which may be
  assembled from several resumed runs) computes the same summary from its rows
  (:meth:`summarise_rows`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torchmetrics.utilities import dim_zero_cat

from wmbench.metrics.base import EpisodeMetric, Truth

#: Per state name, each episode's items (``None`` for an episode without any).
Items = dict[str, list[torch.Tensor | None]]


class PooledEpisodeMetric(EpisodeMetric):
    """Base class: ``pooled_states`` names the per-item tensors kept across batches;
    subclasses define :meth:`items` and :meth:`summarise`."""

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        for name in self.pooled_states:
            self.add_state(name, default=[], dist_reduce_fx="cat")

    def items(self, pred: torch.Tensor, truth: Truth) -> Items:
        """Each episode's items of every pooled state, in batch order."""
        raise NotImplementedError

    @classmethod
    def summarise(cls, items: dict[str, torch.Tensor]) -> dict[str, Any]:
        """The pooled summary (JSON-ready) of every item, ``{state: items concatenated}``."""
        raise NotImplementedError

    def batch_items(self, pred: torch.Tensor, truth: Truth) -> Items:
        """:meth:`items`, computed once per prediction and batch (see :meth:`values`)."""
        return truth.memo(f"items/{id(self)}", pred, lambda: (self, self.items(pred, truth)))[1]

    def episode_items(self, pred: torch.Tensor, truth: Truth) -> list[dict[str, list] | None]:
        """Each episode's items as lists (as rows store them), ``None`` where it has none."""
        items = self.batch_items(pred, truth)
        out: list[dict[str, list] | None] = []
        for index in range(pred.shape[0]):
            mine = {name: per_episode[index] for name, per_episode in items.items()}
            out.append(
                None
                if not mine or any(x is None for x in mine.values())
                else {name: x.tolist() for name, x in mine.items() if x is not None}
            )
        return out

    def update(self, pred: torch.Tensor, truth: Truth) -> None:
        super().update(pred, truth)
        self.add_items(self.batch_items(pred, truth))

    def add_items(self, items: Items) -> None:
        """Append a batch's items to the list states (see :meth:`add`)."""
        for name, per_episode in items.items():
            present = [x for x in per_episode if x is not None]
            if present:
                getattr(self, name).append(torch.cat(present).to(self.total.device))

    def sync(
        self,
        dist_sync_fn: Callable | None = None,
        process_group: Any | None = None,
        should_sync: bool = True,
        distributed_available: Callable | None = None,
    ) -> None:
        """Gather the states of every process. A process without items of a state sends an
        empty tensor of the items' dtype and shape, which the processes agree on first
        (torchmetrics would send a 1-D tensor of its default dtype, which does not match)."""
        distributed = torch.distributed.is_available() and torch.distributed.is_initialized()
        if should_sync and distributed and not self._is_synced:
            for name in self.pooled_states:
                state = getattr(self, name)
                local = (state[0].dtype, tuple(state[0].shape[1:])) if state else None
                layouts: list[Any] = [None] * torch.distributed.get_world_size(process_group)
                torch.distributed.all_gather_object(layouts, local, group=process_group)
                layout = next((x for x in layouts if x is not None), None)
                if not state and layout is not None:
                    state.append(torch.empty((0, *layout[1]), dtype=layout[0], device=self.device))
        super().sync(dist_sync_fn, process_group, should_sync, distributed_available)

    def pooled(self, name: str) -> torch.Tensor | None:
        """All items of state ``name`` so far, gathered from every process (a collective
        call when distributed: every process must make it), or ``None`` if there are none."""
        local = not self._is_synced  # inside compute() the states are already gathered
        with self.sync_context(should_sync=local, should_unsync=local):
            state = getattr(self, name)
            if isinstance(state, list) and not state:
                return None
            items = dim_zero_cat(state)
            return items.clone() if items.numel() else None

    def pooled_summary(self) -> dict[str, Any] | None:
        """:meth:`summarise` of every item scored so far on every process, or ``None``."""
        items = {name: self.pooled(name) for name in self.pooled_states}
        if any(x is None for x in items.values()):
            return None
        return self.summarise({name: x for name, x in items.items() if x is not None})

    @classmethod
    def summarise_rows(cls, rows: list[dict[str, list]]) -> dict[str, Any] | None:
        """:meth:`summarise` of the episodes' items as rows store them, or ``None``."""
        if not rows:
            return None
        return cls.summarise(
            {name: torch.cat([torch.tensor(r[name], dtype=torch.float64) for r in rows]) for name in cls.pooled_states}
        )
