"""The metric contract: per-episode scores, aggregated across processes.

A metric is a torchmetrics :class:`~torchmetrics.Metric`. Its :meth:`EpisodeMetric.score`
is the definition: one value per episode (``NaN`` where it cannot be computed, which
is counted as missing, never as 0). :meth:`update` accumulates those values in
states declared with ``dist_reduce_fx="sum"``, so :meth:`compute` gives the mean over
every episode of every process.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar

import torch
from torchmetrics import Metric

from wmbench.errors import TaskFileError, UnknownNameError
from wmbench.metrics.probes import Probes
from wmbench.worlds.episode import Episode


@dataclass
class Truth:
    """What a metric may compare a prediction with.

    ``frames``: the true future, ``float32 (B, T, 3, H, W)`` in ``[0, 1]``, on the
    metric's device. ``context``: the context frames, same layout. ``episodes``: the
    full episodes (states, visibility, objects, ensemble) on the host. ``probes``: what
    the run obtained from the adapter besides the main prediction (its futures under
    alternative actions, its surprise on possible/impossible clips), or ``None``.
    """

    frames: torch.Tensor
    context: torch.Tensor
    episodes: list[Episode]
    probes: Probes | None = None
    _memo: dict[tuple[str, int], tuple[torch.Tensor, Any]] = field(default_factory=dict, repr=False,
                                                                  compare=False)

    def memo(self, key: str, frames: torch.Tensor, compute: Callable[[], Any]) -> Any:
        """``compute()`` once per ``key`` and the very ``frames`` tensor (a prediction, or
        this truth's own frames), for as long as this batch lives: metrics reading the
        same derived quantity (object states, motion masks, warping error) share one
        computation, and scoring the references against this truth reuses its side.
        Metrics never modify their inputs, so a tensor's derived values stay valid."""
        hit = self._memo.get((key, id(frames)))
        if hit is not None and hit[0] is frames:
            return hit[1]
        value = compute()
        self._memo[(key, id(frames))] = (frames, value)  # holding the tensor keeps its id unique
        return value

    def episode_hashes(self) -> list[str]:
        """The episodes' content hashes (:meth:`Episode.content_hash`), computed once per batch."""
        return self.memo("episode_hashes", self.frames, lambda: [e.content_hash() for e in self.episodes])


class MetricUnavailable(Exception):
    """Raised by a metric's constructor when it cannot run here (e.g. missing weights)."""


class EpisodeMetric(Metric):
    """Base class: subclasses set the class attributes and implement :meth:`score`."""

    name: ClassVar[str]
    unit: ClassVar[str]
    higher_is_better: ClassVar[bool]
    #: Headline area: "fidelity", "physics", "coherence", "control", "surprise", or
    #: "diagnostic" (normalised but kept out of the headline indices).
    area: ClassVar[str] = "fidelity"
    #: ``(frozen, variance)`` anchors of the normalised scale for metrics that are not
    #: scored on predicted frames (e.g. ``(0.5, 1.0)`` for an AUROC); ``None``: measured.
    fixed_references: ClassVar[tuple[float, float] | None] = None
    #: For laws a frozen world obeys (permanence, continuity, ...): the score taken as the
    #: 0 of the normalised scale (a clear violation) instead of the frozen world's.
    violation_anchor: ClassVar[float | None] = None
    full_state_update = False

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.add_state("total", torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("count", torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")
        self.add_state("missing", torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")

    def score(self, pred: torch.Tensor, truth: Truth) -> torch.Tensor:
        """Per-episode values ``float64 (B,)`` for predictions ``(B, T, 3, H, W)``."""
        raise NotImplementedError

    def update(self, values: torch.Tensor) -> None:
        values = values.to(self.total.device, torch.float64)
        present = ~torch.isnan(values)
        self.total += values[present].sum()
        self.count += present.sum()
        self.missing += (~present).sum()

    def compute(self) -> torch.Tensor:
        if self.count == 0:
            return torch.tensor(float("nan"), dtype=torch.float64)
        return self.total / self.count


METRICS: dict[str, type[EpisodeMetric]] = {}


def register(cls: type[EpisodeMetric]) -> type[EpisodeMetric]:
    """Class decorator: make a metric available to task files by its ``name``."""
    METRICS[cls.name] = cls
    return cls


def check_metric_names(names: tuple[str, ...], source=None) -> None:
    """Raise :class:`TaskFileError` naming the task file for a metric that does not exist."""
    for name in names:
        if name not in METRICS:
            raise TaskFileError(source, "metrics", str(UnknownNameError("metric", name, list(METRICS))))


def build_metrics(names: tuple[str, ...], source=None) -> tuple[dict[str, EpisodeMetric], dict[str, str]]:
    """Instantiate metrics by name: ``(available, {name: reason it is missing})``."""
    check_metric_names(names, source)
    available, missing = {}, {}
    for name in names:
        try:
            available[name] = METRICS[name]()
        except MetricUnavailable as exc:
            missing[name] = str(exc)
    return available, missing
