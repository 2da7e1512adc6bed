"""The learned baselines' networks, their adapters and their checkpoints."""

from __future__ import annotations

import hashlib

import pytest
import torch

from wmbench import ContextBatch, WmbenchError
from wmbench.adapters import load_adapter, resolve
from wmbench.adapters.learned import CHECKPOINT_FORMAT, FORMAT_VERSION

MODELS = ("convlstm", "predrnn", "simvp")


def _batch(actions: bool, horizon: int = 9) -> ContextBatch:  # two of simvp's 8-frame blocks
    frames = torch.rand(2, 4, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    return ContextBatch(
        frames=frames, horizon=horizon, fps=30.0, actions=torch.rand(2, 4 + horizon - 1, 2) if actions else None
    )


@pytest.mark.parametrize("name", MODELS + tuple(f"{m}_action" for m in MODELS))
def test_an_untrained_network_is_a_frozen_world_of_the_right_shape(name):
    adapter = load_adapter(name, {"checkpoint": "none", "preset": "smoke"})
    batch = _batch(adapter.requirements.uses_actions)
    with torch.inference_mode():
        out = adapter.predict(batch)
    assert out.shape == (2, 9, 3, 64, 64) and out.dtype == torch.float32
    assert torch.equal(out, batch.frames[:, -1:].expand_as(out))  # the decoders start at zero


@pytest.mark.parametrize("name", MODELS)
def test_action_variants_take_actions_and_the_others_do_not(name):
    plain, action = load_adapter(name, {"checkpoint": "none"}), load_adapter(f"{name}_action", {"checkpoint": "none"})
    assert not plain.requirements.uses_actions and action.requirements.uses_actions
    assert isinstance(action, type(plain))  # the same network, with action inputs
    assert plain.requirements.context == action.requirements.context == 4
    assert plain.requirements.resolution == action.requirements.resolution == 64


@pytest.mark.parametrize("name", MODELS)
def test_a_trained_network_reacts_to_the_actions_it_is_given(name):
    adapter = load_adapter(f"{name}_action", {"checkpoint": "none"})
    torch.manual_seed(0)
    for p in adapter.net.parameters():  # any non-zero weights: the decoders no longer start at zero
        p.data.normal_(0, 0.05)
    batch = _batch(True)
    other = ContextBatch(frames=batch.frames, horizon=batch.horizon, fps=batch.fps, actions=-batch.actions)
    with torch.inference_mode():
        assert not torch.allclose(adapter.predict(batch), adapter.predict(other))


def _save(path, **changes):
    adapter = load_adapter("convlstm", {"checkpoint": "none"})
    saved = {
        "format": CHECKPOINT_FORMAT,
        "format_version": FORMAT_VERSION,
        "model": "convlstm",
        "config": {"hidden": 16, "layers": 1},
        "action_dim": 0,
        "context": 4,
        "resolution": 64,
        "state_dict": adapter.net.state_dict(),
        "training": {},
    }
    saved.update(changes)
    torch.save(saved, path)
    return adapter


def test_a_checkpoint_round_trips(tmp_path):
    adapter = _save(tmp_path / "m.pt")
    for p in adapter.net.parameters():
        p.data.add_(0.01)
    torch.save(
        {**torch.load(tmp_path / "m.pt", weights_only=True), "state_dict": adapter.net.state_dict()}, tmp_path / "m.pt"
    )
    loaded = load_adapter("convlstm", {"checkpoint": str(tmp_path / "m.pt")})
    batch = _batch(False)
    with torch.inference_mode():
        assert torch.equal(loaded.predict(batch), adapter.predict(batch))


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"format": "something else"}, "is not a wmbench video predictor checkpoint"),
        ({"format_version": 99}, "has format version 99"),
        ({"model": "simvp"}, "holds a 'simvp' network, not 'convlstm'"),
        ({"resolution": 32}, "was trained with {'context': 4, 'resolution': 32}"),
        ({"config": {"hidden": 8, "layers": 1}}, "does not fit the convlstm network"),
    ],
)
def test_a_wrong_checkpoint_is_a_one_line_error(tmp_path, changes, message):
    _save(tmp_path / "m.pt", **changes)
    with pytest.raises(WmbenchError, match=message.replace("(", r"\(").replace("{", r"\{")) as error:
        load_adapter("convlstm", {"checkpoint": str(tmp_path / "m.pt")})
    assert "\n" not in str(error.value)


def test_a_missing_or_unreadable_checkpoint_names_the_file(tmp_path):
    with pytest.raises(WmbenchError, match="checkpoint nope.pt does not exist"):
        load_adapter("predrnn", {"checkpoint": "nope.pt"})
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(WmbenchError, match=r"junk.pt cannot be read"):
        load_adapter("predrnn", {"checkpoint": str(tmp_path / "junk.pt")})
    with pytest.raises(WmbenchError, match="unknown preset 'huge'"):
        load_adapter("simvp", {"checkpoint": "none", "preset": "huge"})


#: The networks whose trained weights are committed beside their adapters.
COMMITTED = MODELS + tuple(f"{m}_action" for m in MODELS)


@pytest.mark.parametrize("name", COMMITTED)
def test_a_committed_checkpoint_is_the_default_and_learned_more_than_a_frozen_world(name):
    path = resolve(name).default_checkpoint_path()
    assert path is not None and path.is_file() and path.stat().st_size < 10_000_000
    card = path.with_suffix(".md").read_text(encoding="utf-8")
    assert hashlib.sha256(path.read_bytes()).hexdigest()[:16] in card  # the card describes these bytes
    adapter = load_adapter(name)  # no configuration: the committed weights
    training = adapter.checkpoint["training"]
    assert training["steps"] > 0 and set(training["train_episodes"]) == set(training["tasks"])
    assert training["best_val_mse"] < training["val_mse_copy_last"]  # it beat a frozen world on dev windows
    batch = _batch(adapter.requirements.uses_actions)
    with torch.inference_mode():
        out = adapter.predict(batch)
    assert out.shape == (2, 9, 3, 64, 64) and 0 <= out.min() and out.max() <= 1
    assert not torch.allclose(out, batch.frames[:, -1:].expand_as(out), atol=1e-3)  # trained: not a frozen world


@pytest.mark.parametrize("name", MODELS)
def test_a_committed_action_checkpoint_was_trained_on_the_action_tasks_and_follows_the_actions(name):
    adapter = load_adapter(f"{name}_action")
    saved, batch = adapter.checkpoint, _batch(True, horizon=2)
    assert saved["model"] == f"{name}_action" and saved["action_dim"] == batch.actions.shape[-1]
    assert {t.split("@")[0] for t in saved["training"]["tasks"]} == {"push_single", "push_clutter", "push_topple"}
    other = ContextBatch(frames=batch.frames, horizon=batch.horizon, fps=batch.fps, actions=-batch.actions)
    with torch.inference_mode():
        out, reversed_actions = adapter.predict(batch), adapter.predict(other)
    assert out.shape == reversed_actions.shape == (2, 2, 3, 64, 64)
    assert not torch.allclose(out, reversed_actions, atol=1e-4)  # the trained weights read the actions
