"""The cosmos adapter on a tiny random Cosmos Predict 2.5 pipeline, on the CPU."""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("diffusers", reason="the cosmos extra is not installed: pip install 'wmbench[cosmos]'")
pytest.importorskip("accelerate", reason="the cosmos extra is not installed: pip install 'wmbench[cosmos]'")

import wmbench  # noqa: E402
from wmbench import ContextBatch  # noqa: E402
from wmbench.adapters import resolve  # noqa: E402
from wmbench.adapters.cosmos import Cosmos, from_canvas, nearest_indices, to_canvas  # noqa: E402
from wmbench.errors import WmbenchError  # noqa: E402

from .tiny_models import TEXT_DIM, tiny_cosmos_pipeline  # noqa: E402

TINY = {"height": 16, "width": 32, "num_frames": 9, "num_inference_steps": 2, "guidance_scale": 1.0}


def tiny_cosmos(**config) -> Cosmos:
    adapter = Cosmos(
        pipeline=tiny_cosmos_pipeline(),
        prompt_embeds=torch.randn(1, 4, TEXT_DIM, generator=torch.Generator().manual_seed(0)),
        **dict(TINY, **config),
    )
    adapter.setup(torch.device("cpu"))
    return adapter


def test_registered_by_short_name():
    assert resolve("cosmos") is Cosmos


def test_square_frames_are_padded_onto_the_canvas_and_cropped_back():
    frames = torch.rand(2, 3, 16, 16)
    canvas = to_canvas(frames, 16, 32, "pad")
    assert canvas.shape == (2, 3, 16, 32)
    assert torch.equal(canvas[..., 8:24], frames)  # centred, unscaled at the canvas's shorter side
    assert torch.equal(canvas[..., :8], canvas[..., 8:9].expand(-1, -1, -1, 8))  # left edge repeated
    assert torch.equal(from_canvas(canvas, 16, "pad"), frames)
    shrunk = from_canvas(to_canvas(frames, 32, 64, "pad"), 16, "pad")  # 2x bilinear up, then 2x2 area down
    assert shrunk.shape == frames.shape and (shrunk - frames).abs().max() < 0.5
    grey = torch.full((1, 3, 8, 8), 0.25)
    assert torch.allclose(from_canvas(to_canvas(grey, 16, 32, "stretch"), 8, "stretch"), grey)


def test_context_is_resampled_to_the_model_rate_by_nearest_frame():
    adapter = tiny_cosmos()
    context = torch.arange(8.0).view(8, 1, 1, 1).expand(8, 3, 4, 4)  # frame i holds the value i
    chosen = adapter._conditioning(context, fps=30.0)[:, 0, 0, 0]
    # 16 fps instants 4/16 .. 0 s before the last frame (7/30 s): 0, 1.375, 3.25, 5.125, 7 frames
    assert chosen.tolist() == [0, 1, 3, 5, 7]
    assert nearest_indices(torch.tensor([0.5 / 30, 1.49 / 30]), 30.0, 8).tolist() == [1, 1]
    unchanged = tiny_cosmos(model_fps=None)._conditioning(context, fps=30.0)[:, 0, 0, 0]
    assert unchanged.tolist() == [3, 4, 5, 6, 7]


def test_a_long_horizon_is_rolled_out_call_after_call(monkeypatch):
    adapter = tiny_cosmos()
    calls = []
    generate = adapter._generate

    def spy(conditioning, call):
        out = generate(conditioning, call)
        calls.append((conditioning.clone(), out))
        return out

    monkeypatch.setattr(adapter, "_generate", spy)
    context = torch.rand(1, 8, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    pred = adapter.predict(ContextBatch(frames=context, horizon=16, fps=30.0))
    assert pred.shape == (1, 16, 3, 32, 32) and torch.isfinite(pred).all()
    assert 0 <= pred.min() and pred.max() <= 1
    # 16 frames at 30 fps = 0.53 s = 9 frames at 16 fps; 4 new frames per call of 9 (5 conditioning)
    assert len(calls) == adapter.rollout_calls(16, 30.0) == 3
    for (_, before), (conditioning, _) in zip(calls, calls[1:]):
        assert torch.equal(conditioning[-4:], before)  # each call continues from the frames generated last
    generated = torch.cat([out for _, out in calls])
    # the task's frame i (i/30 s) is the model's frame round(16 i / 30) (frame 0: the context's last)
    expected = from_canvas(generated[[0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 8]], 32, "pad").clamp(0, 1)
    assert torch.allclose(pred[0], expected)
    again = adapter.predict(ContextBatch(frames=context, horizon=16, fps=30.0))
    assert torch.equal(pred, again)  # seeded noise: the same prediction every time


def test_bad_settings_are_refused_in_one_line():
    with pytest.raises(WmbenchError, match="multiples of 16, got 30x32; fit must be.*num_frames must be 4k \\+ 1"):
        Cosmos(pipeline=tiny_cosmos_pipeline(), height=30, width=32, num_frames=10, fit="crop")
    with pytest.raises(WmbenchError, match="conditioning_latents must be 1 or 2"):
        Cosmos(pipeline=tiny_cosmos_pipeline(), conditioning_latents=3)


def test_cosmos_is_scored_end_to_end_and_its_geometry_recorded(cache):
    result = wmbench.evaluate(tiny_cosmos(), tasks=["drop_single"], limit=1, resolution=32, cache=cache)
    assert result.rows[0]["status"] == "ok" and result.rows[0]["metrics"]["mse"] is not None
    details = result.record["adapter"]["details"]
    assert details["canvas"]["height"] == 16 and details["frames_per_call"] == 9
    assert details["conditioning_frames"] == 5 and details["model_fps"] == 16.0
    assert details["safety_checker"] == "PassThroughSafetyChecker"
    assert result.record["adapter"]["requirements"]["max_batch_size"] == 1
    assert result.record["speed"]["drop_single"]["measured"]
