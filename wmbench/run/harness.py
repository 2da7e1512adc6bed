"""The adapter as the run drives it: inputs adapted to its requirements, its outputs
checked, and the one place where a privileged reference adapter is shown the truth.

The main prediction, the metrics' needs (:mod:`wmbench.metrics.needs`, through the
:class:`~wmbench.metrics.needs.Model` interface) and the speed protocol all call the
adapter through a :class:`Harness`.

A model that predicts no frames (``Requirements.predicts_frames``: it predicts
representations and rates surprise) is never asked for frames: its "prediction" is NaN
frames, which every metric reading them counts as missing, and has no time. The run
refuses it on tasks whose metrics score frames (:func:`~wmbench.run.checks.check_compatible`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from wmbench.adapters.base import Adapter, ContextBatch
from wmbench.errors import AdapterError
from wmbench.run.calls import AdapterCalls, pieces
from wmbench.run.checks import adapter_inputs, check_prediction, resize
from wmbench.run.speed import timed
from wmbench.tasks.schema import Task


class Harness(AdapterCalls):
    """Calls ``adapter`` on ``task``'s inputs (see the module docstring); ``timeout``:
    the seconds one call may take (:mod:`wmbench.run.limits`; ``None``: no limit).
    An adapter that runs in another process reports its own time (``clock``, see
    :class:`~wmbench.run.isolated.IsolatedAdapter`)."""

    def __init__(self, adapter: Adapter, task: Task, timeout: float | None = None):
        super().__init__(adapter, task, timeout)
        self.clock: Callable[[torch.device, Callable[[], Any]], tuple[Any, float]] = getattr(adapter, "clock", timed)

    def inputs(self, context: torch.Tensor, actions: torch.Tensor | None) -> ContextBatch:
        """The adapter's input for context frames ``float32 (B, C, 3, H, W)``."""
        return adapter_inputs(self.adapter, context, actions, self.task.horizon, self.task.fps)

    def timed_predict(
        self,
        context: torch.Tensor,
        actions: torch.Tensor | None,
        future: Callable[[], torch.Tensor] | None,
        where: str | list[str],
    ) -> tuple[torch.Tensor, float | None]:
        """:meth:`predict` and the seconds the adapter's own calls took (device
        synchronised); ``None`` for a model that predicts no frames."""
        if not self.predicts_frames:
            return context.new_full((context.shape[0], self.task.horizon, *context.shape[2:]), float("nan")), None
        inputs = self.inputs(context, actions)
        truth = resize(future(), inputs.frames.shape[-1]) if self.privileged and future is not None else None
        label = where if isinstance(where, str) else ", ".join(where)
        outputs, seconds = self.clock(context.device, lambda: self.raw(inputs, truth, label))
        _, _, c, h, w = inputs.frames.shape
        parts = pieces(inputs.batch_size, self.adapter.requirements.max_batch_size)
        checked = [
            check_prediction(
                out,
                (part.stop - part.start, self.task.horizon, c, h, w),
                context.device,
                self.label,
                self.task.name,
                where if isinstance(where, str) else ", ".join(where[part]),
            )
            for part, out in zip(parts, outputs)
        ]
        return resize(torch.cat(checked), context.shape[-1]), seconds

    def predict(
        self,
        context: torch.Tensor,
        actions: torch.Tensor | None,
        future: Callable[[], torch.Tensor] | None,
        where: str | list[str],
    ) -> torch.Tensor:
        """Checked futures ``float32 (B, horizon, 3, H, W)`` in ``[0, 1]`` at the context's
        resolution (see :class:`~wmbench.metrics.needs.Model`); NaN for a model that
        predicts no frames."""
        return self.timed_predict(context, actions, future, where)[0]

    def call(
        self, method: str, clips: torch.Tensor, args: tuple[Any, ...], shape: tuple[int, ...], where: str
    ) -> torch.Tensor | None:
        """``adapter.<method>(clips, *args)`` (see :class:`~wmbench.metrics.needs.Model`), ``float64``."""
        if self.privileged and not self.adapter.implements(method):
            return None  # its default would need predict(), which a privileged adapter lacks
        resolution = self.adapter.requirements.resolution
        if resolution is not None:
            clips = resize(clips, resolution)
        results = []
        for part in pieces(clips.shape[0], self.adapter.requirements.max_batch_size):
            with self.limited(f"{method}()", where):
                values = getattr(self.adapter, method)(clips[part], *args)
            expected = (part.stop - part.start, *shape)
            if not isinstance(values, torch.Tensor) or tuple(values.shape) != expected:
                got = tuple(values.shape) if isinstance(values, torch.Tensor) else type(values).__name__
                raise AdapterError(
                    self.label,
                    f"{method}() returned {got}, expected a tensor of shape {expected}",
                    self.task.name,
                    where,
                )
            if values.device != clips.device:
                raise AdapterError(
                    self.label,
                    f"{method}() returned a tensor on {values.device}, expected "
                    f"{clips.device} (the device of its input)",
                    self.task.name,
                    where,
                )
            if not torch.isfinite(values).all():
                raise AdapterError(self.label, f"{method}() returned NaN/Inf values", self.task.name, where)
            results.append(values.double())
        return torch.cat(results)
