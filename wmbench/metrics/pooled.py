"""Metrics that, besides one value per episode, pool per-item data over episodes.

Some definitions need more than the per-episode values: an AUROC over every clip of
every episode, or a mean curve over the horizon. :class:`PooledEpisodeMetric.score`
stays the per-episode definition and also hands each episode's items to :meth:`_pool`.
The items reach two places:

* :meth:`update` appends them to list states declared with ``dist_reduce_fx="cat"``,
  so :meth:`pooled_summary` (and ``compute()``) sees every process's items;
* :meth:`episode_items` gives them to the run's rows, so a result (which may be
  assembled from several resumed runs) computes the same summary from its rows
  (:meth:`summarise_rows`).
"""

from __future__ import annotations

from typing import Any, ClassVar, Sequence

import torch
from torchmetrics.utilities import dim_zero_cat

from wmbench.metrics.base import EpisodeMetric


class PooledEpisodeMetric(EpisodeMetric):
    """Base class: ``pooled_states`` names the per-item tensors kept across batches;
    subclasses define :meth:`summarise`."""

    pooled_states: ClassVar[tuple[str, ...]] = ()

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        for name in self.pooled_states:
            self.add_state(name, default=[], dist_reduce_fx="cat")
        self._pending: dict[str, list[torch.Tensor | None]] = {}

    @classmethod
    def summarise(cls, items: dict[str, torch.Tensor]) -> dict[str, Any]:
        """The pooled summary (JSON-ready) of every item, ``{state: items concatenated}``."""
        raise NotImplementedError

    def _pool(self, **items: Sequence[torch.Tensor | None]) -> None:
        """Record each episode's items of the batch being scored, in batch order (``None``
        for an episode without any); :meth:`update` adds them to the states."""
        self._pending = {name: list(per_episode) for name, per_episode in items.items()}

    def episode_items(self, index: int) -> dict[str, list] | None:
        """Episode ``index``'s items from the batch just scored, as lists, or ``None``."""
        items = {name: per_episode[index] for name, per_episode in self._pending.items()}
        if not items or any(x is None for x in items.values()):
            return None
        return {name: x.tolist() for name, x in items.items()}

    def update(self, values: torch.Tensor) -> None:
        super().update(values)
        for name, per_episode in self._pending.items():
            present = [x for x in per_episode if x is not None]
            if present:
                getattr(self, name).append(torch.cat(present).to(self.total.device))
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

    def pooled_summary(self) -> dict[str, Any] | None:
        """:meth:`summarise` of every item scored so far on every process, or ``None``."""
        items = {name: self.pooled(name) for name in self.pooled_states}
        return None if any(x is None for x in items.values()) else self.summarise(items)

    @classmethod
    def summarise_rows(cls, rows: list[dict[str, list]]) -> dict[str, Any] | None:
        """:meth:`summarise` of the episodes' items as rows store them, or ``None``."""
        if not rows:
            return None
        return cls.summarise({name: torch.cat([torch.tensor(r[name], dtype=torch.float64) for r in rows])
                              for name in cls.pooled_states})
