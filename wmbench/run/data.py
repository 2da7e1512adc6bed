"""The LightningDataModule over episodes: cached generation, batching, sharding."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset

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


def _channels_first(frames: np.ndarray) -> torch.Tensor:
    """``(T, H, W, 3)`` -> contiguous ``(T, 3, H, W)``: every batch has one memory layout,
    so reductions over it run in one order whatever built it."""
    return torch.from_numpy(frames).permute(0, 3, 1, 2).contiguous()


def collate(episodes: list[Episode]) -> EpisodeBatch:
    if not episodes:
        empty = torch.empty(0, dtype=torch.uint8)
        return EpisodeBatch(context=empty, future=empty, actions=None, episodes=[])
    context = torch.stack([_channels_first(e.context_frames) for e in episodes])
    future = torch.stack([_channels_first(e.future_frames) for e in episodes])
    actions = None
    if episodes[0].truth.actions is not None:
        actions = torch.stack([torch.from_numpy(e.truth.actions[: e.context + e.horizon - 1]) for e in episodes])
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
        move = lambda t: None if t is None else t.to(device, non_blocking=True)  # noqa: E731
        return EpisodeBatch(context=move(batch.context), future=move(batch.future),
                            actions=move(batch.actions), episodes=batch.episodes)

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
