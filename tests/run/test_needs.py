"""A metric that needs a new kind of model output runs without a change to the run: the
worked example of docs/extending.md (a confidence need and a calibration metric),
registered here, scored through ``wmbench run``."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import yaml

from wmbench import Adapter, ContextBatch, get_task
from wmbench.frames import unit_float
from wmbench.metrics import METRICS, NEEDS, EpisodeMetric, Need, Truth
from wmbench.metrics.control import spearman
from wmbench.metrics.needs import Model
from wmbench.metrics.pixel import frame_errors
from wmbench.results import load_result
from wmbench.worlds import Episode


class Confidence(Need):
    name = "confidence"

    def wanted(self, episode: Episode) -> bool:
        return True

    def gather(self, model: Model, episode: Episode, context: torch.Tensor) -> torch.Tensor | None:
        length = episode.context + episode.horizon
        clip = unit_float(episode.truth.frames[None, :length], context.device)
        return model.call("score_confidence", clip, (episode.fps, episode.context), (length,), episode.key)


class ConfidenceCalibration(EpisodeMetric):
    name, unit, higher_is_better = "confidence_calibration", "unitless", True
    fixed_references = (0.0, 1.0)  # no calibration / perfect
    needs = frozenset({"confidence"})

    def score(self, pred: torch.Tensor, truth: Truth) -> torch.Tensor:
        errors = frame_errors(pred, truth.frames)
        values = []
        for i in range(len(truth.episodes)):
            confidence = truth.output("confidence", i)
            if confidence is None:
                values.append(math.nan)
                continue
            values.append(spearman(confidence[0, -pred.shape[1] :].numpy(), -errors[i].numpy()))
        return torch.tensor(values, dtype=torch.float64)


class KnowsItsErrors(Adapter):
    """A frozen world that is surer of the frames nearer the context."""

    calls: list[tuple[int, ...]] = []

    def predict(self, batch: ContextBatch) -> torch.Tensor:
        return batch.frames[:, -1:].expand(-1, batch.horizon, -1, -1, -1).clone()

    def score_confidence(self, clips: torch.Tensor, fps: float, context: int) -> torch.Tensor:
        KnowsItsErrors.calls.append(tuple(clips.shape))
        return -torch.arange(clips.shape[1], dtype=torch.float64).expand(clips.shape[0], -1)


@pytest.fixture
def registered(monkeypatch):
    monkeypatch.setitem(NEEDS._classes, "confidence", Confidence)
    monkeypatch.setitem(METRICS._classes, "confidence_calibration", ConfidenceCalibration)


def test_a_new_need_is_gathered_and_scored_by_the_run(registered, cli, tmp_path, cache):
    task = yaml.safe_load(get_task("drop_single").source.read_text())
    task.update(name="drop_confidence", metrics=["mse", "confidence_calibration"], horizon=8, ensemble=2)
    (tmp_path / "drop_confidence.yaml").write_text(yaml.safe_dump(task))
    (tmp_path / "knows.py").write_text(
        "from tests.run.test_needs import KnowsItsErrors\n\nclass Knows(KnowsItsErrors):\n    pass\n"
    )
    KnowsItsErrors.calls.clear()
    code, _, err = cli(
        "run",
        "--adapter",
        f"{tmp_path / 'knows.py'}:Knows",
        "--tasks",
        tmp_path / "drop_confidence.yaml",
        "--limit",
        2,
        "--resolution",
        32,
        "--out",
        tmp_path / "out",
        "--no-progress",
        "--logger",
        "none",
    )
    assert code == 0, err
    assert KnowsItsErrors.calls == [(1, task["context"] + 8, 3, 32, 32)] * 2  # one clip per episode

    result = load_result(tmp_path / "out")
    scored = get_task(tmp_path / "drop_confidence.yaml").with_overrides(resolution=32)
    for row in result.rows:
        episode = cache.get(scored, "dev", row["seed"])
        future, context = unit_float(episode.future_frames)[None], unit_float(episode.context_frames)[None]
        errors = frame_errors(context[:, -1:].expand_as(future), future)[0].numpy()
        expected = spearman(-np.arange(8, dtype=float), -errors)
        assert row["metrics"]["confidence_calibration"] == pytest.approx(expected, abs=1e-12)
        assert row["references"]["variance"]["confidence_calibration"] == 1.0
    assert result.record["tasks"][0]["metric_units"]["confidence_calibration"] == "unitless"


def test_a_metric_that_needs_the_model_declares_its_scale():
    with pytest.raises(TypeError, match="must declare fixed_references"):
        type("Unscaled", (EpisodeMetric,), {"name": "unscaled", "needs": frozenset({"confidence"})})
