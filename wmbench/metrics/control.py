"""Action-conditioned control: do predictions respond to actions as the world does?

An action episode has its true rollout and ``K`` alternatives (``Episode.alternatives``):
other action sequences from the same start, each simulated. The run predicts a future
for each alternative's actions from the same context (the need ``"alternatives"``).
With the main prediction that gives ``n = K + 1`` rollouts ``r``, each with a true
future ``F_r`` and a predicted one ``P_r`` (``horizon`` frames).

* ``counterfactual_consistency``: ``1 - sum_r ||e_r - mean(e)||^2 / sum_r ||F_r - mean(F)||^2``
  with the errors ``e_r = P_r - F_r``, the means over rollouts and the norms over
  frames, channels and pixels, computed at a quarter of the resolution (4x4 area
  averaging, so that effects displaced by a pixel or two still count). Equivalently,
  1 minus the summed squared mismatch between every pair's predicted difference
  ``P_a - P_b`` and true difference ``F_a - F_b``, relative to the summed squared true
  differences. Unitless, at most 1; higher is better: 1 when the predictions change
  with the actions exactly as the true futures do (a model that is wrong the same way
  under every action still scores 1), 0 for a model that ignores the actions,
  negative when its changes are wrong.
* ``action_sensitivity``: ``sqrt(sum_r ||P_r - mean(P)||^2 / sum_r ||F_r - mean(F)||^2)``
  at the same resolution: how strongly the predictions respond to the actions
  relative to the true futures. Unitless ratio; 1 is right; 0 ignores the actions.
* ``planning_rank_correlation``: Spearman rank correlation (average ranks for ties)
  over the ``n`` rollouts between the outcome measured on the predicted final frame
  and on the true final frame. The outcome is the position, in pixels, of the target
  object's colour centroid (soft colour match, see :func:`colour_centroids`) along one
  image axis. The target is ``meta["target"]`` (an object id, as action scenes write it) when the task
  names one, else the dynamic object; the axis (and, without a named target, the
  object) is the one whose true outcomes spread most over the rollouts. In ``[-1, 1]``;
  higher is better; 1 when the model ranks the action sequences as the simulator
  does; 0 when its predicted outcomes are all equal (no ranking).

All three are missing on episodes without alternatives with actions, when the run did
not predict them, or when the true futures (outcomes) do not differ across rollouts;
``planning_rank_correlation`` also with fewer than 3 rollouts or when the target is
not found in a true or predicted final frame.
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from scipy.stats import rankdata

from wmbench.frames import unit_float
from wmbench.metrics.base import EpisodeMetric, Truth, register
from wmbench.worlds.episode import Episode
from wmbench.worlds.meta import target_of

#: Counterfactual consistency and sensitivity are scored at 1/WORKING_SCALE of the resolution.
WORKING_SCALE = 4
#: RGB distance (0-1 scale) at which a pixel's colour stops counting for an object.
COLOUR_TOLERANCE = 0.25
#: Least soft pixel count for an object to be found in a frame.
MIN_OBJECT_PIXELS = 1.0
MIN_RANKED_ROLLOUTS = 3


class ActionMetric(EpisodeMetric):
    """Base class of metrics that need the predicted futures under the alternative
    actions: :meth:`episode_value` scores one episode's rollouts, restricted to the
    predicted steps ``steps``."""

    steps: ClassVar[slice] = slice(None)
    needs = frozenset({"alternatives"})

    def score(self, pred: torch.Tensor, truth: Truth) -> torch.Tensor:
        values = []
        for i, episode in enumerate(truth.episodes):
            alternatives = truth.output("alternatives", i)
            if alternatives is None:
                values.append(math.nan)
                continue
            predicted = torch.cat([pred[i : i + 1, self.steps], alternatives[:, self.steps].to(pred)]).float()
            actual = torch.cat([truth.frames[i : i + 1, self.steps],
                                alternative_futures(episode, self.steps).to(truth.frames)]).float()
            values.append(self.episode_value(episode, predicted, actual))
        return torch.tensor(values, dtype=torch.float64)

    def episode_value(self, episode: Episode, predicted: torch.Tensor, actual: torch.Tensor) -> float:
        """The value for one episode from its predicted and true futures (the steps
        ``steps``), float32 ``(n, steps, 3, H, W)`` with row 0 the main rollout."""
        raise NotImplementedError


def alternative_futures(episode: Episode, steps: slice = slice(None)) -> torch.Tensor:
    """The true futures of an episode's alternatives (predicted ``steps`` of them),
    ``float32 (K, horizon, 3, H, W)`` in [0, 1]."""
    start, stop = episode.context, episode.context + episode.horizon
    frames = np.stack([a.frames[start:stop][steps] for a in episode.alternatives])
    return unit_float(frames)


def _coarse(frames: torch.Tensor) -> torch.Tensor:
    """Rollouts ``(n, T, 3, H, W)`` at the working resolution, flattened: float64 ``(n, D)``."""
    return F.avg_pool2d(frames.flatten(0, 1), WORKING_SCALE).view(frames.shape[0], -1).double()


def _spread(frames: torch.Tensor) -> torch.Tensor:
    """Sum of squared deviations of rollouts ``(n, ...)`` from their mean."""
    return (frames - frames.mean(dim=0, keepdim=True)).pow(2).sum()


@register
class CounterfactualConsistency(ActionMetric):
    name, unit, higher_is_better = "counterfactual_consistency", "unitless", True
    area, fixed_references = "control", (0.0, 1.0)  # ignores the actions / as the world

    def episode_value(self, episode: Episode, predicted: torch.Tensor, actual: torch.Tensor) -> float:
        predicted, actual = _coarse(predicted), _coarse(actual)
        true_spread = _spread(actual)
        return math.nan if true_spread == 0 else float(1 - _spread(predicted - actual) / true_spread)


@register
class ActionSensitivity(ActionMetric):
    name, unit, higher_is_better = "action_sensitivity", "ratio", True
    # 1 is right and more is not better: a diagnostic, kept out of the headline indices.
    area, fixed_references = "diagnostic", (0.0, 1.0)

    def episode_value(self, episode: Episode, predicted: torch.Tensor, actual: torch.Tensor) -> float:
        predicted, actual = _coarse(predicted), _coarse(actual)
        true_spread = _spread(actual)
        return math.nan if true_spread == 0 else float((_spread(predicted) / true_spread).sqrt())


def colour_centroids(frames: torch.Tensor, colour: tuple[int, int, int]) -> torch.Tensor:
    """Centroid ``(x, y)`` in pixels (x right, y down, pixel centres at integers) of the
    pixels matching an RGB ``colour`` (0-255) in frames ``(N, 3, H, W)`` in [0, 1]; each
    pixel weighs ``max(0, 1 - d / COLOUR_TOLERANCE)`` for its RGB distance ``d`` (0-1
    scale). ``NaN`` where the weights sum to less than ``MIN_OBJECT_PIXELS``: ``(N, 2)``."""
    target = torch.tensor(colour, dtype=frames.dtype, device=frames.device).view(1, 3, 1, 1) / 255
    weight = (1 - (frames - target).pow(2).sum(dim=1).sqrt() / COLOUR_TOLERANCE).clamp_min(0)
    h, w = weight.shape[-2:]
    mass = weight.sum(dim=(1, 2))
    x = (weight * torch.arange(w, dtype=frames.dtype, device=frames.device)).sum(dim=(1, 2)) / mass
    y = (weight * torch.arange(h, dtype=frames.dtype, device=frames.device).view(h, 1)).sum(dim=(1, 2)) / mass
    centroid = torch.stack([x, y], dim=1)
    return centroid.where((mass >= MIN_OBJECT_PIXELS).unsqueeze(1), torch.nan)


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman rank correlation (average ranks for ties); 0 when ``x`` is constant."""
    rx, ry = rankdata(x), rankdata(y)
    if np.ptp(rx) == 0:
        return 0.0
    return float(np.corrcoef(rx, ry)[0, 1])


def outcome_candidates(episode: Episode) -> list[int]:
    """Object ids whose final position may be the outcome (see the module docstring)."""
    target = target_of(episode)
    return [o.id for o in episode.objects if o.dynamic] if target is None else [target]


@register
class PlanningRankCorrelation(ActionMetric):
    name, unit, higher_is_better = "planning_rank_correlation", "unitless", True
    area, fixed_references = "control", (0.0, 1.0)  # no ranking / the simulator's ranking
    steps = slice(-1, None)  # the final frame

    def episode_value(self, episode: Episode, predicted: torch.Tensor, actual: torch.Tensor) -> float:
        if predicted.shape[0] < MIN_RANKED_ROLLOUTS:
            return math.nan
        predicted, actual = predicted[:, 0].double(), actual[:, 0].double()
        colours = {o.id: o.colour for o in episode.objects}
        best, best_spread = None, 0.0
        for object_id in outcome_candidates(episode):
            true_outcomes = colour_centroids(actual, colours[object_id]).cpu().numpy()
            if np.isnan(true_outcomes).any():
                continue
            spread = true_outcomes.std(axis=0)
            axis = int(spread.argmax())
            if spread[axis] > best_spread:
                best, best_spread = (object_id, axis, true_outcomes[:, axis]), float(spread[axis])
        if best is None:
            return math.nan
        object_id, axis, true_outcome = best
        predicted_outcome = colour_centroids(predicted, colours[object_id])[:, axis].cpu().numpy()
        if np.isnan(predicted_outcome).any():
            return math.nan
        return spearman(predicted_outcome, true_outcome)
