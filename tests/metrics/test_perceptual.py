"""LPIPS: the plumbing with a random backbone, and 'missing with the reason' without weights."""

from __future__ import annotations

import urllib.error

import pytest
import torch
import yaml

from wmbench.metrics import build_metrics
from wmbench.metrics.base import MetricUnavailable, Truth
from wmbench.metrics.perceptual import LPIPS

from ..conftest import REPO, run_and_record


@pytest.fixture(autouse=True)
def fresh_attempt(monkeypatch):
    """Each test tries to load the weights anew (a process remembers a failure)."""
    from wmbench.metrics import perceptual

    monkeypatch.setattr(perceptual, "_unavailable", {})


@pytest.fixture(scope="module")
def random_lpips() -> LPIPS:
    torch.manual_seed(0)
    return LPIPS(pretrained=False)


def _truth(frames: torch.Tensor) -> Truth:
    return Truth(frames=frames, context=frames[:, :1], episodes=[])


@pytest.fixture
def offline(tmp_path, monkeypatch):
    """An empty torch cache and no network."""
    def refuse(*args, **kwargs):
        raise urllib.error.URLError("no network (test)")

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr(torch.hub, "urlopen", refuse)


def test_identical_frames_score_zero_and_distortion_increases_it(random_lpips):
    gen = torch.Generator().manual_seed(1)
    truth = torch.rand(2, 3, 3, 64, 64, generator=gen)
    noise = torch.randn(truth.shape, generator=gen)
    scores = [random_lpips.score((truth + level * noise).clamp(0, 1), _truth(truth)) for level in (0.0, 0.05, 0.2, 0.6)]
    assert scores[0].tolist() == [0.0, 0.0]
    for lower, higher in zip(scores, scores[1:]):
        assert (higher > lower).all()


def test_inputs_are_scaled_to_minus_one_one(random_lpips):
    gen = torch.Generator().manual_seed(2)
    pred, truth = torch.rand(1, 2, 3, 64, 64, generator=gen), torch.rand(1, 2, 3, 64, 64, generator=gen)
    direct = random_lpips.net(pred[0] * 2 - 1, truth[0] * 2 - 1).flatten().double().mean()
    assert random_lpips.score(pred, _truth(truth)).item() == pytest.approx(direct.item(), rel=1e-6)


def test_without_weights_lpips_is_unavailable_with_the_reason(offline):
    with pytest.raises(MetricUnavailable, match=r"AlexNet weights in .*, which could not be loaded \(.*no network.*\); "
                       r"to fix, download https://download\.pytorch\.org/models/alexnet-owt-7be5be79\.pth into "):
        LPIPS()
    available, missing = build_metrics(("mse", "lpips"))
    assert list(available) == ["mse"] and "AlexNet" in missing["lpips"]


def test_a_corrupt_cached_backbone_is_unavailable(tmp_path, monkeypatch):
    checkpoints = tmp_path / "torch" / "hub" / "checkpoints"
    checkpoints.mkdir(parents=True)
    (checkpoints / "alexnet-owt-7be5be79.pth").write_bytes(b"not a checkpoint")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    with pytest.raises(MetricUnavailable, match="could not be loaded"):
        LPIPS()


def test_a_failure_is_remembered_for_the_process(offline, monkeypatch):
    import lpips

    with pytest.raises(MetricUnavailable):
        LPIPS()
    monkeypatch.setattr(lpips, "LPIPS", None)  # a second attempt would now fail differently
    with pytest.raises(MetricUnavailable, match="no network"):
        LPIPS()


def test_run_reports_lpips_missing_in_result_json(offline, tmp_path, cache_dir):
    from wmbench.run import Execution, RunSpec
    from wmbench.worlds import EpisodeCache

    task = yaml.safe_load((REPO / "tasks" / "dropping_objects" / "drop_single.yaml").read_text())
    task.update(name="drop_single_lpips", metrics=["mse", "lpips"], horizon=4)
    path = tmp_path / "drop_single_lpips.yaml"
    path.write_text(yaml.safe_dump(task))
    spec = RunSpec(adapter="copy_last", tasks=(str(path),), limit=2)
    result = run_and_record(spec, tmp_path / "out", EpisodeCache(cache_dir), Execution(progress=False))
    entry = result["tasks"][0]
    assert "AlexNet weights" in entry["missing_metrics"]["lpips"]
    metrics = result["aggregates"]["drop_single_lpips"]["metrics"]
    assert metrics["lpips"]["mean"] is None and metrics["lpips"]["count"] == 0
    assert metrics["mse"]["count"] == 2 and metrics["mse"]["mean"] > 0
