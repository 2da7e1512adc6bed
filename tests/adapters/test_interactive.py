"""The interactive example: a recurrent model stepped in real time, on control and long-horizon tasks."""

from __future__ import annotations

import importlib.util

import pytest
import torch

import wmbench
from wmbench import ContextBatch

from ..conftest import REPO

EXAMPLE = REPO / "examples" / "interactive_gru.py"


@pytest.fixture(scope="module")
def example():
    spec = importlib.util.spec_from_file_location("interactive_gru_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def randomised(example, **config):
    """The example with a renderer that is not zero, so that its frames depend on everything."""
    adapter = example.InteractiveGRU(threads=None, **config)
    torch.nn.init.normal_(adapter.net.render.weight, std=0.05, generator=torch.Generator().manual_seed(0))
    adapter.setup(torch.device("cpu"))
    return adapter


def test_the_loop_is_native_and_predict_is_the_same_loop(example):
    assert example.InteractiveGRU.capabilities() == ["interactive"]
    adapter = randomised(example, use_actions=True)
    frames = torch.rand(2, 4, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    actions = torch.randn(2, 4 + 5 - 1, 2, generator=torch.Generator().manual_seed(2))
    with torch.inference_mode():
        predicted = adapter.predict(ContextBatch(frames=frames, horizon=5, fps=15.0, actions=actions))
        adapter.reset(frames, 15.0, actions[:, :3])
        stepped = torch.stack([adapter.step(actions[:, 3 + k]) for k in range(5)], dim=1)
        adapter.reset(frames, 15.0, actions[:, :3])
        other = adapter.step(-actions[:, 3])
    assert predicted.shape == (2, 5, 3, 64, 64) and torch.equal(predicted, stepped)
    assert not torch.equal(other, stepped[:, 0])  # the step's action matters


def test_untrained_it_is_a_frozen_world(example):
    adapter = example.InteractiveGRU(threads=None)
    frames = torch.rand(1, 3, 3, 64, 64)
    with torch.inference_mode():
        predicted = adapter.predict(ContextBatch(frames=frames, horizon=4, fps=30.0))
    assert torch.equal(predicted, frames[:, -1:].expand(-1, 4, -1, -1, -1))


@pytest.mark.parametrize(("task", "use_actions"), [("push_single", True), ("pendulum_long", False)])
def test_scored_with_its_real_time_factor(example, cache, task, use_actions):
    result = wmbench.evaluate(randomised(example, use_actions=use_actions), tasks=[task], limit=1, cache=cache)
    assert result.rows[0]["status"] == "ok"
    speed = result.record["speed"][task]
    assert speed["measured"] and speed["step_latency_ms"]["count"] == speed["protocol"]["min_calls"]
    fps = wmbench.get_task(task).fps
    assert speed["real_time_factor"] == pytest.approx(1e3 / speed["step_latency_ms"]["p50"] / fps)
    assert result.record["adapter"]["capabilities"] == ["interactive"]
    assert result.record["adapter"]["requirements"]["uses_actions"] is use_actions
