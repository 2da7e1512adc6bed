"""Scoring one batch of predictions: every metric's value for every episode, and the
references of the normalised scale.

Shared by the in-process run and the offline scorer, so both give the same numbers.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import torch

from wmbench.metrics.base import EpisodeMetric, Truth
from wmbench.metrics.references import reference_scores


def _per_episode(values: Mapping[str, torch.Tensor], index: int) -> dict[str, float | None]:
    """Episode ``index``'s value of each metric, ``None`` (JSON null) where missing."""
    out = {}
    for name, tensor in values.items():
        value = float(tensor[index])
        out[name] = None if math.isnan(value) else value
    return out


def score_episodes(metrics: Mapping[str, EpisodeMetric], pred: torch.Tensor, truth: Truth) -> list[dict[str, Any]]:
    """Score predictions ``float32 (B, T, 3, H, W)`` in ``[0, 1]`` against ``truth`` with
    every metric and accumulate the values in each metric's state (its ``update``).

    Returns per episode ``{"metrics": {name: value}, "references": {"frozen": {...},
    "variance": {...}}}``, ``None`` where a value is missing.
    """
    scores = {}
    for name, metric in metrics.items():
        values = metric.score(pred, truth)
        metric.update(values)
        scores[name] = values
    references = reference_scores(dict(metrics), truth)
    return [{"metrics": _per_episode(scores, i),
             "references": {kind: _per_episode(values, i) for kind, values in references.items()}}
            for i in range(pred.shape[0])]
