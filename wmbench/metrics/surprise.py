"""Violation of expectation: does the model's surprise single out impossible clips?

A violation-of-expectation episode's true rollout is a possible clip and its
alternatives are clips identical to it until a violation; ``meta["alternatives"]``
describes each alternative in order, an impossible one as
``{"kind": "impossible", "violation": name, "onset": frame}`` (``onset``: the first
frame, counted from the first context frame, that differs from the possible clip).
The run asks the adapter for the per-frame surprise of every clip
(``Adapter.score_surprise``, context = the task's context: the need ``"surprise"``).

A clip's surprise over a window is the **maximum** of its per-frame surprise over the
frames from the window's first frame to the end of the clip.

* ``voe_pairwise_accuracy``: for each impossible clip, compare its surprise from its
  onset with the possible clip's surprise over the same frames: 1 if higher, 0.5 if
  equal, 0 if lower; the episode's value is the mean over its impossible clips (the
  run's aggregate then averages episodes). Fraction; higher is better; 0.5 is chance.
* ``voe_auroc``: the area under the ROC curve separating impossible clips (positives,
  surprise from their onset) from possible ones (the possible clip and any alternative
  not marked impossible; surprise from the episode's earliest onset): the probability
  that a random impossible clip is more surprising than a random possible one, ties
  counting one half (Mann-Whitney). The episode's value is the AUROC over its own
  clips; :meth:`VoeAUROC.compute` is the AUROC over every clip of every episode scored,
  pooled across processes (a result stores it per task, from its rows' clip scores).
  Fraction; higher is better; 0.5 is chance.

Both are missing on episodes without impossible alternatives or without surprise (a
privileged reference adapter that does not rate surprise, or scoring from files).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from scipy.stats import rankdata

from wmbench.metrics.base import EpisodeMetric, Truth, register
from wmbench.metrics.pooled import Items, PooledEpisodeMetric
from wmbench.worlds.episode import Episode
from wmbench.worlds.meta import alternatives_of


def impossible_onsets(episode: Episode) -> list[int | None]:
    """Per alternative: its violation onset if ``meta`` marks it impossible, else ``None``."""
    return [a.onset if a.impossible else None for a in alternatives_of(episode)]


def is_voe(episode: Episode) -> bool:
    """Whether an episode has impossible alternatives to score surprise on."""
    return any(o is not None for o in impossible_onsets(episode))


def auroc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve of ``scores`` for binary ``labels`` (1 positive): the
    Mann-Whitney statistic with average ranks for ties; ``NaN`` without both classes."""
    positives, negatives = int(labels.sum()), int((labels == 0).sum())
    if positives == 0 or negatives == 0:
        return math.nan
    ranks = rankdata(scores)
    return float((ranks[labels == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives))


class SurpriseMetric(EpisodeMetric):
    """Base class of metrics on the adapter's surprise for possible and impossible clips."""

    area, fixed_references = "surprise", (0.5, 1.0)  # chance / perfect
    needs = frozenset({"surprise"})
    scores_frames = False  # the surprise of the true clips; predicted frames are never read

    @staticmethod
    def clips(truth: Truth, i: int) -> tuple[torch.Tensor, list[int | None]] | None:
        """Episode ``i``'s per-frame surprise ``(1 + K, T)`` (row 0 the possible clip) and
        the alternatives' onsets, or ``None`` when it has no impossible clip or no surprise."""
        surprise = truth.output("surprise", i)
        onsets = impossible_onsets(truth.episodes[i])
        if surprise is None or all(o is None for o in onsets):
            return None
        return surprise.double().cpu(), onsets


def window_max(surprise: torch.Tensor, start: int) -> float:
    """A clip's surprise over the window from frame ``start`` to its end."""
    return float(surprise[start:].max())


@register
class VoePairwiseAccuracy(SurpriseMetric):
    name, unit, higher_is_better = "voe_pairwise_accuracy", "fraction", True

    def score(self, pred: torch.Tensor, truth: Truth) -> torch.Tensor:
        values = []
        for i in range(len(truth.episodes)):
            found = self.clips(truth, i)
            if found is None:
                values.append(math.nan)
                continue
            surprise, onsets = found
            outcomes = [np.sign(window_max(surprise[k + 1], o) - window_max(surprise[0], o)) / 2 + 0.5
                        for k, o in enumerate(onsets) if o is not None]
            values.append(float(np.mean(outcomes)))
        return torch.tensor(values, dtype=torch.float64)


@register
class VoeAUROC(SurpriseMetric, PooledEpisodeMetric):
    name, unit, higher_is_better = "voe_auroc", "fraction", True
    pooled_states = ("clip_scores", "clip_labels")

    def score(self, pred: torch.Tensor, truth: Truth) -> torch.Tensor:
        items = self.batch_items(pred, truth)
        values = [math.nan if scores is None or labels is None else auroc(scores.numpy(), labels.numpy())
                  for scores, labels in zip(items["clip_scores"], items["clip_labels"])]
        return torch.tensor(values, dtype=torch.float64)

    def items(self, pred: torch.Tensor, truth: Truth) -> Items:
        """Each episode's clips: their surprise (from the onset for impossible ones, from
        the earliest onset for possible ones) and labels (1 impossible)."""
        clip_scores: list[torch.Tensor | None] = []
        clip_labels: list[torch.Tensor | None] = []
        for i in range(len(truth.episodes)):
            found = self.clips(truth, i)
            if found is None:
                clip_scores.append(None)
                clip_labels.append(None)
                continue
            surprise, onsets = found
            earliest = min(o for o in onsets if o is not None)
            starts = [earliest] + [earliest if o is None else o for o in onsets]
            clip_scores.append(torch.tensor([window_max(s, start) for s, start in zip(surprise, starts)],
                                            dtype=torch.float64))
            clip_labels.append(torch.tensor([0] + [int(o is not None) for o in onsets], dtype=torch.float64))
        return {"clip_scores": clip_scores, "clip_labels": clip_labels}

    @classmethod
    def summarise(cls, items: dict[str, torch.Tensor]) -> dict[str, Any]:
        """``{"auroc": AUROC over every clip, "clips": their number}``."""
        labels = items["clip_labels"].cpu().numpy()
        value = auroc(items["clip_scores"].cpu().numpy(), labels)
        return {"auroc": None if math.isnan(value) else value, "clips": int(labels.size)}

    def compute(self) -> torch.Tensor:
        """AUROC over every clip scored so far, pooled across processes."""
        summary = self.pooled_summary()
        value = math.nan if summary is None or summary["auroc"] is None else summary["auroc"]
        return torch.tensor(value, dtype=torch.float64)
