"""Predictions kept for people to look at (``wmbench run --save-predictions N``).

The first ``N`` episodes of each task (in seed order, the same on every machine) keep
their predicted frames in ``<out>/predictions/<task>@<version>/<seed>.npz``: 8-bit RGB
``(T, H, W, 3)`` at the task's resolution, as the scoring saw them rounded to 8 bits,
compressed without loss (zlib). Each file is written when its batch is scored, so
nothing is held in memory across batches. The truth is not stored: it is regenerated
from the task version and seed (:mod:`wmbench.worlds.cache`).
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from wmbench.errors import OutputError, ResultError
from wmbench.worlds.episode import Episode

PREDICTIONS_DIR = "predictions"


def prediction_path(out: Path, task: str, version: int, seed: int) -> Path:
    return out / PREDICTIONS_DIR / f"{task}@{version}" / f"{seed}.npz"


def to_uint8(frames: torch.Tensor) -> np.ndarray:
    """``float (T, 3, H, W)`` in ``[0, 1]`` -> ``uint8 (T, H, W, 3)``, rounded to nearest."""
    scaled = (frames.detach().float().clamp(0, 1) * 255).round().to(torch.uint8)
    return scaled.permute(0, 2, 3, 1).cpu().numpy()


class PredictionSaver:
    """Called with each scored batch; writes the predictions of the episodes in ``keep``
    (seeds of one task)."""

    def __init__(self, out: Path, keep: set[int]):
        self.out, self.keep = out, keep

    def __call__(self, episodes: list[Episode], pred: torch.Tensor) -> None:
        for episode, frames in zip(episodes, pred):
            if episode.seed in self.keep:
                save_prediction(
                    prediction_path(self.out, episode.task, episode.version, episode.seed), to_uint8(frames), episode
                )


def save_prediction(path: Path, frames: np.ndarray, episode: Episode) -> None:
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer,
        frames=frames,
        task=episode.task,
        version=episode.version,
        split=episode.split,
        seed=np.uint64(episode.seed),
    )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(buffer.getvalue())
        os.replace(tmp, path)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc


@dataclass(frozen=True)
class SavedPrediction:
    """One kept prediction: ``frames`` ``uint8 (T, H, W, 3)`` and the episode it predicts."""

    task: str
    version: int
    split: str
    seed: int
    frames: np.ndarray
    path: Path


def read_prediction(path: Path) -> SavedPrediction:
    try:
        with np.load(path, allow_pickle=False) as data:
            frames = data["frames"]
            task, version, split, seed = (data[k][()] for k in ("task", "version", "split", "seed"))
    except (OSError, ValueError, KeyError) as exc:
        raise ResultError(f"{path}: not a saved prediction ({exc})") from exc
    if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
        raise ResultError(f"{path}: frames are {frames.dtype} {frames.shape}, expected uint8 (T, H, W, 3)")
    return SavedPrediction(
        task=str(task), version=int(version), split=str(split), seed=int(seed), frames=frames, path=path
    )


def saved_predictions(result_dir: Path) -> list[SavedPrediction]:
    """Every prediction kept in a result directory, by task and seed order of the files."""
    root = result_dir / PREDICTIONS_DIR
    return [read_prediction(p) for p in sorted(root.glob("*@*/*.npz"))] if root.is_dir() else []
