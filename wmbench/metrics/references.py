"""Reference scores that anchor the normalised scale, per episode and metric.

* ``frozen``: the metric's score for a frozen world, the last context frame repeated
  over the horizon (the 0 of the normalised scale);
* ``variance``: the mean score of the physical-variance rollouts, each ensemble
  member's future scored as if it were a prediction (the 100 of the scale): what a
  perfect model can expect given what the context frames cannot show.

Metrics that are not scored on predicted frames (control, surprise) declare constant
anchors instead (``EpisodeMetric.fixed_references``, e.g. chance and perfect). Laws
that a frozen world obeys trivially (permanence, continuity, ...) take a clear
violation as their 0 instead (``EpisodeMetric.violation_anchor``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch

from wmbench.metrics.base import EpisodeMetric, Truth

if TYPE_CHECKING:
    from wmbench.metrics.reference_cache import ReferenceCache

REFERENCES = ("frozen", "variance")


def frozen_prediction(truth: Truth) -> torch.Tensor:
    """The last context frame repeated over the horizon, ``(B, T, 3, H, W)``."""
    horizon = truth.frames.shape[1]
    return truth.context[:, -1:].expand(-1, horizon, -1, -1, -1)


def ensemble_predictions(truth: Truth) -> list[torch.Tensor]:
    """Each ensemble member's future as a prediction ``(B, T, 3, H, W)``; empty when the
    episodes carry no ensemble."""
    members = min(len(e.ensemble) for e in truth.episodes)
    horizon = truth.frames.shape[1]
    predictions = []
    for k in range(members):
        frames = np.stack([e.ensemble[k].frames[e.context : e.context + horizon] for e in truth.episodes])
        tensor = torch.from_numpy(frames).to(truth.frames.device).permute(0, 1, 4, 2, 3)
        predictions.append(tensor.float().div_(255.0))
    return predictions


def measured_references(metrics: dict[str, EpisodeMetric], truth: Truth) -> dict[str, dict[str, torch.Tensor]]:
    """The references that are measured, of metrics without ``fixed_references``:
    ``{"frozen": {metric: (B,)}, "variance": {metric: (B,)}}``, the frozen score only of
    metrics without a ``violation_anchor``; NaN where a reference cannot be had (no
    ensemble, or the metric is missing on every member)."""
    batch = truth.frames.shape[0]
    frozen, variance = {}, {}
    members = ensemble_predictions(truth) if metrics else []
    for name, metric in metrics.items():
        if metric.violation_anchor is None:
            frozen[name] = metric.score(frozen_prediction(truth), truth).cpu()
        if members:
            scores = torch.stack([metric.score(m, truth).cpu() for m in members])
            variance[name] = scores.nanmean(0)
        else:
            variance[name] = torch.full((batch,), float("nan"), dtype=torch.float64)
    return {"frozen": frozen, "variance": variance}


def reference_scores(metrics: dict[str, EpisodeMetric], truth: Truth,
                     cache: ReferenceCache | None = None) -> dict[str, dict[str, torch.Tensor]]:
    """``{"frozen": {metric: (B,)}, "variance": {metric: (B,)}}`` for every metric: its
    fixed references, its violation anchor, or the measured ones, read from ``cache``
    where it holds them (``None``: measured every time)."""
    batch = truth.frames.shape[0]
    measure = {name: m for name, m in metrics.items() if m.fixed_references is None}
    measured = measured_references(measure, truth) if cache is None else cache.references(measure, truth)
    frozen, variance = {}, {}
    for name, metric in metrics.items():
        if metric.fixed_references is not None:
            low, high = metric.fixed_references
            frozen[name] = torch.full((batch,), low, dtype=torch.float64)
            variance[name] = torch.full((batch,), high, dtype=torch.float64)
            continue
        if metric.violation_anchor is not None:
            frozen[name] = torch.full((batch,), metric.violation_anchor, dtype=torch.float64)
        else:
            frozen[name] = measured["frozen"][name]
        variance[name] = measured["variance"][name]
    return {"frozen": frozen, "variance": variance}
