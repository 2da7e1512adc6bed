"""Scoring one batch of predictions: every metric's value for every episode.

Shared by the in-process run and the offline scorer, so both give the same numbers.
"""

from __future__ import annotations

import math
from typing import Mapping

import torch

from wmbench.metrics.base import EpisodeMetric, Truth


def score_episodes(metrics: Mapping[str, EpisodeMetric], pred: torch.Tensor,
                   truth: Truth) -> list[dict[str, float | None]]:
    """Score predictions ``float32 (B, T, 3, H, W)`` in ``[0, 1]`` against ``truth`` with
    every metric, accumulate the values in each metric's state (its ``update``) and
    return them per episode: ``[{name: value}]``, ``None`` where a value is missing."""
    scores = {}
    for name, metric in metrics.items():
        values = metric.score(pred, truth)
        metric.update(values)
        scores[name] = values.tolist()
    return [{name: (None if math.isnan(v[i]) else v[i]) for name, v in scores.items()}
            for i in range(pred.shape[0])]
