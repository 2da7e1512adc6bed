"""The vjepa2 adapter on a tiny random V-JEPA 2, on the CPU: surprise from the past only."""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("transformers", reason="the vjepa extra is not installed: pip install 'wmbench[vjepa]'")

import wmbench  # noqa: E402
from wmbench.adapters import resolve  # noqa: E402
from wmbench.adapters.vjepa2 import VJEPA2  # noqa: E402
from wmbench.errors import AdapterError, WmbenchError  # noqa: E402

from .tiny_models import tiny_vjepa2  # noqa: E402


@pytest.fixture
def adapter() -> VJEPA2:
    adapter = VJEPA2(model=tiny_vjepa2())
    adapter.setup(torch.device("cpu"))
    return adapter


def clips(count: int = 2, frames: int = 16, size: int = 32, seed: int = 0) -> torch.Tensor:
    return torch.rand(count, frames, 3, size, size, generator=torch.Generator().manual_seed(seed))


def test_registered_by_short_name_as_a_model_without_frames():
    assert resolve("vjepa2") is VJEPA2 and VJEPA2.requirements.predicts_frames is False
    assert VJEPA2.capabilities() == ["surprise"]


def test_surprise_is_the_l1_error_of_the_prediction_from_the_context_alone(adapter):
    video = clips()
    surprise = adapter.score_surprise(video, fps=30.0, context=8)
    assert surprise.shape == (2, 16) and (surprise[:, :8] == 0).all() and (surprise[:, 8:] > 0).all()
    assert torch.equal(surprise[:, 8::2], surprise[:, 9::2])  # one value per tubelet of two frames
    pixels = adapter._pixels(video)
    with torch.inference_mode():
        encoded = adapter.model.encoder(pixel_values_videos=pixels[:, :8]).last_hidden_state  # the past only
        n = encoded.shape[1]
        predicted = adapter.model.predictor(
            encoder_hidden_states=encoded,
            context_mask=[torch.arange(n).expand(2, -1)],
            target_mask=[torch.arange(n, n + 16).expand(2, -1)],
        ).last_hidden_state
        target = adapter.model.encoder(pixel_values_videos=pixels[:, :10]).last_hidden_state[:, n:]
    assert torch.allclose(surprise[:, 8], (predicted - target).abs().mean((1, 2)), rtol=1e-5)


def test_a_frame_never_changes_the_surprise_of_earlier_frames(adapter):
    video = clips()
    before = adapter.score_surprise(video, fps=30.0, context=8)
    changed = video.clone()
    changed[:, 12:] = torch.rand_like(changed[:, 12:])  # a different future from frame 12 on
    after = adapter.score_surprise(changed, fps=30.0, context=8)
    assert torch.equal(after[:, :12], before[:, :12])
    assert not torch.allclose(after[:, 12:], before[:, 12:])


def test_odd_lengths_longer_windows_and_resizing(adapter):
    video = clips(frames=13, size=64)
    surprise = adapter.score_surprise(video, fps=30.0, context=7)  # 6 context frames used, a lone last frame
    assert surprise.shape == (2, 13) and (surprise[:, :7] == 0).all() and (surprise[:, 7:] > 0).all()
    wide = VJEPA2(model=adapter.model, predict_frames=4)
    assert wide.score_surprise(video, fps=30.0, context=8).shape == (2, 13)
    with pytest.raises(WmbenchError, match="predict_frames must be a positive multiple of the tubelet size 2"):
        VJEPA2(model=adapter.model, predict_frames=3)
    with pytest.raises(WmbenchError, match="needs at least 2 context frames"):
        adapter.score_surprise(video, fps=30.0, context=1)


def test_scored_on_violation_of_expectation_and_refused_elsewhere(adapter, cache):
    result = wmbench.evaluate(adapter, tasks=["voe_permanence"], limit=2, cache=cache)
    assert [r["status"] for r in result.rows] == ["ok", "ok"]
    assert all(r["metrics"]["voe_pairwise_accuracy"] in (0.0, 0.5, 1.0) for r in result.rows)
    assert set(result.indices) == {"surprise"}
    assert result.record["adapter"]["details"]["crop_size"] == 32
    with pytest.raises(AdapterError, match="predicts no frames, and the task scores predicted frames"):
        wmbench.evaluate(adapter, tasks=["drop_single"], limit=1, cache=cache)
