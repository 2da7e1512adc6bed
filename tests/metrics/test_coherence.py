"""Temporal coherence: zero on the truth, worse on flickering, jittered or forgetful predictions."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from wmbench.errors import WmbenchError
from wmbench.metrics import METRICS

from ..synthetic import BLUE, CONTEXT, FPS, HORIZON, RED, SIZE, episode, squares, truth_of

T = CONTEXT + HORIZON


def moving_scene(seed: int):
    """A red square moving right and a blue one falling over a textured background."""
    t = np.arange(T, dtype=float)
    return episode(squares({RED: np.stack([8 + 2 * t, 10 + 0 * t], 1),
                            BLUE: np.stack([40 + 0 * t, 4 + 0.15 * t * t], 1)}, seed=seed), seed=seed,
                   colours=(RED, BLUE))


@pytest.fixture(scope="module")
def scene():
    episodes = [moving_scene(seed) for seed in range(2)]
    return episodes, truth_of(episodes)


def flickering(frames: torch.Tensor) -> torch.Tensor:
    """Brightness alternating by +-0.06 from frame to frame."""
    sign = torch.tensor([(-1) ** k for k in range(frames.shape[1])], dtype=frames.dtype).view(1, -1, 1, 1, 1)
    return (frames + 0.06 * sign).clamp(0, 1)


def jittered(frames: torch.Tensor) -> torch.Tensor:
    """Each frame shifted by a pseudo-random 1-2 pixels (camera shake)."""
    shifts = [(1, -2), (-2, 1), (2, 2), (-1, -1)]
    return torch.stack([torch.roll(frames[:, k], shifts[k % 4], dims=(-2, -1)) for k in range(frames.shape[1])], 1)


def score(name: str, pred: torch.Tensor, truth) -> torch.Tensor:
    return METRICS[name]().score(pred, truth)


@pytest.mark.parametrize("name", ["flicker", "warp_error"])
def test_truth_scores_zero_and_distortions_score_worse(scene, name):
    _, truth = scene
    exact = score(name, truth.frames, truth)
    assert exact.tolist() == [0.0, 0.0]
    assert (score(name, flickering(truth.frames), truth) > 0.02).all()
    # a shaken textured background changes where the world is static; the flow explains
    # most of the shake, so the warping error rises less
    assert (score(name, jittered(truth.frames), truth) > (0.02 if name == "flicker" else 0.001)).all()


def test_coherent_horizon_is_the_horizon_on_the_truth_and_shorter_when_distorted(scene):
    _, truth = scene
    assert score("coherent_horizon", truth.frames, truth).tolist() == [HORIZON, HORIZON]
    for distorted in (flickering(truth.frames), jittered(truth.frames)):
        assert score("coherent_horizon", distorted, truth).tolist() == [0, 0]


def test_flicker_measures_the_change_on_static_pixels(scene):
    _, truth = scene
    # alternating +-0.06 moves static pixels by 0.12 per step, except where clamped
    value = score("flicker", flickering(truth.frames), truth)
    assert value.tolist() == pytest.approx([0.12, 0.12], abs=0.01)
    # a frozen world does not flicker on the static background: only near the squares' old places
    frozen = truth.context[:, -1:].expand_as(truth.frames)
    assert (score("flicker", frozen, truth) == 0).all()


def test_flicker_is_missing_when_nothing_is_static():
    noise = np.random.default_rng(1).integers(0, 256, (T, SIZE, SIZE, 3), dtype=np.uint8)
    truth = truth_of([episode(noise)])
    assert math.isnan(float(score("flicker", truth.frames, truth)))


def test_warp_error_follows_motion_not_pixels(scene):
    """A sequence whose motion the flow explains (the truth, shifted as a whole) keeps a
    small warping error; flicker, which no motion explains, raises it."""
    _, truth = scene
    shifted = torch.roll(truth.frames, 3, dims=-1)
    assert (score("warp_error", shifted, truth) < 0.5 * score("warp_error", flickering(truth.frames), truth)).all()


def degraded_after(frames: torch.Tensor, step: int) -> torch.Tensor:
    noise = torch.randn(frames.shape, generator=torch.Generator().manual_seed(0)) * 0.2
    pred = frames.clone()
    pred[:, step:] = (frames[:, step:] + noise[:, step:]).clamp(0, 1)
    return pred


@pytest.mark.parametrize("step", [0, 3, 7, HORIZON])
def test_coherent_horizon_is_the_step_where_quality_drops(scene, step):
    _, truth = scene
    pred = degraded_after(truth.frames, step)
    assert score("coherent_horizon", pred, truth).tolist() == [step, step]
    assert score("coherent_horizon_s", pred, truth).tolist() == pytest.approx([step / FPS] * 2)


def test_mean_curve_is_pooled_over_updates(scene):
    _, truth = scene
    metric = METRICS["coherent_horizon"]()
    for step in (2, 6):
        metric.update(degraded_after(truth.frames, step), truth)
    curve = metric.mean_curve()
    assert curve.shape == (HORIZON,)
    assert curve[:2].tolist() == [100.0, 100.0] and (curve[6:] < 30).all()
    assert 30 < float(curve[3]) < 100  # half the episodes are still perfect there
    assert float(metric.compute()) == 4.0


def revisit_scene(leave, back, pan=(0, 0, 0, 0, 6, 12, 18, 24, 18, 12, 6, 0, 0, 0, 0, 0)):
    """The camera pans right over a wider background and comes back: by default the view
    at frame 3 is seen again from frame 11; a red square moves meanwhile."""
    pan = np.array(pan)
    t = np.arange(T, dtype=float)
    frames = squares({RED: np.stack([4 + 2 * t, 40 + 0 * t], 1)}, pan=pan, seed=3)
    return episode(frames, meta={"revisit": {"leave_frame": leave, "return_frame": back}})


def test_revisit_error():
    ep = revisit_scene(3, 11)
    truth = truth_of([ep])
    assert score("revisit_error", truth.frames, truth).tolist() == [0.0]
    forgetful = truth.frames.clone()
    forgetful[:, 11 - CONTEXT :] = torch.flip(forgetful[:, 11 - CONTEXT :], dims=[-2])  # a different world
    assert float(score("revisit_error", forgetful, truth)) > 0.05
    # the errors before the return do not count
    early = truth.frames.clone()
    early[:, : 11 - CONTEXT] = torch.rand_like(early[:, : 11 - CONTEXT])
    assert score("revisit_error", early, truth).tolist() == [0.0]


def test_revisit_left_during_the_horizon_is_checked_against_the_own_prediction():
    pan = (0, 0, 0, 0, 0, 0, 8, 16, 24, 16, 8, 0, 0, 0, 0, 0)  # the view of frame 5 again from 11
    truth = truth_of([revisit_scene(5, 11, pan)])
    tinted = (truth.frames * 0.8).clamp(0, 1)  # wrong colours, but the same world when the camera is back
    assert score("revisit_error", tinted, truth).tolist() == [0.0]
    changed = tinted.clone()
    changed[:, 11 - CONTEXT] = truth.frames[:, 11 - CONTEXT]
    assert float(score("revisit_error", changed, truth)) > 0.05


def test_revisit_error_is_missing_without_a_predicted_return(scene):
    _, truth = scene
    assert torch.isnan(score("revisit_error", truth.frames, truth)).all()
    truth = truth_of([revisit_scene(0, 2)])  # returns within the context
    assert math.isnan(float(score("revisit_error", truth.frames, truth)))


def test_malformed_revisits_name_the_episode():
    truth = truth_of([revisit_scene(5, 2)])
    with pytest.raises(WmbenchError, match=r"episode synthetic@1/dev/0: meta 'revisit' must hold"):
        score("revisit_error", truth.frames, truth)


COHERENCE = ["flicker", "warp_error", "coherent_horizon", "coherent_horizon_s", "revisit_error"]


@pytest.mark.parametrize("adapter", ["oracle", "copy_last"])
def test_run_reports_coherence_metrics(cli, tmp_path, adapter):
    """Through a whole run: a task file listing the coherence metrics, scored and aggregated."""
    import yaml

    from wmbench.results import load_result

    from ..conftest import REPO

    data = yaml.safe_load((REPO / "tasks" / "dropping_objects" / "drop_single.yaml").read_text())
    path = tmp_path / "drop_single.yaml"
    path.write_text(yaml.safe_dump(dict(data, name="drop_single_coherence", metrics=COHERENCE)))
    code, _, _ = cli("run", "--adapter", adapter, "--tasks", path, "--limit", "2", "--out", tmp_path / "out",
                     "--no-progress")
    assert code == 0
    metrics = load_result(tmp_path / "out").record["aggregates"]["drop_single_coherence"]["metrics"]
    assert metrics["revisit_error"] == {"mean": None, "std": None, "count": 0, "missing": 2}
    assert metrics["flicker"]["mean"] == 0.0  # neither the truth nor a frozen world flickers
    if adapter == "oracle":
        assert metrics["warp_error"]["mean"] == 0.0
        assert metrics["coherent_horizon"]["mean"] == 16 and metrics["coherent_horizon_s"]["mean"] == 16 / 30
    else:  # frozen: as stable as can be, so it scores the truth's own warping error; incoherent at once
        assert metrics["warp_error"]["mean"] > 0.001
        assert metrics["coherent_horizon"]["mean"] == 0 and metrics["coherent_horizon_s"]["mean"] == 0


def test_dilate_matches_max_pooling():
    from wmbench.metrics.coherence import dilate

    mask = torch.rand(3, 1, 40, 50, generator=torch.Generator().manual_seed(0)) > 0.98
    pooled = torch.nn.functional.max_pool2d(mask.float(), 5, stride=1, padding=2) > 0
    assert torch.equal(dilate(mask, 2), pooled) and dilate(mask, 2).sum() > 5 * mask.sum()
