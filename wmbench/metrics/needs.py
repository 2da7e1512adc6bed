"""Model outputs besides the main prediction, asked for by the metrics that declare them.

A metric lists what it needs in ``EpisodeMetric.needs``; the run gathers every need of
the metrics it scores, episode by episode, and hands the outputs to the metrics in
:attr:`Truth.outputs <wmbench.metrics.base.Truth.outputs>` (``None`` for an episode
with nothing to ask for). The built-in needs:

* ``alternatives``: on episodes whose alternatives carry actions, the model's futures
  under each alternative's action sequence from the same context,
  ``float32 (K, horizon, 3, H, W)`` in ``[0, 1]`` at the truth's resolution, in the order
  of ``Episode.alternatives``;
* ``surprise``: on episodes with impossible alternatives (violation of expectation),
  the model's per-frame surprise (:meth:`Adapter.score_surprise`) of the possible clip
  (row 0) and of each alternative (row ``k + 1``), ``float64 (1 + K, T)`` with
  ``T = context + horizon``; ``None`` for a privileged reference adapter that does
  not rate surprise itself.

A need reaches the model through the run's :class:`Model`, which adapts inputs to the
adapter's requirements (context frames, resolution, batch size), checks its outputs with
one-line errors, and is the one place that shows a privileged reference adapter the
truth. A new kind of model output is a new :class:`Need` here (and, if the model must do
something new, a method with a working default on the adapter base class); nothing in
the run changes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, Protocol

import numpy as np
import torch

from wmbench.frames import unit_float
from wmbench.metrics.control import alternative_futures
from wmbench.registry import Registry
from wmbench.worlds.episode import Episode
from wmbench.worlds.meta import alternatives_of


class Model(Protocol):
    """The adapter as the run lets a need reach it."""

    #: Context frames the model takes (``None``: all it is given).
    context: int | None

    def predict(
        self,
        context: torch.Tensor,
        actions: torch.Tensor | None,
        future: Callable[[], torch.Tensor] | None,
        where: str | list[str],
    ) -> torch.Tensor:
        """Checked futures ``float32 (K, horizon, 3, H, W)`` at the context's resolution,
        predicted from contexts ``(K, C, 3, H, W)`` and actions ``(K, C + horizon - 1, A)``
        (or ``None``). ``future()`` gives the true futures, shown only to a privileged
        reference adapter. ``where`` names the episodes in errors."""
        ...

    def call(
        self, method: str, clips: torch.Tensor, args: tuple[Any, ...], shape: tuple[int, ...], where: str
    ) -> torch.Tensor | None:
        """``adapter.<method>(clips, *args)`` on clips ``float32 (K, T, 3, H, W)`` at the
        model's resolution, in pieces of its batch size; each clip's output must have
        ``shape`` and be finite. ``None`` for a privileged reference adapter that does not
        implement ``method`` itself."""
        ...


class Need:
    """One kind of model output (see the module docstring)."""

    name: ClassVar[str]

    def wanted(self, episode: Episode) -> bool:
        """Whether ``episode`` has anything to ask the model for."""
        raise NotImplementedError

    def gather(self, model: Model, episode: Episode, context: torch.Tensor) -> torch.Tensor | None:
        """The model's output for ``episode``, whose context frames are ``context``
        ``float32 (C, 3, H, W)``; ``None`` where the model cannot give it."""
        raise NotImplementedError


NEEDS: Registry[type[Need]] = Registry("need", Need, "wmbench.needs")


@NEEDS.register
class Alternatives(Need):
    name = "alternatives"

    def wanted(self, episode: Episode) -> bool:
        return bool(episode.alternatives) and all(a.actions is not None for a in episode.alternatives)

    def gather(self, model: Model, episode: Episode, context: torch.Tensor) -> torch.Tensor | None:
        count, length = len(episode.alternatives), episode.context + episode.horizon - 1
        actions = torch.from_numpy(
            np.stack([a.actions[:length] for a in episode.alternatives if a.actions is not None])
        ).to(context.device)
        return model.predict(
            context.expand(count, *context.shape),
            actions,
            lambda: alternative_futures(episode).to(context.device),
            f"{episode.key} (alternatives)",
        )


@NEEDS.register
class Surprise(Need):
    name = "surprise"

    def wanted(self, episode: Episode) -> bool:
        return any(a.impossible for a in alternatives_of(episode))

    def gather(self, model: Model, episode: Episode, context: torch.Tensor) -> torch.Tensor | None:
        """The model sees the clips from the first of the context frames it takes; frames
        before that score 0 (they are context)."""
        length = episode.context + episode.horizon
        clips = unit_float(
            np.stack([r.frames[:length] for r in [episode.truth, *episode.alternatives]]), context.device
        )
        taken = min(model.context or episode.context, episode.context)
        skipped = episode.context - taken
        surprise = model.call(
            "score_surprise", clips[:, skipped:], (episode.fps, taken), (length - skipped,), episode.key
        )
        if surprise is None:
            return None
        return torch.cat([surprise.new_zeros(surprise.shape[0], skipped), surprise], dim=1)


def gather_needs(
    model: Model, needs: set[str], episodes: list[Episode], context: torch.Tensor
) -> dict[str, list[torch.Tensor | None]]:
    """Every need's output per episode of a batch whose context frames are ``context``
    ``float32 (B, C, 3, H, W)``, episode by episode."""
    wanted = {name: NEEDS[name]() for name in sorted(needs)}
    outputs: dict[str, list[torch.Tensor | None]] = {name: [None] * len(episodes) for name in wanted}
    for i, episode in enumerate(episodes):
        for name, need in wanted.items():
            if need.wanted(episode):
                outputs[name][i] = need.gather(model, episode, context[i])
    return outputs
