"""The LightningDataModule over episodes: cached generation, batching, sharding."""

from __future__ import annotations

from dataclasses import dataclass

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset

from wmbench.frames import channels_first
from wmbench.tasks.schema import Task
from wmbench.worlds.cache import EpisodeSource
from wmbench.worlds.episode import Episode


@dataclass
class EpisodeBatch:
    """A batch as it reaches the LightningModule: inputs and the truth, kept apart there.

    ``context``/``future``: ``uint8 (B, T, 3, H, W)``; ``actions``: ``float32
    (B, C + horizon - 1, A)`` or ``None``; ``episodes``: the full episodes on the host.
    """

    context: torch.Tensor
    future: torch.Tensor
    actions: torch.Tensor | None
    episodes: list[Episode]


def collate(episodes: list[Episode]) -> EpisodeBatch:
    if not episodes:
        empty = torch.empty(0, dtype=torch.uint8)
        return EpisodeBatch(context=empty, future=empty, actions=None, episodes=[])
    context = torch.stack([channels_first(e.context_frames) for e in episodes])
    future = torch.stack([channels_first(e.future_frames) for e in episodes])
    given = [e.truth.actions for e in episodes]
    actions = None
    if all(a is not None for a in given):
        actions = torch.stack([torch.from_numpy(a[: e.context + e.horizon - 1]) for a, e in zip(given, episodes)
                               if a is not None])
    return EpisodeBatch(context=context, future=future, actions=actions, episodes=episodes)


class EpisodeDataset(Dataset):
    """Episodes of one task and split, read from a release or the cache (generated into
    it when absent)."""

    def __init__(self, task: Task, split: str, seeds: list[int], cache: EpisodeSource):
        self.task, self.split, self.seeds, self.cache = task, split, seeds, cache

    def __len__(self) -> int:
        return len(self.seeds)

    def __getitem__(self, index: int) -> Episode:
        return self.cache.get(self.task, self.split, self.seeds[index])


class EpisodeDataModule(pl.LightningDataModule):
    """Serves a task's episodes; under several processes each gets a disjoint shard
    (episode ``i`` goes to rank ``i % world_size``), with no padding or repeats. A
    process whose shard is empty gets one empty batch, so that it still reaches the end
    of the epoch where the metrics are gathered across processes."""

    def __init__(self, task: Task, split: str, seeds: list[int], cache: EpisodeSource,
                 batch_size: int = 4, num_workers: int = 0):
        super().__init__()
        self.dataset = EpisodeDataset(task, split, seeds, cache)
        self.batch_size, self.num_workers = batch_size, num_workers

    def transfer_batch_to_device(self, batch: EpisodeBatch, device: torch.device, dataloader_idx: int) -> EpisodeBatch:
        """Move the frames and actions; the episodes stay on the host."""
        actions = None if batch.actions is None else batch.actions.to(device, non_blocking=True)
        return EpisodeBatch(context=batch.context.to(device, non_blocking=True),
                            future=batch.future.to(device, non_blocking=True), actions=actions, episodes=batch.episodes)

    def shard(self, rank: int, world_size: int) -> list[list[int]]:
        """The batches (lists of dataset indices) of process ``rank`` of ``world_size``."""
        mine = list(range(rank, len(self.dataset), world_size))
        return [mine[i : i + self.batch_size] for i in range(0, len(mine), self.batch_size)] or [[]]

    def test_dataloader(self) -> DataLoader:
        rank, world = 0, 1
        if self.trainer is not None:
            rank, world = self.trainer.global_rank, self.trainer.world_size
        return DataLoader(self.dataset, batch_sampler=self.shard(rank, world), collate_fn=collate,
                          num_workers=self.num_workers)
