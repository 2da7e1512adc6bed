"""Scoring one batch of predictions: every metric's value for every episode, its pooled
items, and the references of the normalised scale.

Shared by the in-process run and the offline scorer, so both give the same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch

from wmbench.metrics.base import EpisodeMetric, Truth
from wmbench.metrics.pooled import PooledEpisodeMetric
from wmbench.metrics.references import ReferenceCache, reference_scores
from wmbench.threads import one_thread


def _per_episode(
    values: Mapping[str, torch.Tensor], index: int, prefix: str = "", reasons: dict[str, str] | None = None
) -> dict[str, float | None]:
    """Episode ``index``'s value of each metric, ``None`` (JSON null) where missing; a
    non-finite value is missing too, its reason added to ``reasons`` (under ``prefix + name``)."""
    out: dict[str, float | None] = {}
    for name, tensor in values.items():
        value = float(tensor[index])
        out[name] = value if math.isfinite(value) else None
        if math.isinf(value) and reasons is not None:
            reasons[prefix + name] = f"the metric came out {value} (non-finite values are recorded as missing)"
    return out


def score_episodes(
    metrics: Mapping[str, EpisodeMetric], pred: torch.Tensor, truth: Truth, references: ReferenceCache | None = None
) -> list[dict[str, Any]]:
    """Score predictions ``float32 (B, T, 3, H, W)`` in ``[0, 1]`` against ``truth`` with
    every metric, accumulating them in each metric's states (``metric(pred, truth)``).
    The measured references are read from (and added to) the cache ``references`` if given.

    Returns per episode ``{"metrics": {name: value}, "references": {"frozen": {...},
    "variance": {...}}, "pooled": {name: items}}``, ``None`` where a value is missing;
    ``pooled`` holds the episode's items of every :class:`PooledEpisodeMetric` that has some.
    An infinite value is missing too, and the episode then also has ``"missing":
    {name: reason}`` (``"frozen/<name>"`` and ``"variance/<name>"`` for references).
    Scoring runs on one thread (see :mod:`wmbench.threads`), whoever calls it, so the
    cached references are the same numbers whichever command measured them.
    """
    with one_thread():
        return _score_episodes(metrics, pred, truth, references)


def _score_episodes(
    metrics: Mapping[str, EpisodeMetric], pred: torch.Tensor, truth: Truth, references: ReferenceCache | None
) -> list[dict[str, Any]]:
    scores = {}
    pooled: list[dict[str, Any]] = [{} for _ in range(pred.shape[0])]
    for name, metric in metrics.items():
        scores[name] = metric(pred, truth)
        if isinstance(metric, PooledEpisodeMetric):
            for row, items in zip(pooled, metric.episode_items(pred, truth)):
                if items is not None:
                    row[name] = items
    anchors = reference_scores(dict(metrics), truth, references)
    episodes = []
    for i in range(pred.shape[0]):
        reasons: dict[str, str] = {}
        episode: dict[str, Any] = {
            "metrics": _per_episode(scores, i, "", reasons),
            "references": {kind: _per_episode(values, i, f"{kind}/", reasons) for kind, values in anchors.items()},
            "pooled": pooled[i],
        }
        episodes.append(dict(episode, missing=reasons) if reasons else episode)
    return episodes
