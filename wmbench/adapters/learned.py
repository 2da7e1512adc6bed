"""Adapters around trainable video predictors: the network, its presets and its checkpoint.

A :class:`VideoPredictor` adapter names a network class (a :class:`Predictor`), the
network configurations it knows (``presets``, keyword arguments of the network) and
the checkpoint it loads by default. ``wmbench train --model NAME`` trains any such
adapter's network on a suite's train split (see :mod:`wmbench.train`) and writes a
checkpoint the adapter loads with ``--adapter-config '{"checkpoint": PATH}'``.

A checkpoint is one ``torch.save`` file readable with ``weights_only=True``::

    {"format": "wmbench.video_predictor", "format_version": 1,
     "model": "convlstm", "config": {...network keyword arguments...},
     "action_dim": 0, "context": 4, "resolution": 64,
     "state_dict": {...}, "training": {...what, where and how long it trained...}}
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import nn

from wmbench.adapters.base import Adapter, ContextBatch, Requirements
from wmbench.errors import WmbenchError

CHECKPOINT_FORMAT = "wmbench.video_predictor"
FORMAT_VERSION = 1
#: Writing ``"none"`` as the checkpoint gives the untrained network of a preset.
UNTRAINED = "none"


class Predictor(nn.Module):
    """A network that predicts frames from context frames (and actions).

    :meth:`forward` takes ``context`` ``float (B, C, 3, H, W)`` in ``[0, 1]``, the
    ``horizon``, ``actions`` ``float (B, C + horizon - 1, A)`` (``None`` for networks
    built with ``action_dim = 0``) and, in training, the true ``future`` ``(B, horizon,
    3, H, W)`` with ``teacher``: the probability that each step is fed the true previous
    frame instead of its own prediction (scheduled sampling). It returns ``(B, horizon,
    3, H, W)`` in ``[0, 1]``.
    """

    def forward(
        self,
        context: torch.Tensor,
        horizon: int,
        actions: torch.Tensor | None = None,
        future: torch.Tensor | None = None,
        teacher: float = 0.0,
    ) -> torch.Tensor:
        raise NotImplementedError

    def regulariser(self) -> torch.Tensor:
        """An extra training loss computed by the last :meth:`forward` (0 by default)."""
        return torch.zeros((), device=next(self.parameters()).device)

    @staticmethod
    def feed(prediction: torch.Tensor, future: torch.Tensor | None, step: int, teacher: float) -> torch.Tensor:
        """The frame fed to the next step: the true frame ``future[:, step]`` for each
        sample with probability ``teacher`` (training only), else ``prediction``."""
        if future is None or teacher <= 0.0:
            return prediction
        use_true = torch.rand(prediction.shape[0], 1, 1, 1, device=prediction.device) < teacher
        return torch.where(use_true, future[:, step], prediction)


class RecurrentPredictor(Predictor):
    """A predictor that steps through the context, then through its own predictions: each
    step encodes a frame (with the step's action planes), updates a recurrent state with
    :meth:`step` and decodes the top features into a change added to that frame.
    Subclasses set ``encode`` and ``decode`` (e.g. :func:`frame_encoder`,
    :func:`residual_decoder`) and implement :meth:`step`."""

    encode: nn.Module
    decode: nn.Module

    def step(self, x: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        """Features ``x`` of one frame and the state (``None`` at the first step) -> the
        top layer's features and the next state."""
        raise NotImplementedError

    def forward(
        self,
        context: torch.Tensor,
        horizon: int,
        actions: torch.Tensor | None = None,
        future: torch.Tensor | None = None,
        teacher: float = 0.0,
    ) -> torch.Tensor:
        c, (h, w) = context.shape[1], context.shape[-2:]
        frame, state, out = context[:, 0], None, []
        for t in range(c + horizon - 1):
            top, state = self.step(self.encode(torch.cat([frame, *tile_actions(actions, t, h, w)], 1)), state)
            prediction = (frame + self.decode(top)).clamp(0, 1)
            if t + 1 < c:
                frame = context[:, t + 1]
            else:
                out.append(prediction)
                frame = self.feed(prediction, future, t + 1 - c, teacher)
        return torch.stack(out, 1)


def tile_actions(actions: torch.Tensor | None, step: int, height: int, width: int) -> list[torch.Tensor]:
    """``[]`` without actions, else the action applied at ``step`` as constant planes
    ``(B, A, height, width)``: the input a network concatenates to that step's frame."""
    if actions is None:
        return []
    return [actions[:, step, :, None, None].expand(-1, -1, height, width)]


def frame_encoder(inputs: int, width: int) -> nn.Module:
    """Frames (and tiled actions) ``(B, inputs, H, W)`` -> features ``(B, width, H/4, W/4)``:
    two stride-2 convolutions."""
    return nn.Sequential(
        nn.Conv2d(inputs, width // 2, 3, 2, 1),
        nn.LeakyReLU(0.2),
        nn.Conv2d(width // 2, width, 3, 2, 1),
        nn.LeakyReLU(0.2),
    )


def residual_decoder(width: int) -> nn.Module:
    """Features ``(B, width, H/4, W/4)`` -> a change of frame ``(B, 3, H, W)``: two
    transposed convolutions, the last starting at zero (an untrained network adds nothing)."""
    last = nn.ConvTranspose2d(width // 2, 3, 4, 2, 1)
    for parameter in last.parameters():
        nn.init.zeros_(parameter)
    return nn.Sequential(nn.ConvTranspose2d(width, width // 2, 4, 2, 1), nn.LeakyReLU(0.2), last)


def read_checkpoint(path: Path) -> dict[str, Any]:
    """A checkpoint written by ``wmbench train``, checked; raises :class:`WmbenchError` naming the file."""
    if not path.is_file():
        raise WmbenchError(f"checkpoint {path} does not exist")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for corrupt or foreign files
        raise WmbenchError(f"checkpoint {path} cannot be read: {type(exc).__name__}: {exc}") from exc
    if not isinstance(data, dict) or data.get("format") != CHECKPOINT_FORMAT:
        raise WmbenchError(
            f"checkpoint {path} is not a wmbench video predictor checkpoint (write one with `wmbench train`)"
        )
    if data.get("format_version") != FORMAT_VERSION:
        raise WmbenchError(
            f"checkpoint {path} has format version {data.get('format_version')}; "
            f"this wmbench reads version {FORMAT_VERSION}"
        )
    return data


class VideoPredictor(Adapter):
    """An adapter around a trainable :class:`Predictor`, rolled out over the horizon.

    ``checkpoint``: a file written by ``wmbench train`` (default: the adapter's committed
    ``default_checkpoint``; ``"none"``: the untrained network of ``preset``).
    Subclasses set ``presets``, ``default_checkpoint`` (next to the adapter's file) and
    :meth:`network`; ``requirements`` fixes the context and resolution the network
    works at, and ``uses_actions`` whether it is the action-conditioned variant.
    """

    requirements: ClassVar[Requirements] = Requirements(context=4, resolution=64)
    #: Named network configurations: keyword arguments of :meth:`network`.
    presets: ClassVar[dict[str, dict[str, Any]]] = {}
    #: The checkpoint loaded when none is given, relative to the adapter's file.
    default_checkpoint: ClassVar[str | None] = None

    @classmethod
    def network(cls, action_dim: int = 0, **config: Any) -> Predictor:
        """The network for ``config`` (a preset's keyword arguments), taking ``action_dim``
        action values per step (0: none)."""
        raise NotImplementedError

    @classmethod
    def default_checkpoint_path(cls) -> Path | None:
        if cls.default_checkpoint is None:
            return None
        return Path(inspect.getfile(cls)).resolve().parent / cls.default_checkpoint

    def __init__(self, checkpoint: str | None = None, preset: str = "smoke", action_dim: int = 2):
        super().__init__()
        name = self.display_name()
        if checkpoint == UNTRAINED:
            if preset not in self.presets:
                raise WmbenchError(f"{name}: unknown preset '{preset}' (known: {', '.join(self.presets)})")
            self.net = self.network(action_dim if self.requirements.uses_actions else 0, **self.presets[preset])
            self.checkpoint: dict[str, Any] = {}
            return
        path = Path(checkpoint) if checkpoint is not None else self.default_checkpoint_path()
        if path is None:
            raise WmbenchError(
                f"{name}: no checkpoint given and none committed; pass "
                f'{{"checkpoint": PATH}} (from `wmbench train --model {name}`)'
            )
        self.checkpoint = read_checkpoint(path)
        if self.checkpoint["model"] != name:
            raise WmbenchError(f"checkpoint {path} holds a '{self.checkpoint['model']}' network, not '{name}'")
        wanted = {"context": self.requirements.context, "resolution": self.requirements.resolution}
        found = {k: self.checkpoint.get(k) for k in wanted}
        if found != wanted:
            raise WmbenchError(f"checkpoint {path} was trained with {found}; {name} takes {wanted}")
        self.net = self.network(self.checkpoint["action_dim"], **self.checkpoint["config"])
        try:
            self.net.load_state_dict(self.checkpoint["state_dict"])
        except RuntimeError as exc:
            problem = " ".join(str(exc).split())  # one line
            raise WmbenchError(f"checkpoint {path} does not fit the {name} network: {problem[:300]}") from exc

    def predict(self, batch: ContextBatch) -> torch.Tensor:
        return self.net(batch.frames, batch.horizon, batch.actions)
