"""The adapter: the one class a model author writes.

Subclass :class:`Adapter` and implement :meth:`Adapter.predict`::

    class MyModel(Adapter):
        requirements = Requirements(context=4)

        def __init__(self, checkpoint: str = "model.pt"):
            super().__init__()
            self.net = torch.load(checkpoint)

        def predict(self, batch: ContextBatch) -> torch.Tensor:
            return self.net(batch.frames, batch.horizon).clamp(0, 1)

The harness gives an adapter only what a world model may see: the context frames, the
actions it is entitled to (action tasks only), the horizon and the frame rate. Never
the future frames, the object states, the seed, the scene parameters or the cache.

Optional capabilities are plain methods with working defaults, overridden by adapters
that can do better; :meth:`Adapter.capabilities` reports which ones an adapter
implements natively, and results record it:

* ``surprise``: :meth:`Adapter.score_surprise` rates each frame of a clip (higher =
  more surprising); the default is the error of the adapter's own one-step prediction.
* ``interactive``: :meth:`Adapter.reset` with a context (and the actions taken
  during it), then :meth:`Adapter.step` with one action returns the next frame; the
  default calls :meth:`predict` with a horizon of one on a sliding window of frames
  and the true actions between them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import nn

from wmbench.threads import torch_threads


@dataclass(frozen=True)
class Requirements:
    """What a model needs; the harness adapts inputs to it or refuses clearly.

    ``context``: number of most recent frames the model takes (``None``: all given).
    ``resolution``: square side the model works at; the harness resizes frames in and
    out (``None``: the task's resolution). ``uses_actions``: the model conditions on
    actions (it is refused on tasks without them). ``max_batch_size``: largest batch
    the model accepts (``None``: any). ``predicts_frames``: the model predicts pixels;
    ``False`` for a model that predicts representations only (it implements
    :meth:`Adapter.score_surprise` and is refused on tasks that score predicted frames).
    """

    context: int | None = None
    resolution: int | None = None
    uses_actions: bool = False
    max_batch_size: int | None = None
    predicts_frames: bool = True


@dataclass(frozen=True)
class ContextBatch:
    """The whole input of one prediction call.

    ``frames``: ``float32 (B, C, 3, H, W)`` in ``[0, 1]``, on the adapter's device.
    ``actions``: ``float32 (B, C + horizon - 1, A)`` or ``None``; ``actions[:, t]``
    is applied between frame ``t`` and ``t + 1`` (the context's and the future's).
    ``horizon``: number of frames to predict. ``fps``: frames per second of scene time.
    """

    frames: torch.Tensor
    horizon: int
    fps: float
    actions: torch.Tensor | None = None

    @property
    def batch_size(self) -> int:
        return self.frames.shape[0]


class Adapter:
    """Base class for world-model adapters (see the module docstring)."""

    #: Display name in results and leaderboards (default: the class name).
    name: ClassVar[str] = ""
    requirements: ClassVar[Requirements] = Requirements()
    #: Shown the true future instead of predicting it (:class:`ReferenceAdapter`).
    privileged: ClassVar[bool] = False

    def __init__(self) -> None:
        #: The constructor arguments given by the registry (recorded in results).
        self.config: dict[str, Any] = {}
        self.device = torch.device("cpu")
        self._window: torch.Tensor | None = None
        self._ring: FrameRing | None = None
        self._past_actions: torch.Tensor | None = None
        self._fps = 0.0

    @classmethod
    def display_name(cls) -> str:
        return cls.name or cls.__name__

    @classmethod
    def capabilities(cls) -> list[str]:
        """Optional capabilities this adapter implements natively (not by default)."""
        native = []
        if cls.score_surprise is not Adapter.score_surprise:
            native.append("surprise")
        if cls.step is not Adapter.step or cls.reset is not Adapter.reset:
            native.append("interactive")
        return native

    def implements(self, method: str) -> bool:
        """Whether this adapter's class defines ``method`` itself rather than inheriting
        the base class's default."""
        return getattr(type(self), method) is not getattr(Adapter, method)

    def describe(self) -> dict[str, Any]:
        """What a result records about how this adapter ran beyond its config: model
        ids and revisions, how frames are resized, padded or resampled in time, dtype.
        JSON-serialisable; default: nothing."""
        return {}

    def modules(self) -> list[nn.Module]:
        """The ``nn.Module`` attributes of this adapter (moved to the device, set to eval)."""
        return [v for v in vars(self).values() if isinstance(v, nn.Module)]

    def setup(self, device: torch.device) -> None:
        """Called once before prediction: move weights to ``device``."""
        self.device = device
        for module in self.modules():
            module.to(device).eval()

    def predict(self, batch: ContextBatch) -> torch.Tensor:
        """Predict ``float (B, horizon, 3, H, W)`` frames in ``[0, 1]`` from ``batch``."""
        raise NotImplementedError(f"{type(self).__name__} must implement predict()")

    def score_surprise(self, clips: torch.Tensor, fps: float, context: int) -> torch.Tensor:
        """Per-frame surprise ``(B, T)`` of clips ``float (B, T, 3, H, W)``; the first
        ``context`` frames score 0. Default: mean squared error of the one-step
        prediction of frame ``t`` from the ``context`` frames before it."""
        b, t = clips.shape[:2]
        surprise = torch.zeros(b, t, device=clips.device)
        for i in range(context, t):
            predicted = self.predict(ContextBatch(frames=clips[:, i - context : i], horizon=1, fps=fps))
            surprise[:, i] = (predicted[:, 0].to(clips.dtype) - clips[:, i]).pow(2).flatten(1).mean(1)
        return surprise

    def reset(self, context: torch.Tensor, fps: float, actions: torch.Tensor | None = None) -> None:
        """Start an interactive rollout from context frames ``float (B, C, 3, H, W)``;
        ``actions`` ``(B, C - 1, A)`` are those taken between the context frames (action
        tasks), ``None`` otherwise."""
        if actions is not None and actions.shape[1] != context.shape[1] - 1:
            raise ValueError(f"reset() got {actions.shape[1]} past actions for {context.shape[1]} context "
                             f"frames; expected {context.shape[1] - 1}")
        self._ring = FrameRing(context)
        self._window, self._past_actions, self._fps = self._ring.window, actions, fps

    def step(self, action: torch.Tensor | None = None) -> torch.Tensor:
        """Advance one frame under ``action`` ``(B, A)``; returns ``float (B, 3, H, W)``.

        Default: :meth:`predict` with a horizon of one on the last ``C`` frames (the
        context, then the frames predicted so far) and the true actions between them,
        followed by ``action``. The window given to :meth:`predict` is a view of a ring
        of frames, valid until the next step (copy it to keep it): a step copies only its
        new frame, never the window."""
        if self._window is None or self._ring is None:
            raise RuntimeError("call reset() before step()")
        actions = None
        if action is not None:
            past = self._past_actions
            if past is None:
                if self._window.shape[1] > 1:
                    raise ValueError("step() got an action but reset() got no past actions")
                past = action.new_zeros(action.shape[0], 0, action.shape[-1])
            actions = torch.cat([past, action[:, None].to(past.dtype)], dim=1)
            self._past_actions = actions[:, 1:]
        frame = self.predict(ContextBatch(frames=self._window, horizon=1, fps=self._fps, actions=actions))[:, 0]
        self._window = self._ring.push(frame)
        return frame


class FrameRing:
    """The last ``C`` frames of a rollout, ``(B, C, ...)``, kept as one slice of a buffer
    of ``2C`` frames in which each frame is written twice (at ``i`` and ``i + C``): adding
    a frame copies that frame only, and the window is always a view."""

    def __init__(self, context: torch.Tensor):
        self.size, self.start = context.shape[1], 0
        self.buffer = torch.cat([context, context], dim=1)

    @property
    def window(self) -> torch.Tensor:
        return self.buffer[:, self.start : self.start + self.size]

    def push(self, frame: torch.Tensor) -> torch.Tensor:
        """Drop the oldest frame, append ``frame`` ``(B, ...)``; returns the new window.
        The copy runs on one thread: it must not wake the model's (see :mod:`wmbench.threads`)."""
        with torch_threads(1):
            self.buffer[:, self.start] = frame
            self.buffer[:, self.start + self.size] = frame
        self.start = (self.start + 1) % self.size
        return self.window


class ReferenceAdapter(Adapter):
    """A privileged reference baseline (e.g. the oracle) that is shown the true future.

    Only for sanity bounds: results mark such runs ``privileged`` and leaderboards list
    them apart from submitted models.
    """

    privileged = True

    def predict_with_truth(self, batch: ContextBatch, future: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError
