"""--precision is the model's: the same predictions get the same scores whatever it
says, and a metric that comes out infinite is recorded as missing with the reason."""

from __future__ import annotations

import json

import pytest
import torch

from wmbench.metrics.base import EpisodeMetric, Truth
from wmbench.metrics.scoring import score_episodes
from wmbench.tasks import get_task

from ..conftest import REPO

TINY = f"{REPO / 'examples' / 'tiny_convnet.py'}:TinyConvNet"
ACCELERATORS = ["cpu", pytest.param("gpu", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no GPU"))]


def _scores(cli, out, adapter, accelerator, precision):
    code, _, err = cli(
        "run",
        "--adapter",
        adapter,
        "--tasks",
        "drop_single",
        "--limit",
        "2",
        "--no-progress",
        "--logger",
        "none",
        "--accelerator",
        accelerator,
        "--precision",
        precision,
        "--out",
        out,
    )
    assert code == 0, err
    rows = [json.loads(line) for line in (out / "episodes.jsonl").read_text().splitlines()]
    assert all(r["status"] == "ok" for r in rows)
    return [(r["metrics"], r["references"]) for r in rows]


@pytest.mark.parametrize("accelerator", ACCELERATORS)
def test_bf16_mixed_scores_the_same_predictions_as_float32(cli, tmp_path, accelerator):
    # TinyConvNet runs its convolutions under autocast; untrained, its residual is 0, so it
    # predicts the last frame exactly in either precision: the scores must be identical.
    full = _scores(cli, tmp_path / "32", TINY, accelerator, "32-true")
    mixed = _scores(cli, tmp_path / "bf16", TINY, accelerator, "bf16-mixed")
    assert mixed == full
    assert any(v is not None for metrics, _ in full for v in metrics.values())


class Infinite(EpisodeMetric):
    name, unit, higher_is_better = "infinite_for_test", "unitless", True

    def score(self, pred, truth):
        return torch.full((pred.shape[0],), float("inf"), dtype=torch.float64)


def test_an_infinite_value_is_missing_with_its_reason(cache):
    task = get_task("drop_single")
    episode = cache.get(task, "dev", 0)
    frames = torch.from_numpy(episode.truth.frames).permute(0, 3, 1, 2).float().div(255)[None]
    context, future = frames[:, : task.context], frames[:, task.context :]
    truth = Truth(frames=future, context=context, episodes=[episode])
    metric = Infinite()
    [row] = score_episodes({"infinite_for_test": metric}, future.clone(), truth)
    assert row["metrics"] == {"infinite_for_test": None}
    assert row["missing"]["infinite_for_test"] == "the metric came out inf (non-finite values are recorded as missing)"
    assert set(row["missing"]) == {"infinite_for_test", "frozen/infinite_for_test", "variance/infinite_for_test"}
    json.dumps(row, allow_nan=False)  # what the row writer does
    assert metric.missing == 1 and metric.count == 0 and torch.isnan(metric.compute())
