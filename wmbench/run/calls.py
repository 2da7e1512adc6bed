"""Calling an adapter's prediction under the run's per-call time limit: the part of the
:class:`~wmbench.run.harness.Harness` that the speed protocol needs, light enough to
import where episodes must not be (the isolated adapter process, :mod:`wmbench.run.child`)."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

import torch

from wmbench.adapters.base import Adapter, ContextBatch
from wmbench.errors import AdapterError
from wmbench.run.limits import time_limit

if TYPE_CHECKING:
    from wmbench.tasks.schema import Task


def pieces(total: int, size: int | None) -> list[slice]:
    """Consecutive slices of at most ``size`` items (all at once for ``None``) covering ``total``."""
    step = size or max(total, 1)
    return [slice(start, min(start + step, total)) for start in range(0, total, step)]


class AdapterCalls:
    """Calls ``adapter``'s prediction on ``task``'s inputs; ``timeout``: the seconds one
    call may take (:mod:`wmbench.run.limits`; ``None``: no limit). ``task`` is read for
    its name, horizon, fps and resolution only."""

    def __init__(self, adapter: Adapter, task: Task, timeout: float | None = None):
        self.adapter, self.task, self.timeout = adapter, task, timeout
        self.label = adapter.display_name()
        self.privileged = adapter.privileged
        self.context = adapter.requirements.context
        self.predicts_frames = adapter.requirements.predicts_frames

    def limited(self, method: str, where: str | None = None) -> AbstractContextManager[None]:
        """Ends a call of the adapter's ``method`` that takes longer than the timeout with
        an :class:`AdapterError` naming it."""

        def error() -> AdapterError:
            problem = f"{method} did not return within the {self.timeout:g} s timeout (--timeout)"
            return AdapterError(self.label, problem, self.task.name, where)

        return time_limit(self.timeout, error)

    def raw(self, inputs: ContextBatch, future: torch.Tensor | None = None, where: str | None = None) -> list[object]:
        """The adapter's unchecked output for each piece of ``inputs`` (at most its
        ``max_batch_size`` episodes each); a privileged adapter also gets the matching
        rows of the true ``future`` at its resolution. ``where``: the episodes, for errors."""
        outputs: list[object] = []
        for part in pieces(inputs.batch_size, self.adapter.requirements.max_batch_size):
            piece = ContextBatch(
                frames=inputs.frames[part],
                horizon=inputs.horizon,
                fps=inputs.fps,
                actions=None if inputs.actions is None else inputs.actions[part],
            )
            if self.privileged:
                if future is None:
                    raise AdapterError(
                        self.label, "a privileged reference adapter needs the true future", self.task.name
                    )
                with self.limited("predict_with_truth()", where):
                    outputs.append(self.adapter.predict_with_truth(piece, future[part]))  # type: ignore[attr-defined]
            else:
                with self.limited("predict()", where):
                    outputs.append(self.adapter.predict(piece))
        return outputs
