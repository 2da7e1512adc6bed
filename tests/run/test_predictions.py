"""Kept predictions (``run --save-predictions``), their pictures (``pictures --result``)
and W&B offline logging, on the runs of a one-task suite."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from wmbench.run.saved import saved_predictions
from wmbench.tasks import get_task, split_seeds

from ..conftest import HAS_WANDB
from ..results.forgery import forged


def test_kept_predictions_are_the_model_output_in_8_bits(suite_runs, cache):
    task = get_task("drop_single")
    first = cache.get(task, "dev", split_seeds(task, "dev", 1)[0])
    (frozen,), (oracle,) = saved_predictions(suite_runs / "copy_last"), saved_predictions(suite_runs / "oracle")
    assert frozen.seed == oracle.seed == first.seed and frozen.frames.shape == first.future_frames.shape
    np.testing.assert_array_equal(frozen.frames, np.repeat(first.context_frames[-1:], task.horizon, 0))
    np.testing.assert_array_equal(oracle.frames, first.future_frames)


def test_pictures_of_a_result(suite_runs, cli, tmp_path):
    code, out, err = cli(
        "pictures", "--result", suite_runs / "copy_last", "--out-dir", tmp_path, "--animation", "mp4", "--tracks"
    )
    assert code == 0, err
    strip = np.asarray(Image.open(next(tmp_path.glob("drop_single/*.png"))))
    assert strip.shape[0] > 3 * 128 and (tmp_path / "drop_single" / "curves.svg").read_text().startswith("<?xml")
    assert next(tmp_path.glob("drop_single/*.mp4")).stat().st_size > 1000
    code, _, err = cli("pictures", "--result", suite_runs / "oracle" / "episodes.jsonl")
    assert code == 2 and err.startswith("wmbench: error:")


def test_no_pictures_against_another_definition_of_the_task(suite_runs, cli, tmp_path):
    def other_definition(record, rows):
        record["tasks"][0]["definition_sha256"] = "0" * 64

    result = forged(tmp_path, other_definition, suite_runs / "copy_last")
    code, _, err = cli("pictures", "--result", result, "--out-dir", tmp_path / "pictures")
    assert code == 2 and "its definition differs from the local task file" in err
    assert not list((tmp_path / "pictures").rglob("*.png"))


@pytest.mark.skipif(not HAS_WANDB, reason="wandb is not installed")
def test_wandb_offline_run_logs_metrics_the_summary_table_and_strips(suite_runs):
    (offline,) = (suite_runs / "copy_last" / "logs" / "wandb").glob("offline-run-*")
    media = offline / "files" / "media"
    (table,) = (media / "table").glob("summary_*.table.json")
    data = json.loads(table.read_text())
    assert data["columns"][:3] == ["task", "episodes", "failed"] and data["data"][0][:3] == ["drop_single", 1, 0]
    assert list((media / "images" / "predictions").glob("drop_single_*.png"))
    assert list(offline.glob("run-*.wandb"))
