"""Asking an adapter for more than its main prediction, for the metrics that need it.

* Action episodes (alternatives that carry actions), when a control metric is scored:
  the adapter predicts the future under each alternative's action sequence from the
  same context (a privileged reference adapter is shown each alternative's true
  future instead).
* Violation-of-expectation episodes (alternatives marked impossible), when a surprise
  metric is scored: the adapter rates every frame of the possible clip and of each
  impossible twin with :meth:`Adapter.score_surprise` (a privileged reference adapter
  only if it implements it; otherwise the surprise metrics are missing).

Inputs are adapted to the adapter's requirements (context frames, resolution, actions,
batch size) exactly as for the main prediction, and outputs are validated with the
same one-line errors.
"""

from __future__ import annotations

from typing import Callable, Iterable

import numpy as np
import torch

from wmbench.adapters.base import Adapter, ContextBatch, ReferenceAdapter
from wmbench.errors import AdapterError
from wmbench.metrics.base import EpisodeMetric
from wmbench.metrics.control import ActionMetric, alternative_futures
from wmbench.metrics.probes import Probes
from wmbench.metrics.surprise import SurpriseMetric, is_voe
from wmbench.run.checks import adapter_inputs, check_prediction, resize
from wmbench.tasks.schema import Task
from wmbench.worlds.episode import Episode


def _chunked(call: Callable[[slice], torch.Tensor], total: int, size: int | None) -> torch.Tensor:
    """``call`` on consecutive slices of at most ``size`` items, concatenated."""
    step = size or total
    return torch.cat([call(slice(s, s + step)) for s in range(0, total, step)])


def predict_alternatives(adapter: Adapter, task: Task, episode: Episode, context: torch.Tensor,
                         label: str) -> torch.Tensor:
    """Predicted futures ``(K, horizon, 3, H, W)`` under each alternative's actions from
    one episode's ``context`` ``float (C, 3, H, W)``, at the context's resolution."""
    count, length = len(episode.alternatives), task.context + task.horizon - 1
    actions = torch.from_numpy(np.stack([a.actions[:length] for a in episode.alternatives])).to(context.device)
    inputs = adapter_inputs(adapter, context.expand(count, *context.shape), actions, task.horizon, task.fps)
    futures = None
    if isinstance(adapter, ReferenceAdapter):
        futures = resize(alternative_futures(episode).to(context.device), inputs.frames.shape[-1])

    _, _, c, h, w = inputs.frames.shape
    where = f"{episode.key} (alternatives)"

    def predict(part: slice) -> torch.Tensor:
        batch = ContextBatch(frames=inputs.frames[part], horizon=inputs.horizon, fps=inputs.fps,
                             actions=None if inputs.actions is None else inputs.actions[part])
        pred = adapter.predict(batch) if futures is None else adapter.predict_with_truth(batch, futures[part])
        return check_prediction(pred, (batch.batch_size, task.horizon, c, h, w), label, task.name, where)

    pred = _chunked(predict, count, adapter.requirements.max_batch_size)
    return resize(pred, context.shape[-1])


def score_clips(adapter: Adapter, task: Task, episode: Episode, device: torch.device, label: str) -> torch.Tensor:
    """Per-frame surprise ``(1 + K, T)`` of an episode's possible clip and alternatives.

    The adapter sees the clips from the first of the context frames it requires, at its
    resolution; frames before that score 0 (they are context)."""
    length = task.context + task.horizon
    frames = np.stack([r.frames[:length] for r in [episode.truth, *episode.alternatives]])
    clips = torch.from_numpy(frames).to(device).permute(0, 1, 4, 2, 3).float().div_(255.0)
    req = adapter.requirements
    context = min(req.context or task.context, task.context)
    skipped = task.context - context
    clips = clips[:, skipped:]
    if req.resolution is not None:
        clips = resize(clips, req.resolution)

    def score(part: slice) -> torch.Tensor:
        values = adapter.score_surprise(clips[part], task.fps, context)
        expected = (clips[part].shape[0], clips.shape[1])
        if not isinstance(values, torch.Tensor) or tuple(values.shape) != expected:
            shape = tuple(values.shape) if isinstance(values, torch.Tensor) else type(values).__name__
            raise AdapterError(label, f"score_surprise() returned {shape}, expected a tensor of shape {expected}",
                               task.name, episode.key)
        if not torch.isfinite(values).all():
            raise AdapterError(label, "score_surprise() returned NaN/Inf values", task.name, episode.key)
        return values.double()

    surprise = _chunked(score, clips.shape[0], req.max_batch_size)
    return torch.cat([surprise.new_zeros(surprise.shape[0], skipped), surprise], dim=1)


def scores_surprise(adapter: Adapter) -> bool:
    """Whether the adapter rates surprise: every adapter but a privileged reference one
    that does not implement it (its default would need ``predict``, which it lacks)."""
    return not isinstance(adapter, ReferenceAdapter) or "surprise" in adapter.capabilities()


def probe_adapter(adapter: Adapter, task: Task, metrics: Iterable[EpisodeMetric], episodes: list[Episode],
                  context: torch.Tensor, label: str) -> Probes | None:
    """What the scored ``metrics`` need beyond the main prediction, for a batch whose
    context frames are ``context`` ``float (B, C, 3, H, W)``; ``None`` if nothing."""
    metrics = list(metrics)
    wants_alternatives = any(isinstance(m, ActionMetric) for m in metrics)
    wants_surprise = any(isinstance(m, SurpriseMetric) for m in metrics)
    if not (wants_alternatives or wants_surprise):
        return None
    probes = Probes.empty(len(episodes))
    for i, episode in enumerate(episodes):
        alternatives = episode.alternatives
        if wants_alternatives and alternatives and all(a.actions is not None for a in alternatives):
            probes.alternatives[i] = predict_alternatives(adapter, task, episode, context[i], label)
        if wants_surprise and is_voe(episode) and scores_surprise(adapter):
            probes.surprise[i] = score_clips(adapter, task, episode, context.device, label)
    return probes
