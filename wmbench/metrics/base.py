"""The metric contract: per-episode scores, aggregated across processes.

A metric is a torchmetrics :class:`~torchmetrics.Metric`. Its :meth:`EpisodeMetric.score`
is the definition, a pure function of a batch of predictions and the truth: one value
per episode (``NaN`` where it cannot be computed, which is counted as missing, never
as 0). :meth:`~EpisodeMetric.update` scores a batch and adds its values to states
declared with ``dist_reduce_fx="sum"``, so :meth:`~EpisodeMetric.compute` is the mean
over every episode of every process (torchmetrics syncs the states itself). Calling
the metric (``metric(pred, truth)``) does both and returns the batch's per-episode
values, as a run records them.

A metric that needs a model output besides the main prediction declares it in
``needs`` (see :mod:`wmbench.metrics.needs`); the run asks the adapter for it and
hands it over in :attr:`Truth.outputs`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar

import torch
from torchmetrics import Metric

from wmbench.errors import MetricUnavailable, TaskFileError, UnknownNameError
from wmbench.registry import Registry
from wmbench.worlds.episode import Episode


@dataclass
class Truth:
    """What a metric may compare a prediction with.

    ``frames``: the true future, ``float32 (B, T, 3, H, W)`` in ``[0, 1]``, on the
    metric's device. ``context``: the context frames, same layout. ``episodes``: the
    full episodes (states, visibility, objects, ensemble) on the host. ``outputs``: what
    the run obtained from the adapter besides the main prediction, per need of the
    metrics scored (:mod:`wmbench.metrics.needs`) and per episode, ``None`` where the
    episode has nothing to ask for.
    """

    frames: torch.Tensor
    context: torch.Tensor
    episodes: list[Episode]
    outputs: dict[str, list[torch.Tensor | None]] = field(default_factory=dict)
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

    def output(self, need: str, index: int) -> torch.Tensor | None:
        """Episode ``index``'s model output for ``need``, or ``None``."""
        return self.outputs.get(need, [None] * len(self.episodes))[index]

    def episode_hashes(self) -> list[str]:
        """The episodes' content hashes (:meth:`Episode.content_hash`), computed once per batch."""
        return self.memo("episode_hashes", self.frames, lambda: [e.content_hash() for e in self.episodes])


class EpisodeMetric(Metric):
    """Base class: subclasses set the class attributes and implement :meth:`score`."""

    name: ClassVar[str]
    unit: ClassVar[str]
    higher_is_better: bool
    #: Headline area: "fidelity", "physics", "coherence", "control", "surprise", or
    #: "diagnostic" (normalised but kept out of the headline indices).
    area: ClassVar[str] = "fidelity"
    #: ``(frozen, variance)`` anchors of the normalised scale for metrics that are not
    #: scored on predicted frames (e.g. ``(0.5, 1.0)`` for an AUROC); ``None``: measured.
    fixed_references: ClassVar[tuple[float, float] | None] = None
    #: For laws a frozen world obeys (permanence, continuity, ...): the score taken as the
    #: 0 of the normalised scale (a clear violation) instead of the frozen world's.
    violation_anchor: ClassVar[float | None] = None
    #: For errors whose precision matters at every scale (positions): normalised on a
    #: logarithmic scale, every halving of the error earning the same credit, with values
    #: below this floor (the reading's own noise) counted as the floor; ``None``: linear.
    log_floor: ClassVar[float | None] = None
    #: Metrics that read one measurement several ways share a group, which counts once in
    #: their area's index (the mean of their normalised scores); ``None``: on its own.
    group: ClassVar[str | None] = None
    #: Model outputs besides the main prediction that :meth:`score` reads from
    #: :attr:`Truth.outputs` (names of :data:`wmbench.metrics.needs.NEEDS`). The frozen
    #: world and the variance rollouts have no such outputs, so these metrics declare
    #: ``fixed_references``.
    needs: ClassVar[frozenset[str]] = frozenset()
    #: Whether :meth:`score` reads predicted frames (the main prediction, or frames a need
    #: asks for). ``False`` for metrics read only from other model outputs (surprise): a
    #: model that predicts no frames (``Requirements.predicts_frames``) is scored on
    #: tasks whose metrics all say ``False``.
    scores_frames: ClassVar[bool] = True
    #: Per-item data pooled over episodes (:class:`~wmbench.metrics.pooled.PooledEpisodeMetric`).
    pooled_states: ClassVar[tuple[str, ...]] = ()
    full_state_update = False

    total: torch.Tensor
    count: torch.Tensor
    missing: torch.Tensor

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if getattr(cls, "name", None) and cls.needs and cls.fixed_references is None:
            raise TypeError(f"{cls.__qualname__} needs {sorted(cls.needs)} from the model: it must declare "
                            "fixed_references (its scale cannot be measured on the frozen world or the variance)")

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.add_state("total", torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("count", torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")
        self.add_state("missing", torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")

    def score(self, pred: torch.Tensor, truth: Truth) -> torch.Tensor:
        """Per-episode values ``float64 (B,)`` for predictions ``(B, T, 3, H, W)``."""
        raise NotImplementedError

    def values(self, pred: torch.Tensor, truth: Truth) -> torch.Tensor:
        """:meth:`score`, computed once per prediction and batch (shared by
        :meth:`update` and :meth:`forward`). The memo holds the metric too, so that its
        id names it for as long as the batch lives."""
        return truth.memo(f"score/{id(self)}", pred, lambda: (self, self.score(pred, truth)))[1]

    def update(self, pred: torch.Tensor, truth: Truth) -> None:
        """Score a batch and add its values to the states."""
        self.add(self.values(pred, truth))

    def add(self, values: torch.Tensor) -> None:
        """Add per-episode values ``(B,)`` to the states, however they were scored (here,
        or by a scoring worker: :mod:`wmbench.run.scoring_pool`)."""
        values = values.to(self.total.device, torch.float64)
        present = torch.isfinite(values)  # NaN (cannot be computed) and +-inf count as missing
        self.total += values[present].sum()
        self.count += present.sum()
        self.missing += (~present).sum()

    def forward(self, pred: torch.Tensor, truth: Truth) -> torch.Tensor:
        """:meth:`update` with a batch, returning its per-episode values ``float64 (B,)``."""
        self.update(pred, truth)
        return self.values(pred, truth)

    def compute(self) -> torch.Tensor:
        if self.count == 0:
            return torch.tensor(float("nan"), dtype=torch.float64)
        return self.total / self.count


METRICS: Registry[type[EpisodeMetric]] = Registry("metric", EpisodeMetric, "wmbench.metrics",
                                                  builtins="wmbench.metrics")
#: Class decorator: make a metric available to task files by its ``name``.
register = METRICS.register


def check_metric_names(names: tuple[str, ...], source: Any = None) -> None:
    """Raise :class:`TaskFileError` naming the task file for a metric that does not exist."""
    for name in names:
        if name not in METRICS:
            raise TaskFileError(source, "metrics", str(UnknownNameError("metric", name, list(METRICS))))


def unavailable_metrics(names: Iterable[str]) -> dict[str, str]:
    """The metrics among ``names`` that cannot run on this machine, with the reason
    (each is constructed once to find out; an unknown name is skipped)."""
    missing = {}
    for name in dict.fromkeys(names):
        if name in METRICS:
            try:
                METRICS[name]()
            except MetricUnavailable as exc:
                missing[name] = str(exc)
    return missing


def build_metrics(names: tuple[str, ...], source: Any = None) -> tuple[dict[str, EpisodeMetric], dict[str, str]]:
    """Instantiate metrics by name: ``(available, {name: reason it is missing})``."""
    check_metric_names(names, source)
    available, missing = {}, {}
    for name in names:
        try:
            available[name] = METRICS[name]()
        except MetricUnavailable as exc:
            missing[name] = str(exc)
    return available, missing
