"""The Python API: wmbench.evaluate on adapter objects, plain modules and functions."""

from __future__ import annotations

import pytest
import torch

import wmbench
from wmbench import Adapter, ContextBatch, Requirements
from wmbench.adapters.wrap import as_adapter
from wmbench.errors import AdapterError, ResultError, WmbenchError
from wmbench.results import load_result, verify_result
from wmbench.tasks import split_seeds
from wmbench.worlds.release import Selection, write_release

SMALL = {"tasks": ["drop_single"], "limit": 2, "resolution": 64}


class Frozen(torch.nn.Module):
    """A plain module with the documented signature: the last frame, repeated."""

    def __init__(self):
        super().__init__()
        self.gain = torch.nn.Parameter(torch.ones(()))

    def forward(self, frames: torch.Tensor, horizon: int) -> torch.Tensor:
        return (frames[:, -1:] * self.gain).expand(-1, horizon, -1, -1, -1)


def test_a_plain_module_scores_exactly_as_the_same_model_by_name(cache, tmp_path):
    module = wmbench.evaluate(Frozen(), cache=cache, out=tmp_path / "module", **SMALL)
    named = wmbench.evaluate("copy_last", cache=cache, **SMALL)
    assert module.path == tmp_path / "module" / "result.json" and named.path is None
    assert load_result(tmp_path / "module").record == module.record
    mine, theirs = (r.record["aggregates"]["drop_single"]["metrics"] for r in (module, named))
    assert mine == theirs and mine["mse"]["count"] == 2
    assert module.indices == named.indices and set(module.indices) == {"fidelity", "physics", "coherence"}
    assert module.indices["fidelity"] == 0.0  # the frozen world is the 0 of the scale
    adapter = module.record["adapter"]
    assert adapter["name"] == "Frozen" and adapter["spec"] == "python:tests.test_api:Frozen"
    assert adapter["details"] == {"wraps": "tests.test_api:Frozen", "call": "model(frames, horizon)"}
    assert module.record["speed"]["drop_single"]["measured"]
    with pytest.raises(ResultError, match="kept in memory only and has no files: evaluate with out=DIR"):
        verify_result(named, cache)


def test_a_suite_run_records_the_suite_version(cache, tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("name: mine\nversion: 7\nsplit: dev\nepisodes: 1\ntasks: [drop_single]\n")
    result = wmbench.evaluate(Frozen(), path, resolution=64, cache=cache)
    run = result.record["run"]
    assert (run["suite"], run["suite_version"], run["split"], run["limit"], run["data"]) == ("mine", 7, "dev", 1, None)
    assert [r["seed"] for r in result.rows] == split_seeds(wmbench.get_task("drop_single"), "dev", 1)


def test_a_release_is_evaluated_on_its_exact_episodes(cache, tmp_path):
    task = wmbench.get_task("drop_single").with_overrides(resolution=64)  # the episodes the other tests made
    suite = {"name": "part", "version": 3, "description": ""}
    manifest = write_release(
        Selection((task,), "dev", limit=2, suite=suite), tmp_path / "release", cache, progress=False
    )
    result = wmbench.evaluate(Frozen(), data=tmp_path / "release", limit=1, cache=cache)
    run = result.record["run"]
    assert (run["data"], run["suite"], run["suite_version"], run["limit"]) == (manifest["release"], "part", 3, 1)
    first = manifest["tasks"][0]["episodes"][0]
    assert [(r["seed"], r["episode_hash"]) for r in result.rows] == [(first["seed"], first["episode_hash"])]
    with pytest.raises(WmbenchError, match="data evaluates a release as it is: suite, split cannot be combined"):
        wmbench.evaluate(Frozen(), "smoke", split="dev", data=tmp_path / "release", cache=cache)


def test_a_function_with_actions_gets_them(cache):
    seen = []

    def pusher(frames, horizon, actions):
        seen.append((tuple(frames.shape), tuple(actions.shape)))
        return frames[:, -1:].expand(-1, horizon, -1, -1, -1)

    result = wmbench.evaluate(
        pusher, tasks="push_single", limit=1, resolution=32, cache=cache, requirements=Requirements(uses_actions=True)
    )
    task = wmbench.get_task("push_single")
    assert seen[0] == ((1, task.context, 3, 32, 32), (1, task.context + task.horizon - 1, 2))
    assert result.record["adapter"]["name"] == "pusher"
    assert result.record["adapter"]["requirements"]["uses_actions"] is True


def test_bad_models_are_refused_with_one_line():
    with pytest.raises(WmbenchError, match=r"cannot be called as model\(frames, horizon\)"):
        as_adapter(lambda frames: frames)
    with pytest.raises(WmbenchError, match=r"model\(frames, horizon, actions\)"):
        as_adapter(Frozen(), Requirements(uses_actions=True))
    with pytest.raises(WmbenchError, match="pass an instance"):
        as_adapter(Frozen)
    with pytest.raises(WmbenchError, match="expected a wmbench.Adapter"):
        as_adapter(42)
    with pytest.raises(WmbenchError, match="construct the object"):
        wmbench.evaluate(Frozen(), adapter_config={"x": 1}, **SMALL)


def test_a_wrong_output_names_the_wrapped_model(cache):
    with pytest.raises(AdapterError, match="adapter 'short', task 'drop_single'.*predicted 1 frames"):
        wmbench.evaluate(lambda frames, horizon: frames[:, -1:], name="short", cache=cache, **SMALL)


class Latent(Adapter):
    """Predicts no frames; its surprise is the frame-to-frame change."""

    requirements = Requirements(predicts_frames=False)

    def predict(self, batch: ContextBatch) -> torch.Tensor:
        raise AssertionError("a model that predicts no frames is never asked for frames")

    def score_surprise(self, clips: torch.Tensor, fps: float, context: int) -> torch.Tensor:
        change = (clips[:, 1:] - clips[:, :-1]).abs().flatten(2).mean(2)
        surprise = torch.cat([torch.zeros_like(change[:, :1]), change], dim=1)
        surprise[:, :context] = 0
        return surprise


def test_a_model_without_frames_is_scored_on_surprise_only(cache):
    result = wmbench.evaluate(Latent(), tasks=["voe_permanence"], limit=2, cache=cache)
    rows = result.rows
    assert [r["status"] for r in rows] == ["ok", "ok"]
    assert all(r["latency_ms"] is None for r in rows)
    values = [r["metrics"]["voe_pairwise_accuracy"] for r in rows]
    assert all(v in (0.0, 0.5, 1.0) for v in values)
    assert set(result.indices) == {"surprise"}
    assert result.record["adapter"]["requirements"]["predicts_frames"] is False
    speed = result.record["speed"]["voe_permanence"]
    assert not speed["measured"] and speed["reason"].startswith("the model predicts no frames")
    assert speed["harness_ms_per_episode"]["model_ms"] is None


def test_a_model_without_frames_is_refused_where_frames_are_scored(cache):
    with pytest.raises(AdapterError, match="adapter 'Latent', task 'drop_single': predicts no frames.*mse"):
        wmbench.evaluate(Latent(), cache=cache, **SMALL)
