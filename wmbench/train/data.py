"""The training data: random windows of a suite's train episodes, fixed windows of its dev episodes.

Episodes come from the episode cache (generated first where missing) or, split by split,
from a release (``wmbench data release``): its exact bytes, no generation. Every clip is an episode's true frames, resized to the model's resolution exactly as
a run resizes its context (:func:`wmbench.run.checks.resize`) and kept in memory as
``uint8``, with the episode's actions for action-conditioned models. A training item
is a window of ``context + horizon`` consecutive frames starting at a random frame
(drawn anew each time, from the process's seeded generator); every episode gives
``windows`` items per epoch. A validation item is the window that ends the episode's
context and starts its future: what a run asks the model to predict first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset

from wmbench.errors import WmbenchError
from wmbench.frames import as_float
from wmbench.run.checks import resize
from wmbench.tasks.schema import Task
from wmbench.tasks.seeds import split_seeds
from wmbench.worlds.cache import EpisodeCache, EpisodeSource
from wmbench.worlds.parallel import Job, generate_all
from wmbench.worlds.release import Release

#: Frames kept per training episode: a longer episode keeps a stretch of this many,
#: starting at a frame drawn from its seed (memory stays bounded on long-horizon tasks).
MAX_FRAMES = 128


@dataclass
class Clip:
    """``frames``: ``uint8 (T, 3, h, w)``; ``actions``: ``float32 (T - 1, A)`` or ``None``;
    ``start``: the first frame of its one window (validation), ``None`` for random windows."""

    frames: torch.Tensor
    actions: torch.Tensor | None
    start: int | None = None


class Windows(Dataset):
    """Windows of ``length`` frames of clips; random ones ``repeats`` times per clip."""

    def __init__(self, clips: list[Clip], length: int, repeats: int = 1):
        self.clips, self.length, self.repeats = clips, length, repeats

    def __len__(self) -> int:
        return len(self.clips) * self.repeats

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        clip = self.clips[index % len(self.clips)]
        start = clip.start
        if start is None:
            start = int(torch.randint(clip.frames.shape[0] - self.length + 1, ()))
        item = {"frames": clip.frames[start : start + self.length]}
        if clip.actions is not None:
            item["actions"] = clip.actions[start : start + self.length - 1]
        return item


@dataclass(frozen=True)
class Selection:
    """Which episodes train and validate a model, and the windows cut from them."""

    tasks: tuple[Task, ...]
    context: int
    horizon: int
    resolution: int
    uses_actions: bool = False
    train_limit: int | None = None
    val_limit: int | None = None
    windows: int = 4
    test_secret: str | None = None
    releases: tuple[tuple[str, Release], ...] = ()

    def release(self, split: str) -> Release | None:
        """The release the ``split``'s episodes come from, or ``None`` (the cache)."""
        return dict(self.releases).get(split)

    def seeds(self, task: Task, split: str) -> list[int]:
        """The first ``train_limit`` (``val_limit`` for dev) episodes of ``task``'s ``split``."""
        limit = self.train_limit if split == "train" else self.val_limit
        release = self.release(split)
        if release is None:
            return split_seeds(task, split, limit, self.test_secret)
        seeds = release.seeds(task)
        if not seeds:
            raise WmbenchError(f"release {release.path} holds no episode of task '{task.name}'")
        return seeds[:limit]


class WindowDataModule(pl.LightningDataModule):
    """Serves :class:`Windows` of the selected train and dev episodes from their releases or
    the cache, generating the missing ones first (``workers`` processes, first process only)."""

    def __init__(
        self,
        selection: Selection,
        cache: EpisodeCache,
        batch_size: int = 16,
        num_workers: int = 0,
        workers: int = 1,
        progress: bool = True,
    ):
        super().__init__()
        self.selection, self.cache = selection, cache
        self.batch_size, self.num_workers, self.workers, self.progress = batch_size, num_workers, workers, progress
        self.train: Windows | None = None
        self.val: Windows | None = None

    def source(self, split: str) -> EpisodeSource:
        return self.selection.release(split) or self.cache

    @property
    def length(self) -> int:
        return self.selection.context + self.selection.horizon

    def prepare_data(self) -> None:
        """Generate the selected episodes the cache lacks (those it holds are read once, in
        :meth:`setup`, where a damaged entry is regenerated)."""
        if self.cache.root is None:
            return
        jobs = [
            Job(t, split, s)
            for split in ("train", "dev")
            if self.selection.release(split) is None
            for t in self.selection.tasks
            for s in self.selection.seeds(t, split)
            if not self.cache.path(t, s).exists()
        ]
        if jobs:
            generate_all(jobs, self.cache, self.workers, self.progress, desc="episodes")

    def setup(self, stage: str | None = None) -> None:
        if self.train is None:
            self.train = Windows(self._clips("train"), self.length, self.selection.windows)
            self.val = Windows(self._clips("dev"), self.length)

    def _clips(self, split: str) -> list[Clip]:
        sel, clips = self.selection, []
        for task in sel.tasks:
            if task.context < sel.context or task.length < self.length:
                raise WmbenchError(
                    f"task '{task.name}' has {task.context} context frames and {task.length} "
                    f"in all; the model needs {sel.context} and {self.length}"
                )
            for seed in sel.seeds(task, split):
                clips.append(self._clip(task, split, seed))
        if not clips:
            raise WmbenchError(f"no {split} episodes selected to train on")
        return clips

    def _clip(self, task: Task, split: str, seed: int) -> Clip:
        episode = self.source(split).get(task, split, seed)
        frames, actions = episode.frames, episode.truth.actions
        if self.selection.uses_actions and actions is None:
            raise WmbenchError(f"task '{task.name}' has no actions to condition on")
        start = None
        if split == "dev":
            first = task.context - self.selection.context
            frames = frames[first : first + self.length]
            actions = None if actions is None else actions[first : first + self.length - 1]
            start = 0
        elif len(frames) > MAX_FRAMES:
            offset = int(np.random.default_rng(seed).integers(len(frames) - MAX_FRAMES + 1))
            frames = frames[offset : offset + MAX_FRAMES]
            actions = None if actions is None else actions[offset : offset + MAX_FRAMES - 1]
        pixels = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2)
        small = (resize(as_float(pixels)[None], self.selection.resolution)[0] * 255).round().to(torch.uint8)
        kept = torch.from_numpy(np.ascontiguousarray(actions)).float() if self.selection.uses_actions else None
        return Clip(frames=small.contiguous(), actions=kept, start=start)

    def _loader(self, windows: Windows, train: bool) -> DataLoader[Any]:
        return DataLoader(
            windows,
            batch_size=self.batch_size,
            shuffle=train,
            drop_last=train and len(windows) >= self.batch_size,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
        )

    def train_dataloader(self) -> DataLoader[Any]:
        return self._loader(_ready(self.train), train=True)

    def val_dataloader(self) -> DataLoader[Any]:
        return self._loader(_ready(self.val), train=False)


def _ready(windows: Windows | None) -> Windows:
    if windows is None:
        raise RuntimeError("the data module serves windows only after setup()")
    return windows
