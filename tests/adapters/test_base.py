"""The adapter API: interactive stepping, default surprise, requirements, batch splitting."""

from __future__ import annotations

import pytest
import torch

from wmbench import Adapter, ContextBatch, Requirements
from wmbench.errors import AdapterError
from wmbench.run.calls import pieces
from wmbench.run.checks import adapter_inputs, check_compatible, resize
from wmbench.run.harness import Harness
from wmbench.tasks import get_task


class Recorder(Adapter):
    """Repeats the last frame, brightened by 0.1 per call; records every batch it gets."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[ContextBatch] = []

    def predict(self, batch: ContextBatch) -> torch.Tensor:
        self.batches.append(batch)
        return (batch.frames[:, -1:] + 0.1).expand(-1, batch.horizon, -1, -1, -1).clone()


class CopyPrevious(Adapter):
    def predict(self, batch: ContextBatch) -> torch.Tensor:
        return batch.frames[:, -1:].expand(-1, batch.horizon, -1, -1, -1).clone()


def test_step_passes_the_true_past_actions_and_the_new_one():
    adapter, context = Recorder(), torch.zeros(2, 3, 3, 4, 4)
    actions = torch.arange(2 * 6 * 1, dtype=torch.float32).view(2, 6, 1)  # a0..a5 per episode
    adapter.reset(context, fps=10.0, actions=actions[:, :2])  # a0, a1 act between the 3 context frames
    for k in range(4):
        frame = adapter.step(actions[:, 2 + k])
        got = adapter.batches[-1]
        assert got.horizon == 1 and got.fps == 10.0
        assert torch.equal(got.actions, actions[:, k : k + 3])  # the window's 2 past actions, then the new one
        assert torch.allclose(frame, torch.full((2, 3, 4, 4), 0.1 * (k + 1)))
    # the window slid over the predicted frames: its last frame is the one just returned
    assert torch.allclose(adapter.batches[-1].frames[:, -1], torch.full((2, 3, 4, 4), 0.3))


def test_the_frame_ring_holds_the_last_frames_without_touching_the_context():
    from wmbench.adapters.base import FrameRing

    context = torch.arange(2 * 3, dtype=torch.float32).view(2, 3, 1)  # 2 episodes, 3 frames of one value
    ring, frames = FrameRing(context), list(context.unbind(1))
    for k in range(8):  # more than twice around the ring
        new = torch.tensor([100.0 + k, 200.0 + k]).view(2, 1)
        frames.append(new)
        window = ring.push(new)
        assert torch.equal(window, torch.stack(frames[-3:], dim=1))
    assert torch.equal(context, torch.arange(6, dtype=torch.float32).view(2, 3, 1))


def test_the_default_step_copies_no_window():
    """Every window a step predicts from is a view of one buffer: no window is built per step."""
    adapter = Recorder()
    adapter.reset(torch.zeros(1, 4, 3, 8, 8), fps=10.0)
    for _ in range(9):
        adapter.step()
    buffers = {b.frames.untyped_storage().data_ptr() for b in adapter.batches}
    assert len(adapter.batches) == 9 and len(buffers) == 1


def test_step_without_actions_and_refusals():
    adapter = Recorder()
    adapter.reset(torch.zeros(1, 2, 3, 4, 4), fps=5.0)
    adapter.step()
    assert adapter.batches[-1].actions is None
    with pytest.raises(ValueError, match="reset\\(\\) got no past actions"):
        adapter.step(torch.ones(1, 2))
    with pytest.raises(ValueError, match="got 3 past actions for 2 context frames; expected 1"):
        adapter.reset(torch.zeros(1, 2, 3, 4, 4), fps=5.0, actions=torch.zeros(1, 3, 2))
    with pytest.raises(RuntimeError, match="reset"):
        Recorder().step()


def test_default_surprise_is_the_one_step_prediction_error():
    values = torch.tensor([0.0, 0.2, 0.3, 0.9, 0.5])
    clips = values.view(1, 5, 1, 1, 1).expand(2, 5, 3, 4, 4).clone()
    clips[1] *= 0.5
    surprise = CopyPrevious().score_surprise(clips, fps=10.0, context=2)
    expected = torch.tensor([[0, 0, 0.01, 0.36, 0.16], [0, 0, 0.0025, 0.09, 0.04]])
    assert surprise.shape == (2, 5)
    assert torch.allclose(surprise, expected, atol=1e-7)


def test_capabilities_list_only_native_overrides():
    class Stepper(CopyPrevious):
        def step(self, action=None):
            return super().step(action)

    assert CopyPrevious.capabilities() == [] and Stepper.capabilities() == ["interactive"]


def test_inputs_are_cropped_and_resized_and_outputs_resized_back():
    class Small(CopyPrevious):
        requirements = Requirements(context=2, resolution=32, uses_actions=True)

    context = torch.rand(3, 8, 3, 128, 128)
    actions = torch.rand(3, 8 + 16 - 1, 2)
    inputs = adapter_inputs(Small(), context, actions, horizon=16, fps=30.0)
    assert inputs.frames.shape == (3, 2, 3, 32, 32)
    assert torch.equal(inputs.actions, actions[:, -(2 + 16 - 1):])
    assert torch.allclose(inputs.frames, resize(context[:, -2:], 32))
    # area down, bilinear up: a flat frame survives the round trip exactly, a detailed one approximately
    flat = torch.full((1, 1, 3, 128, 128), 0.25)
    assert torch.allclose(resize(resize(flat, 32), 128), flat)
    smooth = torch.linspace(0, 1, 128).view(1, 1, 1, 1, 128).expand(1, 1, 3, 128, 128)
    assert (resize(resize(smooth, 32), 128) - smooth).abs().max() < 0.02
    no_actions = adapter_inputs(CopyPrevious(), context, actions, horizon=16, fps=30.0)
    assert no_actions.actions is None and no_actions.frames.shape == context.shape


@pytest.mark.parametrize("requirements, words", [
    (Requirements(context=9), "needs 9 context frames but the task gives 8"),
    (Requirements(uses_actions=True), "conditions on actions but the task has none"),
    (Requirements(context=0), "requirements.context must be a positive integer or None, got 0"),
    (Requirements(resolution=-32), "requirements.resolution must be a positive integer or None, got -32"),
    (Requirements(max_batch_size=2.5), "requirements.max_batch_size must be a positive integer or None, got 2.5"),
])
def test_requirements_the_task_cannot_meet_are_refused(requirements, words):
    class Needy(CopyPrevious):
        pass

    Needy.requirements = requirements
    with pytest.raises(AdapterError) as info:
        check_compatible(Needy(), get_task("drop_single"), has_actions=False)
    assert str(info.value) == f"adapter 'Needy', task 'drop_single': {words}"


def test_batches_are_split_to_max_batch_size():
    class Limited(Recorder):
        requirements = Requirements(max_batch_size=3)

    adapter = Limited()
    inputs = ContextBatch(frames=torch.rand(7, 2, 3, 8, 8), horizon=4, fps=10.0, actions=torch.rand(7, 5, 1))
    outputs = Harness(adapter, get_task("drop_single")).raw(inputs)
    assert [b.batch_size for b in adapter.batches] == [3, 3, 1]
    assert torch.equal(torch.cat([b.actions for b in adapter.batches]), inputs.actions)
    assert torch.allclose(torch.cat(outputs), (inputs.frames[:, -1:] + 0.1).expand(-1, 4, -1, -1, -1))
    assert pieces(7, None) == [slice(0, 7)] and pieces(7, 7) == [slice(0, 7)]
    assert pieces(7, 3) == [slice(0, 3), slice(3, 6), slice(6, 7)] and pieces(0, 3) == []
