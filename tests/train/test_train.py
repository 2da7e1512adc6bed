"""``wmbench train``: Lightning fits the learned baselines, writes checkpoints that
``wmbench run`` evaluates, and their model cards."""

from __future__ import annotations

import json

import numpy as np
import pytest
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader

from wmbench.adapters import resolve
from wmbench.results import load_result
from wmbench.train.module import VideoPredictionModule

from ..conftest import run_subprocess


def _moving_squares(count: int = 8, length: int = 10, size: int = 32) -> torch.Tensor:
    """``uint8 (count, length, 3, size, size)``: a square per clip crossing a flat background
    at a clip-specific constant velocity (the networks work at any multiple of 4 pixels)."""
    rng = np.random.default_rng(0)
    clips = np.full((count, length, size, size, 3), 230, np.uint8)
    for c in range(count):
        x, y = rng.uniform(4, size - 12, 2)
        vx, vy = rng.uniform(-1.5, 1.5, 2)
        for t in range(length):
            u, v = int(round(x + vx * t)), int(round(y + vy * t))
            clips[c, t, max(v, 0) : v + 6, max(u, 0) : u + 6] = (220, 30, 60)
    return torch.from_numpy(clips).permute(0, 1, 4, 2, 3).contiguous()


@pytest.fixture
def one_thread():
    """One intra-op thread: on a busy shared CPU, two spinning threads make a step 10-50x slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("model", ["convlstm", "predrnn", "simvp"])
def test_a_few_training_steps_lower_the_loss(model, one_thread):
    pl.seed_everything(0, verbose=False)
    clips = _moving_squares()
    module = VideoPredictionModule(
        model, resolve(model).presets["smoke"], action_dim=0, context=4, horizon=6, lr=1e-2, warmup=1, sampling_steps=0
    )
    batch = {"frames": clips}

    def loss() -> float:
        with torch.no_grad():
            context, future, _ = module._inputs(batch)
            return float(((module.net(context, 6) - future) ** 2).mean())

    before = loss()
    trainer = pl.Trainer(
        accelerator="cpu",
        max_steps=40,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(module, DataLoader([{"frames": c} for c in clips], batch_size=8))
    assert loss() < 0.9 * before


def _train(cli, out, *extra):
    return cli(
        "train",
        "--model",
        "convlstm",
        "--tasks",
        "drop_single",
        "--limit",
        1,
        "--batch-size",
        2,
        "--windows",
        2,
        "--horizon",
        4,
        "--out",
        out,
        "--no-progress",
        "--logger",
        "none",
        "--workers",
        1,
        *extra,
    )


def test_train_writes_a_checkpoint_and_card_that_run_evaluates_and_resumes(cli, tmp_path):
    out = tmp_path / "train"
    code, stdout, err = _train(cli, out, "--max-steps", 2)
    assert code == 0, err
    report = json.loads(stdout)
    assert report["steps"] == 2 and report["stopped"] == "max_steps"
    assert (out / "model.pt").is_file() and (out / "checkpoints" / "best.ckpt").is_file()
    saved = torch.load(out / "model.pt", weights_only=True)
    assert saved["model"] == "convlstm" and list(saved["training"]["train_episodes"].values()) == [1]
    card = (out / "model.md").read_text()
    assert "# convlstm: model card" in card and "2 steps" in card and "Licence" in card

    code, _, err = _train(cli, out, "--max-steps", 3)  # the same run, longer: resumes from last.ckpt
    assert code == 0, err
    assert torch.load(out / "model.pt", weights_only=True)["training"]["steps"] == 3

    result_dir = tmp_path / "run"
    config = json.dumps({"checkpoint": str(out / "model.pt")})
    code, _, err = cli(
        "run",
        "--adapter",
        "convlstm",
        "--adapter-config",
        config,
        "--tasks",
        "drop_single",
        "--limit",
        1,
        "--out",
        result_dir,
        "--no-progress",
        "--logger",
        "none",
    )
    assert code == 0, err
    result = load_result(result_dir)
    assert result.adapter == "convlstm" and result.rows[0]["status"] == "ok"

    code, stdout, err = cli("card", out / "model.pt", "--results", result_dir)
    assert code == 0, err
    physics = result.record["headline"]["areas"]["physics"]["score"]
    card = (out / "model.md").read_text()
    assert f"| area: physics | {physics:.1f}" in card
    assert "drop_single, dev split (1 episodes, the first 1 of each task" in card  # a run of tasks, not a suite


def test_train_reads_its_episodes_from_releases(cli, tmp_path):
    for split in ("train", "dev"):
        code, _, err = cli(
            "data",
            "release",
            "--tasks",
            "drop_single",
            "--split",
            split,
            "--limit",
            1,
            "--out",
            tmp_path / split,
            "--workers",
            1,
            "--no-progress",
        )
        assert code == 0, err
    empty = tmp_path / "empty-cache"  # nothing may be generated
    code, stdout, err = cli(
        "train",
        "--model",
        "convlstm",
        "--data",
        tmp_path / "train",
        "--val-data",
        tmp_path / "dev",
        "--batch-size",
        2,
        "--windows",
        2,
        "--horizon",
        4,
        "--max-steps",
        1,
        "--out",
        tmp_path / "t",
        "--no-progress",
        "--logger",
        "none",
        "--cache",
        empty,
    )
    assert code == 0, err
    record = torch.load(tmp_path / "t" / "model.pt", weights_only=True)["training"]
    assert record["data"].startswith("drop_single-train-") and record["val_data"].startswith("drop_single-dev-")
    assert not any(empty.rglob("*.episode.zst"))
    code, _, err = cli(
        "train", "--model", "convlstm", "--data", tmp_path / "dev", "--out", tmp_path / "u", "--no-progress"
    )
    assert code == 2 and "holds the dev split; train episodes were asked for" in err


def test_a_time_budget_stops_training_and_is_recorded(cli, tmp_path):
    code, stdout, err = _train(cli, tmp_path / "t", "--max-time", "00:00:00:02", "--windows", 64)
    assert code == 0, err
    report = json.loads(stdout)
    assert report["stopped"] == "max_time" and 2.0 <= report["seconds"] < 60


def test_a_different_run_in_the_same_directory_is_refused(cli, tmp_path):
    out = tmp_path / "train"
    assert _train(cli, out, "--max-steps", 1)[0] == 0
    code, _, err = _train(cli, out, "--max-steps", 1, "--lr", "0.01")
    assert code == 2 and "holds another training run (differs in: lr)" in err


@pytest.mark.parametrize(
    "args, message",
    [
        (["--model", "copy_last"], "is not a trainable video predictor"),
        (["--model", "convlstm_action"], "trains on the action_conditioned tasks, and none of drop_single is one"),
        (["--model", "convlstm", "--preset", "huge"], "unknown preset 'huge'"),
    ],
)
def test_what_cannot_be_trained_is_a_one_line_error(cli, tmp_path, args, message):
    code, _, err = cli("train", *args, "--tasks", "drop_single", "--out", tmp_path / "t", "--no-progress")
    assert code == 2 and message in err and err.count("\n") == 1


def test_an_action_conditioned_variant_trains_on_the_control_tasks(cli, tmp_path):
    out = tmp_path / "train"
    code, _, err = cli(
        "train",
        "--model",
        "simvp_action",
        "--tasks",
        "drop_single,push_single",
        "--limit",
        1,
        "--batch-size",
        2,
        "--windows",
        1,
        "--out",
        out,
        "--max-steps",
        1,
        "--no-progress",
        "--logger",
        "none",
        "--workers",
        1,
    )
    assert code == 0, err
    saved = torch.load(out / "model.pt", weights_only=True)
    assert saved["action_dim"] == 2
    assert [t.split("@")[0] for t in saved["training"]["tasks"]] == ["push_single"]  # drop_single has no actions


@pytest.mark.slow
def test_two_cpu_processes_train_one_step_with_ddp(tmp_path, cache_dir):
    proc = run_subprocess(
        "train",
        "--model",
        "simvp",
        "--tasks",
        "drop_single",
        "--limit",
        2,
        "--batch-size",
        1,
        "--windows",
        1,
        "--horizon",
        4,
        "--out",
        tmp_path / "ddp",
        "--max-steps",
        1,
        "--accelerator",
        "cpu",
        "--devices",
        2,
        "--strategy",
        "ddp",
        "--no-progress",
        "--logger",
        "none",
        "--workers",
        1,
        cache_dir=cache_dir,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    record = torch.load(tmp_path / "ddp" / "model.pt", weights_only=True)["training"]
    assert record["devices"] == 2 and record["steps"] == 1 and record["strategy"] == "DDPStrategy"


def test_the_data_module_generates_what_the_cache_lacks_and_reads_each_episode_once(tmp_path, monkeypatch):
    from wmbench.tasks import get_task
    from wmbench.train.data import Selection, WindowDataModule
    from wmbench.worlds.cache import EpisodeCache
    from wmbench.worlds.episode import Episode

    selection = Selection(
        tasks=(get_task("drop_single"),), context=2, horizon=4, resolution=32, train_limit=2, val_limit=1
    )
    data = WindowDataModule(selection, EpisodeCache(tmp_path), progress=False)
    data.prepare_data()
    assert len(list(tmp_path.rglob("*.episode.zst"))) == 3
    loads = []
    load = Episode.load
    monkeypatch.setattr(Episode, "load", classmethod(lambda cls, path: loads.append(path) or load(path)))
    data.prepare_data()  # everything is cached: nothing read, nothing generated
    assert loads == []
    data.setup()
    assert len(loads) == 3 and len(set(loads)) == 3
    assert len(data.train) == 2 * selection.windows and len(data.val) == 1
