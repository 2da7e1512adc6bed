"""Temporal coherence: the truth's dynamics, nothing else on the truth; worse on flickering,
drifting, jittered or forgetful predictions; deaf to constant appearance changes and faint noise."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from wmbench.errors import WmbenchError
from wmbench.frames import unit_float
from wmbench.metrics import METRICS

from ..synthetic import BLUE, CONTEXT, HORIZON, RED, SIZE, episode, squares, truth_of

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


def brighter(frames: torch.Tensor, gain: float = 1.1) -> torch.Tensor:
    return (frames * gain).clamp(0, 1)


def noisy(frames: torch.Tensor, sigma: float = 0.01) -> torch.Tensor:
    noise = torch.randn(frames.shape, generator=torch.Generator().manual_seed(0)) * sigma
    return (frames + noise).clamp(0, 1)


def drifting(frames: torch.Tensor) -> torch.Tensor:
    """A red cast growing to +0.15 over the horizon."""
    ramp = torch.linspace(0, 0.15, frames.shape[1]).view(1, -1, 1, 1)
    out = frames.clone()
    out[:, :, 0] = (out[:, :, 0] + ramp).clamp(0, 1)
    return out


def frozen(truth) -> torch.Tensor:
    return truth.context[:, -1:].expand_as(truth.frames)


LAWS = ["flicker", "drift", "warp_error"]


@pytest.mark.parametrize("name", LAWS)
def test_truth_scores_zero_and_temporal_distortions_score_worse(scene, name):
    _, truth = scene
    assert score(name, truth.frames, truth).tolist() == [0.0, 0.0]
    bad = {"flicker": flickering, "drift": drifting, "warp_error": flickering}[name](truth.frames)
    assert (score(name, bad, truth) > 0.01).all()
    if name == "flicker":  # a shaken textured background is a clear violation where the world is static
        assert (score(name, jittered(truth.frames), truth) > METRICS[name].violation_anchor).all()


@pytest.mark.parametrize("name", LAWS)
@pytest.mark.parametrize("change", [brighter, noisy], ids=["brighter", "noise"])
def test_constant_appearance_changes_and_faint_noise_are_not_incoherent(scene, name, change):
    _, truth = scene
    assert (score(name, change(truth.frames), truth) < 1e-3).all()


def test_dynamics_is_the_share_of_the_true_change_reproduced(scene):
    _, truth = scene
    assert score("dynamics", truth.frames, truth).tolist() == [1.0, 1.0]
    assert score("dynamics", frozen(truth), truth).tolist() == [0.0, 0.0]
    assert (score("dynamics", brighter(truth.frames), truth) > 0.95).all()
    half = HORIZON // 2
    stopped = truth.frames.clone()
    stopped[:, half:] = truth.frames[:, half - 1 : half]  # the world stops at mid-horizon
    assert ((0.2 < (value := score("dynamics", stopped, truth))) & (value < 0.6)).all()  # the falling square speeds up


def test_dynamics_is_missing_when_nothing_changes():
    still = squares({RED: np.full((T, 2), 10.0)})
    truth = truth_of([episode(still)])
    assert math.isnan(float(score("dynamics", truth.frames, truth)))


def test_flicker_measures_the_change_on_static_pixels(scene):
    _, truth = scene
    # alternating +-0.06 moves static pixels by 0.12 per step (0.11 beyond the noise floor), except where clamped
    value = score("flicker", flickering(truth.frames), truth)
    assert value.tolist() == pytest.approx([0.1, 0.1], abs=0.02)
    assert (score("flicker", frozen(truth), truth) == 0).all()  # a frozen world does not flicker


def test_drift_measures_the_creep_from_the_last_context_frame(scene):
    _, truth = scene
    value = score("drift", drifting(truth.frames), truth)
    # the red cast grows to 0.15; its mean over the horizon is taken for a constant cast and
    # undone, what creeps around it stays: a clear violation (the law's anchor is 0.005)
    assert ((0.005 < value) & (value < 0.03)).all()
    assert (score("drift", frozen(truth), truth) == 0).all()


def test_objects_parting_from_the_truth_neither_flicker_nor_drift():
    """Where the model's objects go is the physics metrics' business: a rollout whose red
    square runs lower than the truth's changes pixels the truth leaves still, yet the
    background around it holds, so neither law sees a violation; a creep of the
    background (flickering, creeping) on top of it still counts."""
    t = np.arange(T, dtype=float)
    apart = squares({RED: np.stack([8 + 2 * t, 10 + 1.5 * t], 1),
                     BLUE: np.stack([40 + 0 * t, 4 + 0.15 * t * t], 1)}, seed=0)
    truth = truth_of([moving_scene(0)])
    pred = unit_float(apart[CONTEXT:], truth.frames.device)[None]
    for law, violated in (("flicker", flickering), ("drift", drifting)):
        assert float(score(law, pred, truth)) == 0.0
        assert float(score(law, violated(pred), truth)) > METRICS[law].violation_anchor


def test_drift_counts_from_when_the_camera_came_to_rest():
    """The camera pans over the first half of the horizon and then rests: nothing looks as
    it did at the first predicted frame, yet a creep after the camera rests is drift."""
    rest = CONTEXT + HORIZON // 2
    pan = 3 * np.minimum(np.arange(T), rest)
    truth = truth_of([episode(squares({RED: np.full((T, 2), 10.0)}, pan=pan))])
    assert float(score("drift", truth.frames, truth)) == 0.0
    creeping = truth.frames.clone()
    creeping[:, HORIZON // 2 :, 1] += torch.linspace(0, 0.3, HORIZON - HORIZON // 2).view(1, -1, 1, 1)
    assert float(score("drift", creeping.clamp(0, 1), truth)) > METRICS["drift"].violation_anchor


def test_flicker_is_missing_when_nothing_is_static():
    noise = np.random.default_rng(1).integers(0, 256, (T, SIZE, SIZE, 3), dtype=np.uint8)
    truth = truth_of([episode(noise)])
    assert math.isnan(float(score("flicker", truth.frames, truth)))


def test_warp_error_follows_motion_not_pixels(scene):
    """A sequence whose motion the flow explains (the truth, shifted as a whole) keeps a
    small warping error; flicker, which no motion explains, raises it; a frozen world
    has nothing to explain."""
    _, truth = scene
    shifted = torch.roll(truth.frames, 3, dims=-1)
    assert (score("warp_error", shifted, truth) < 0.5 * score("warp_error", flickering(truth.frames), truth)).all()
    assert score("warp_error", frozen(truth), truth).tolist() == [0.0, 0.0]


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
    assert float(score("revisit_error", forgetful, truth)) > 0.02
    # the errors before the return do not count (the noise only nudges the sequence's
    # photometric fit, by far less than one 8-bit level)
    early = truth.frames.clone()
    early[:, : 11 - CONTEXT] = torch.rand_like(early[:, : 11 - CONTEXT])
    assert float(score("revisit_error", early, truth)) == pytest.approx(0.0, abs=1e-5)


def test_revisit_left_during_the_horizon_is_checked_against_the_own_prediction():
    pan = (0, 0, 0, 0, 0, 0, 8, 16, 24, 16, 8, 0, 0, 0, 0, 0)  # the view of frame 5 again from 11
    truth = truth_of([revisit_scene(5, 11, pan)])
    tinted = (truth.frames * 0.8).clamp(0, 1)  # wrong colours, but the same world when the camera is back
    assert score("revisit_error", tinted, truth).tolist() == [0.0]
    changed = tinted.clone()
    changed[:, 11 - CONTEXT] = truth.frames[:, 11 - CONTEXT]
    assert float(score("revisit_error", changed, truth)) > 0.02


def test_revisit_error_is_missing_without_a_predicted_return(scene):
    _, truth = scene
    assert torch.isnan(score("revisit_error", truth.frames, truth)).all()
    truth = truth_of([revisit_scene(0, 2)])  # returns within the context
    assert math.isnan(float(score("revisit_error", truth.frames, truth)))


def test_malformed_revisits_name_the_episode():
    truth = truth_of([revisit_scene(5, 2)])
    with pytest.raises(WmbenchError, match=r"episode synthetic@1/dev/0: meta 'revisit' must hold"):
        score("revisit_error", truth.frames, truth)


COHERENCE = ["dynamics", "flicker", "drift", "warp_error", "revisit_error"]


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
    for law in ("flicker", "drift", "warp_error"):  # neither the truth nor a frozen world breaks them
        assert metrics[law]["mean"] == 0.0
    assert metrics["dynamics"]["mean"] == (1.0 if adapter == "oracle" else 0.0)


def test_dilate_matches_max_pooling():
    from wmbench.metrics.coherence import dilate

    mask = torch.rand(3, 1, 40, 50, generator=torch.Generator().manual_seed(0)) > 0.98
    pooled = torch.nn.functional.max_pool2d(mask.float(), 5, stride=1, padding=2) > 0
    assert torch.equal(dilate(mask, 2), pooled) and dilate(mask, 2).sum() > 5 * mask.sum()


def test_blinked_marks_short_gaps_between_seen_frames_only():
    from wmbench.metrics.coherence import blinked

    visibility = np.ones((1, 12, 4))
    visibility[0, 4:6, 0] = 0.0  # gone for 2 frames: a blink
    visibility[0, 3:8, 1] = 0.0  # gone for 5 frames: it vanished, not a blink
    visibility[0, :3, 2] = 0.0  # gone from the start: not seen before
    visibility[0, 6, 3] = 0.3  # partly seen: not gone ...
    visibility[0, 7, 3] = 0.0  # ... and gone after it: not seen just before
    marks = blinked(visibility)[0]
    assert np.flatnonzero(marks[:, 0]).tolist() == [4, 5]
    assert not marks[:, 1:].any()


def test_blinks_counts_an_object_missing_from_single_frames():
    from wmbench.tasks import get_task
    from wmbench.validation.corruptions import popping
    from wmbench.worlds import generate_episode

    task = get_task("drop_single")
    drop = generate_episode(task, "dev", 1)
    truth = truth_of([drop])
    pred = unit_float(popping(task, drop))[None]  # missing from 3 of the 16 horizon frames
    assert float(score("blinks", truth.frames, truth)[0]) == 0.0
    assert float(score("blinks", frozen(truth), truth)[0]) == 0.0
    assert float(score("blinks", pred, truth)[0]) == pytest.approx(3 / 16)
