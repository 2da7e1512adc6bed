"""Example: an interactive world model with a real-time ``reset``/``step`` loop.

``RecurrentWorld`` is a small convolutional GRU: it observes the context frames (and the
actions taken between them) one at a time, then renders one new frame per ``step``,
conditioned on the action of that step, as an interactive or real-time model does (a
game engine-like model, a robot's world model). Its renderer starts at zero, so
untrained it is a frozen world; train it however you like and pass the state dict.

The adapter implements the loop natively (``reset``/``step``), so the speed protocol
times one real step per frame; ``predict`` is the same loop over the horizon.

Score it on the control and long-horizon tasks, with its real-time factor at the
tasks' frame rates and against 24 fps::

    python examples/interactive_gru.py --limit 2

or run it like any adapter (actions on the control tasks only, which have them)::

    wmbench run --adapter examples/interactive_gru.py:InteractiveGRU --adapter-config '{"use_actions": true}' \\
        --tasks push_single,push_clutter,push_topple --out results/gru-control
    wmbench run --adapter examples/interactive_gru.py:InteractiveGRU --tasks bounce_long,pendulum_long \\
        --out results/gru-long
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from torch import nn

from wmbench import Adapter, ContextBatch, Requirements, WmbenchError

#: Frame rate of the real-time target: a model that keeps up with 24 frames per second.
REAL_TIME_FPS = 24.0


class ConvGRUCell(nn.Module):
    """A GRU whose gates are 3x3 convolutions over the input and the hidden state."""

    def __init__(self, channels: int):
        super().__init__()
        self.gates = nn.Conv2d(2 * channels, 2 * channels, 3, padding=1)
        self.candidate = nn.Conv2d(2 * channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor, hidden: torch.Tensor) -> torch.Tensor:
        update, reset = torch.sigmoid(self.gates(torch.cat([x, hidden], 1))).chunk(2, 1)
        candidate = torch.tanh(self.candidate(torch.cat([x, reset * hidden], 1)))
        return (1 - update) * hidden + update * candidate


class RecurrentWorld(nn.Module):
    """``h_t = GRU(encode(frame_t, a_t), h_{t-1})``, ``frame_{t+1} = frame_t + render(h_t)``
    at half the frame's resolution; ``a_t`` acts between frame ``t`` and ``t + 1``."""

    def __init__(self, width: int = 16, action_dim: int = 2):
        super().__init__()
        self.width, self.action_dim = width, action_dim
        self.encode = nn.Conv2d(3 + action_dim, width, 3, stride=2, padding=1)
        self.cell = ConvGRUCell(width)
        self.render = nn.ConvTranspose2d(width, 3, 4, stride=2, padding=1)
        nn.init.zeros_(self.render.weight)
        nn.init.zeros_(self.render.bias)

    def initial_state(self, frame: torch.Tensor) -> torch.Tensor:
        b, _, h, w = frame.shape
        return frame.new_zeros(b, self.width, h // 2, w // 2)

    def observe(self, frame: torch.Tensor, action: torch.Tensor | None, hidden: torch.Tensor) -> torch.Tensor:
        if action is None:
            action = frame.new_zeros(frame.shape[0], self.action_dim)
        planes = action[:, :, None, None].expand(-1, -1, *frame.shape[-2:]).to(frame.dtype)
        return self.cell(torch.relu(self.encode(torch.cat([frame, planes], 1))), hidden)

    def next_frame(self, frame: torch.Tensor, hidden: torch.Tensor) -> torch.Tensor:
        return (frame + self.render(hidden)).clamp(0, 1)


class InteractiveGRU(Adapter):
    """``RecurrentWorld`` at 64x64 pixels, stepped one frame at a time.

    ``use_actions``: condition on the actions (control tasks; tasks without actions are
    then refused). ``threads``: PyTorch CPU threads (one is fastest for a model this
    small, see docs/speed.md); ``None`` leaves the setting alone.
    """

    name = "interactive_gru"

    def __init__(
        self,
        checkpoint: str | None = None,
        width: int = 16,
        use_actions: bool = False,
        action_dim: int = 2,
        threads: int | None = 1,
    ):
        super().__init__()
        self.requirements = Requirements(resolution=64, uses_actions=use_actions)
        self.net = RecurrentWorld(width, action_dim)
        if checkpoint is not None:
            if not Path(checkpoint).is_file():
                raise WmbenchError(f"interactive_gru: checkpoint {checkpoint} does not exist")
            self.net.load_state_dict(torch.load(checkpoint, map_location="cpu", weights_only=True))
        if threads is not None:
            torch.set_num_threads(threads)
        self._hidden: torch.Tensor | None = None
        self._frame: torch.Tensor | None = None

    def reset(self, context: torch.Tensor, fps: float, actions: torch.Tensor | None = None) -> None:
        """Observe the context frames and the actions between them; the last frame waits
        for the first step's action."""
        super().reset(context, fps, actions)  # checks the number of past actions
        hidden = self.net.initial_state(context[:, 0])
        for t in range(context.shape[1] - 1):
            hidden = self.net.observe(context[:, t], None if actions is None else actions[:, t], hidden)
        self._hidden, self._frame = hidden, context[:, -1]

    def step(self, action: torch.Tensor | None = None) -> torch.Tensor:
        """One new frame ``(B, 3, H, W)`` under ``action`` ``(B, A)``."""
        if self._hidden is None or self._frame is None:
            raise RuntimeError("call reset() before step()")
        self._hidden = self.net.observe(self._frame, action, self._hidden)
        self._frame = self.net.next_frame(self._frame, self._hidden)
        return self._frame

    def predict(self, batch: ContextBatch) -> torch.Tensor:
        context = batch.frames.shape[1]
        actions = batch.actions
        self.reset(batch.frames, batch.fps, None if actions is None else actions[:, : context - 1])
        frames = [self.step(None if actions is None else actions[:, context - 1 + k]) for k in range(batch.horizon)]
        return torch.stack(frames, dim=1)


CONTROL = ("push_single", "push_clutter", "push_topple")
LONG_HORIZON = ("bounce_long", "pendulum_long")


def main() -> None:
    import wmbench

    parser = argparse.ArgumentParser(description="Score InteractiveGRU on the control and long-horizon tasks.")
    parser.add_argument("--limit", type=int, default=2, help="episodes per task (default: 2)")
    parser.add_argument("--checkpoint", help="state dict of RecurrentWorld")
    args = parser.parse_args()
    rows = []
    for tasks, use_actions in ((CONTROL, True), (LONG_HORIZON, False)):
        adapter = InteractiveGRU(args.checkpoint, use_actions=use_actions)
        result = wmbench.evaluate(adapter, tasks=list(tasks), limit=args.limit, progress=True)
        for task in tasks:
            speed = result.record["speed"][task]
            p50 = speed["step_latency_ms"]["p50"]
            rows.append(
                {
                    "task": task,
                    **result.headline["task_areas"].get(task, {}),
                    "step p50 ms": p50,
                    "real-time factor (task fps)": speed["real_time_factor"],
                    f"real-time factor ({REAL_TIME_FPS:g} fps)": 1e3 / p50 / REAL_TIME_FPS,
                    "device": speed["device"]["name"],
                }
            )
    import pandas as pd

    table = pd.DataFrame(rows)
    print(table.astype(object).where(table.notna(), None).to_markdown(index=False, floatfmt=".3g", missingval="–"))


if __name__ == "__main__":
    main()
