"""Physical plausibility metrics: definitions on synthetic tracks, truth scores, missing values."""

from __future__ import annotations

import dataclasses
import inspect
import json
import warnings

import numpy as np
import pytest
import torch

from wmbench.metrics import METRICS, Truth, physics
from wmbench.metrics.kinematics import (
    LEAST_IMPACT_UNIT,
    contact_normals,
    energy_rise,
    fitted_acceleration,
    free_fall_segments,
    impact_steps,
    lens_area,
    mask_gaps,
    near_impacts,
)
from wmbench.metrics.physics import PhysicsMetric
from wmbench.metrics.tracks import LEAD
from wmbench.tasks import get_task, split_seeds, task_from_dict
from wmbench.validation.corruptions import CATALOGUE, jpeg
from wmbench.validation.selftest import VIOLATIONS
from wmbench.worlds import generate_episode, redraw
from wmbench.worlds.meta import objects_collide

PHYSICS = {name: cls for name, cls in METRICS.items() if issubclass(cls, PhysicsMetric)}
RESTING = {"name": "drop_resting", "version": 1, "family": "dropping_objects",
           "scene": {"type": "drop", "params": {"height": 0.3, "restitution": 0.0}},
           "resolution": 128, "fps": 30, "context": 40, "horizon": 6, "metrics": ["mse"],
           "episodes": {"train": 1, "dev": 2, "test": 1}, "ensemble": 0, "changelog": {1: "test"}}


def frames_of(array: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(array)).permute(0, 3, 1, 2).float().div(255)[None]


def truth_of(episodes) -> Truth:
    return Truth(frames=torch.cat([frames_of(e.future_frames) for e in episodes]),
                 context=torch.cat([frames_of(e.context_frames) for e in episodes]), episodes=list(episodes))


@pytest.fixture(scope="module")
def drops():
    task = get_task("drop_single")
    return [generate_episode(task, "dev", s) for s in (1, 2)]


def test_every_physics_metric_is_defined():
    assert len(PHYSICS) >= 12
    for name, cls in PHYSICS.items():
        assert cls.name == name and cls.unit and cls.__doc__ and len(cls.__doc__) > 80
        assert set(cls.catches) <= set(VIOLATIONS) and cls.margin > 0
        assert isinstance(cls.higher_is_better, bool)


def test_truth_scores_the_best_value(drops):
    """Within each metric's margin: the truth is never taken for a violation (reading
    states from frames is not exact: a small spinning box's speed is off by a few %)."""
    truth = truth_of(drops)
    for name, cls in PHYSICS.items():
        values = cls().score(truth.frames, truth).numpy()
        best = 1.0 if cls.higher_is_better else 0.0
        for v in values[~np.isnan(values)]:
            assert abs(v - best) < cls.margin, (name, v)
    assert not np.isnan(PHYSICS["trajectory_ade"]().score(truth.frames, truth).numpy()).any()


def test_missing_where_a_metric_cannot_be_computed():
    task = task_from_dict(RESTING)
    episode = generate_episode(task, "dev", 0)  # at rest through the horizon, never hidden
    truth = truth_of([episode])
    scores = {n: float(c().score(truth.frames, truth)[0]) for n, c in PHYSICS.items()}
    for name in ("gravity_error", "reappearance_time", "reappearance_position", "contact_timing"):
        assert np.isnan(scores[name]), name
    assert scores["trajectory_ade"] < 0.005 and scores["permanence"] == 0.0
    acting = dataclasses.replace(episode, truth=dataclasses.replace(
        episode.truth, actions=np.zeros((len(episode.frames) - 1, 1), np.float32)))
    truth = truth_of([acting])
    assert np.isnan(float(PHYSICS["energy_gain"]().score(truth.frames, truth)[0]))  # not a passive scene


def test_batch_scores_match_single_scores(drops):
    both = truth_of(drops)
    pred = both.frames.flip(1)  # a wrong prediction with something to score
    for name, cls in PHYSICS.items():
        batch = cls().score(pred, both).numpy()
        single = [float(cls().score(pred[i : i + 1], truth_of(drops[i : i + 1]))[0]) for i in range(2)]
        np.testing.assert_allclose(batch, single, rtol=1e-5, atol=1e-7, err_msg=name)


def test_update_and_compute_average_the_episodes(drops):
    truth = truth_of(drops)
    metric = PHYSICS["continuity"]()
    values = metric(truth.frames.flip(1), truth)  # per-episode values, accumulated
    unseen = truth_of(drops[:1])
    assert torch.isnan(metric(torch.zeros_like(unseen.frames), unseen)).all()  # no object: missing
    assert float(metric.compute()) == pytest.approx(float(values.mean()))
    assert int(metric.count) == len(drops) and int(metric.missing) == 1


def test_trajectory_curve_has_one_value_per_step(drops):
    truth = truth_of(drops)
    curve = PHYSICS["trajectory_ade"]().curve(truth.frames[:, :1].expand_as(truth.frames), truth)
    assert curve.shape == (2, drops[0].horizon)
    assert float(curve[:, 0].max()) < 0.005 and float(curve[:, -1].min()) > float(curve[:, 0].max())


def test_lens_area():
    r = np.array(1.0)
    assert float(lens_area(np.array(2.5), r, r)) == 0.0
    assert float(lens_area(np.array(0.0), r, r)) == pytest.approx(np.pi)
    assert float(lens_area(np.array(1.0), r, r)) == pytest.approx(2 * np.pi / 3 - np.sqrt(3) / 2)
    assert float(lens_area(np.array(0.5), r, np.array(0.25))) == pytest.approx(np.pi / 16)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a disc shrunk to nothing overlaps nothing, quietly
        assert float(lens_area(np.array(0.5), r, np.array(0.0))) == 0.0


def test_fitted_acceleration_recovers_a_parabola():
    t = np.arange(10.0)
    xy = np.stack([3 + 0.5 * t - 0.1 * t**2, 7 - 2 * t + 0.35 * t**2], 1)
    xy[6:] += 50  # a second segment with its own offset
    acc = fitted_acceleration(xy, [np.arange(0, 6), np.arange(6, 10)])
    np.testing.assert_allclose(acc, [-0.2, 0.7], atol=1e-9)
    assert fitted_acceleration(xy, [np.arange(0, 2)]) is None  # too short to fit


def test_free_fall_segments_end_at_the_bounce(drops):
    episode = drops[0]
    states, g, fps = episode.truth.states[:, 0], episode.meta["gravity"], episode.fps
    runs = free_fall_segments(states, np.ones(len(states), bool), g, fps)
    assert runs and runs[0][0] == 0
    first_bounce = int(np.flatnonzero(np.diff(states[:, 4]) > 0)[0])  # vy jumps up at the floor
    assert runs[0][-1] == first_bounce


def test_impacts_seen_from_above_stand_out_of_the_reading_jitter():
    """Without gravity in the picture, contact timing's unit is the least impact: a
    collision that turns a ball's velocity is an impact, half a pixel of reading jitter
    is not (in units of a gravity of 0, the jitter's peak would be one)."""
    fps, ppm = 30.0, 64.0
    steps = np.arange(20.0)
    x = np.where(steps < 10, 20 + 4 * steps, 20 + 4 * 9 - 2 * (steps - 9))  # 4 px per frame, then -2
    jitter = 0.5 * np.where(np.arange(20) % 2, 1.0, -1.0)
    xy = np.stack([x, 64 + jitter], 1)
    ok = np.ones(20, bool)
    unit = {"least_unit": LEAST_IMPACT_UNIT}
    assert impact_steps(xy, ok, 0.0, ppm, fps, **unit).tolist() == [9]
    assert impact_steps(np.stack([20 + 4 * steps, 64 + jitter], 1), ok, 0.0, ppm, fps, **unit).tolist() == []
    assert len(impact_steps(np.stack([20 + 4 * steps, 64 + jitter], 1), ok, 0.0, ppm, fps)) == 1  # the jitter's peak


def test_impacts_and_energy_on_synthetic_tracks():
    fps, ppm, g = 30.0, 64.0, 9.81
    t = np.arange(20) / fps
    y = np.where(t < 0.3, 1.0 - 0.5 * g * t**2, np.nan)  # free fall, then a perfect bounce
    y_bounce = 1.0 - 0.5 * g * 0.3**2
    y = np.where(t >= 0.3, y_bounce + (g * 0.3) * (t - 0.3) - 0.5 * g * (t - 0.3) ** 2, y)
    xy = np.stack([np.full_like(t, 64.0), (2.0 - y) * ppm], 1)
    ok = np.ones(len(t), bool)
    assert impact_steps(xy, ok, g, ppm, fps).tolist() == [9]
    assert impact_steps(xy[:9] * np.array([1.0, -1.0]), ok[:9], g, ppm, fps).tolist() == []  # -g is no impact
    mass, skip = np.array([1.0]), near_impacts(xy[:, None], ok[:, None], g, ppm, fps)
    assert skip.tolist() == [i in (8, 9) for i in range(19)]
    assert energy_rise(xy[:, None], ok[:, None], skip, mass, g, ppm, fps) < 0.01 * g  # elastic: no rise
    assert np.isnan(energy_rise(xy[:, None], ok[:, None], np.arange(19) > 2, mass, g, ppm, fps))
    faster = xy.copy()
    faster[10:, 1] = xy[10:, 1] - np.arange(10) * 5.0  # speeds up upwards after the bounce
    assert energy_rise(faster[:, None], ok[:, None], skip, mass, g, ppm, fps) > 0.5 * g


def test_docstrings_name_the_formula_next_to_the_code():
    for cls in PHYSICS.values():
        source = inspect.getsource(cls)
        assert "Unit:" in cls.__doc__ and ("lower is better" in cls.__doc__) != cls.higher_is_better, source[:80]


def test_runs_score_physics_on_drop_single(cli, tmp_path):
    means = {}
    for adapter in ("oracle", "copy_last"):
        code, _, err = cli("run", "--adapter", adapter, "--tasks", "drop_single", "--limit", "2",
                           "--out", tmp_path / adapter, "--no-progress")
        assert code == 0, err
        result = json.loads((tmp_path / adapter / "result.json").read_text())
        means[adapter] = {k: v["mean"] for k, v in result["aggregates"]["drop_single"]["metrics"].items()}
    assert means["oracle"]["trajectory_ade"] < 0.005 < 0.05 < means["copy_last"]["trajectory_ade"]
    assert means["oracle"]["gravity_error"] < 0.1 and means["copy_last"]["gravity_error"] > 0.9  # frozen: a = 0
    assert means["oracle"]["outcome_accuracy"] == 1.0 > means["copy_last"]["outcome_accuracy"]


def test_overlapping_objects_interpenetrate():
    task = task_from_dict(dict(RESTING, name="drop_two", scene={"type": "drop", "params": {"n_objects": 2}},
                               context=4, horizon=6))
    episode = generate_episode(task, "dev", 0)
    states = episode.truth.states[episode.context :].copy()
    states[:, 1, :2] = states[:, 0, :2] + [episode.objects[0].size[0], 0.0]  # object 2 sunk halfway into object 1
    truth = truth_of([episode])
    metric = PHYSICS["interpenetration"]()
    overlapping = frames_of(np.stack([redraw(episode, episode.context + t, s)[0] for t, s in enumerate(states)]))
    assert float(metric.score(truth.frames, truth)[0]) == pytest.approx(0.0, abs=1e-12)
    # the visible part of the covered object shifts its centroid away, so less than the true 20% shows
    assert float(metric.score(overlapping, truth)[0]) > 2 * metric.margin


def test_compression_at_contacts_stays_within_the_interpenetration_tolerance(monkeypatch):
    task = get_task("block_stack")
    episode = generate_episode(task, "dev", split_seeds(task, "dev", 2, None)[1])
    truth, metric = truth_of([episode]), PHYSICS["interpenetration"]()
    compressed = frames_of(jpeg(task, episode))  # JPEG at quality 75: colour specks where blocks touch
    assert float(metric.score(compressed, truth)[0]) == 0.0
    tolerance = physics.PENETRATION_TOLERANCE
    monkeypatch.setattr(physics, "PENETRATION_TOLERANCE", 0.0)
    assert 0.002 < float(metric.score(compressed, truth)[0]) < tolerance


def kinetic_tracks(true_xy: np.ndarray, pred_xy: np.ndarray, mass=(1.0, 1.0), seen=None):
    """The parts of :class:`Tracks` that ``kinetic_energy_error`` reads: one episode."""
    from types import SimpleNamespace

    steps, n = true_xy.shape[:2]
    seen = np.ones((steps, n), bool) if seen is None else seen
    return SimpleNamespace(true_xy=true_xy[None], pred_xy=pred_xy[None], true_vis=np.ones((1, steps, n)),
                           measured=seen[None], valid=np.ones((1, n), bool), mass=np.array([mass]))


def test_kinetic_energy_error_on_synthetic_tracks():
    metric = PHYSICS["kinetic_energy_error"]()
    steps = np.arange(12.0)[:, None]
    true = np.stack([np.concatenate([10 + 3 * steps, 20 + 0 * steps], 1),    # 3 px per frame to the right
                     np.concatenate([60 + 0 * steps, 30 + 1 * steps], 1)], 1)  # 1 px per frame down
    score = lambda pred, **kw: float(metric.from_tracks(kinetic_tracks(true, pred, **kw), None)[0])  # noqa: E731
    assert score(true) == 0.0
    assert score(np.repeat(true[1:2], len(true), 0)) == pytest.approx(1.0)  # frozen from the last context frame
    half_speed = true[1] + 0.5 * (true - true[1])
    assert score(half_speed) == pytest.approx(0.75)  # a quarter of the kinetic energy
    shifted = true.copy()
    shifted[2:] += 1.0  # the whole prediction one pixel off: its step from the context is continuity's
    assert score(shifted) == 0.0
    wobbling = true + 0.5 * (-1.0) ** steps[:, :, None]  # a centroid wobbling by a pixel from frame to frame
    assert score(wobbling) == pytest.approx(0.0, abs=1e-12)  # velocities span two frame intervals
    swapped = true.copy()  # object 1 moves down at 3 px per frame instead
    swapped[:, 0] = np.concatenate([10 + 0 * steps, 20 + 3 * steps], 1)
    assert score(swapped) == pytest.approx(0.0)  # the same energy in another direction
    exchanged = true[:, ::-1] + 0.0  # which object carries which energy does not matter at equal mass
    assert score(exchanged) == pytest.approx(0.0)
    lost = np.ones((12, 2), bool)
    lost[6:, 0] = False
    assert 0.3 < score(true, seen=lost) < 1.0  # a lost object's energy is missing from the prediction
    still = np.repeat(true[:1], 12, 0) + 0.1 * steps[:, :, None]  # less than half a pixel per frame
    assert np.isnan(metric.from_tracks(kinetic_tracks(still, true), None)[0])


def test_contact_normals_point_away_from_what_is_touched():
    masks = torch.zeros(1, 1, 3, 32, 32)
    yy, xx = torch.meshgrid(torch.arange(32.0), torch.arange(32.0), indexing="ij")
    masks[0, 0, 0] = ((xx - 8) ** 2 + (yy - 25) ** 2 <= 9).float()    # a ball resting on the floor
    masks[0, 0, 1] = ((xx - 20) ** 2 + (yy - 10) ** 2 <= 9).float()   # a ball in the air ...
    masks[0, 0, 2] = ((xx - 27) ** 2 + (yy - 10) ** 2 <= 9).float()   # ... touching another on its right
    floor = torch.zeros(1, 32, 32, dtype=torch.bool)
    floor[0, 29:] = True
    normals = contact_normals(masks, floor, reach=2)[0, 0]  # (objects, scenery or objects, xy)
    np.testing.assert_allclose(normals[0, 0], [0.0, -1.0], atol=1e-6)
    np.testing.assert_allclose(normals[1:, 1], [[-1.0, 0.0], [1.0, 0.0]], atol=1e-6)
    assert np.isnan(normals[0, 1]).all() and np.isnan(normals[1:, 0]).all()
    assert np.isnan(contact_normals(masks[:, :, 1:2], floor, reach=2)).all()  # alone in the air


def test_contact_normals_reach_each_objects_own_distance_and_the_nearest_surface():
    masks = torch.zeros(1, 1, 2, 32, 32)
    masks[0, 0, 0, 18:23, 10:15] = 1.0  # six pixels above the floor (rows 29 on)
    masks[0, 0, 1, 23:28, 6:11] = 1.0  # one pixel above the floor, four from a wall (columns 0-1)
    solids = torch.zeros(1, 32, 32, dtype=torch.bool)
    solids[0, 29:] = True
    solids[0, :, :2] = True
    assert np.isnan(contact_normals(masks, solids, reach=2)[0, 0, 0, 0]).all()
    normals = contact_normals(masks, solids, reach=np.array([[[7, 7]]]))[0, 0, :, 0]
    np.testing.assert_allclose(normals[0], [0.0, -1.0], atol=1e-6)
    np.testing.assert_allclose(normals[1], [0.0, -1.0], atol=1e-6)  # within the band: the floor, not the wall
    masks[0, 0, 1] = 0.0
    masks[0, 0, 1, 20:25, 2:7] = 1.0  # four pixels above the floor, beside the wall
    np.testing.assert_allclose(contact_normals(masks, solids, reach=7)[0, 0, 1, 0], [1.0, 0.0], atol=1e-6)


def test_mask_gaps_count_the_pixels_between_objects_and_not_a_lone_pixel():
    masks = torch.zeros(1, 5, 16, 16)
    masks[0, 0, 2:8, 2:8] = 1.0  # a block ...
    masks[0, 1, 8:14, 2:8] = 1.0  # ... resting on another
    masks[0, 2, 2:8, 10:16] = 1.0  # two pixels to the right of the first
    masks[0, 3, 1, 8] = 1.0  # a lone pixel next to the first block, where its edge blends with another's colour
    masks[0, 4, 7:10, 5:7] = 1.0  # overlapping both blocks
    gaps = mask_gaps(masks)[0].numpy()
    np.testing.assert_array_equal(gaps, gaps.T)
    assert gaps[0, 0] == 0 and gaps[0, 1] == 1 and gaps[0, 2] == 3 and gaps[1, 2] == 3
    assert gaps[0, 4] == 0 and gaps[1, 4] == 0 and gaps[2, 4] == 3
    assert (gaps[3] == 3).all()  # the lone pixel is no object
    masks[0, 3, 0, 8] = 1.0  # two pixels: a sliver of an object, evidence that it is there
    assert mask_gaps(masks)[0, 0, 3] == 1 and mask_gaps(masks, most=2)[0, 0, 2] == 2


def test_outcome_accuracy_allows_a_pixel_on_the_gap_between_objects():
    from types import SimpleNamespace

    true = torch.zeros(1, 1, 3, 24, 24)  # the last horizon frame's masks
    true[..., 0, 4:12, 2:10] = 1.0
    true[..., 1, 12:20, 2:10] = 1.0  # resting on the first
    true[..., 2, 4:12, 14:22] = 1.0  # four pixels to its right
    metric = PHYSICS["outcome_accuracy"]()

    def score(pred_masks):  # nothing moves: three facts of being seen, three of touching
        still = np.zeros((1, LEAD + 1, 3, 2))
        tracks = SimpleNamespace(pred=SimpleNamespace(masks=pred_masks), true_frames=SimpleNamespace(masks=true),
                                 valid=np.ones((1, 3), bool), true_vis=np.ones((1, 1, 3)),
                                 measured=np.ones((1, 1, 3), bool), true_xy=still, pred_xy=still,
                                 inradius=np.full((1, 3), 4.0))
        return float(metric.from_tracks(tracks, None)[0])

    assert score(true) == 1.0
    eroded = true.clone()
    eroded[..., 1, 12, :] = 0.0  # JPEG at the contact: one pixel between them
    assert score(eroded) == 1.0
    apart = true.clone()
    apart[..., 1, 12:14, :] = 0.0  # two pixels between them: they no longer touch
    assert score(apart) == pytest.approx(5 / 6)
    closer = true.clone()
    closer[..., 2, 4:10, 10:14] = 1.0  # grown up to the first block's edge: now they touch
    assert score(closer) == pytest.approx(5 / 6)


def test_a_contact_causes_a_push_turned_by_friction_at_most():
    up = np.array([0.0, -1.0])
    cases = {(0.0, -3.0): 0.0, (2.0, -3.0): 0.0, (3.0, -3.0): 0.0,  # a bounce, turned by friction up to its push
             (4.0, -2.0): 2.0,  # turned more than friction can
             (3.0, 0.0): 3.0, (0.0, 3.0): 3.0, (1.0, 2.0): np.hypot(1.0, 2.0)}  # a stop while sliding, into the floor
    for change, uncaused in cases.items():
        left = physics._left_by_contact(np.array(change), up)
        assert np.linalg.norm(left) == pytest.approx(uncaused), change
    np.testing.assert_allclose(physics._left_by_contact(np.array([3.0, 4.0]), np.array([np.nan, np.nan])), [3.0, 4.0])


def test_each_contact_excuses_what_it_can_cause():
    """A domino standing on the floor beside its neighbour: the floor can stop its fall
    or bounce it up, the neighbour can push it left; nothing pushes it right."""
    masks = torch.zeros(1, 3, 2, 32, 32)
    masks[0, :, 0, 16:29, 6:13] = 1.0  # on the floor (rows 29 on) ...
    masks[0, :, 1, 16:29, 14:21] = 1.0  # ... one pixel left of its neighbour
    floor = torch.zeros(1, 32, 32, dtype=torch.bool)
    floor[0, 29:] = True
    normals = contact_normals(masks, floor, reach=2)[:, :, :1]  # the left domino, (1, 3, 1, 2, 2)
    causes = {(1.0, -3.0): 0.0, (-3.0, 1.0): 0.0, (-2.0, -2.0): 0.0, (3.0, 0.0): 3.0, (0.0, 3.0): 3.0}
    for change, uncaused in causes.items():
        left = physics._uncaused_by_contacts(np.array(change)[None, None, None], normals)
        assert left[0, 0, 0] == pytest.approx(uncaused, abs=1e-9), change


def test_inertia_excuses_a_bounce_between_frames_of_a_fast_ball(monkeypatch):
    """At 64 px and 15 frames per second `bounce_long`'s balls move up to 13 px per frame
    and hit walls and each other between frames: under 5% more gravity they do so at
    other times than in any true rollout, each a frame's travel from what they hit."""
    task = get_task("bounce_long")
    episode = generate_episode(task, "dev", split_seeds(task, "dev", 1, None)[0])
    truth, metric = truth_of([episode]), PHYSICS["inertia"]()
    heavier = frames_of({c.name: c for c in CATALOGUE}["gravity_+5%"].make(task, episode))
    assert float(metric.score(heavier, truth)[0]) == 0.0
    monkeypatch.setattr(physics, "_travel", lambda xy: np.zeros(xy.shape[:-1]))
    assert float(metric.score(heavier, truth)[0]) > metric.margin


def test_pendulums_pass_in_front_of_each_other_without_interpenetrating():
    """The bobs swing in planes of their own: out of phase, one covers another."""
    task = get_task("pendulum_long")
    episode = generate_episode(task, "dev", split_seeds(task, "dev", 3, None)[2])
    assert not objects_collide(episode) and objects_collide(generate_episode(get_task("drop_single"), "dev", 0))
    truth, metric = truth_of([episode]), PHYSICS["interpenetration"]()
    heavier = frames_of({c.name: c for c in CATALOGUE}["gravity_+5%"].make(task, episode))
    covered = physics.covered_by_objects(physics.build_tracks(heavier, truth))
    assert covered.max() > 5  # pixels of a bob behind another
    assert float(metric.score(heavier, truth)[0]) == 0.0


def test_inertia_excuses_a_bounce_where_it_happens_not_a_stop_in_the_air(drops):
    """Under 25% more gravity the ball bounces earlier than in any true rollout: the
    floor causes it. A ball that stops in mid-air has no cause."""
    episode = drops[1]
    truth, metric = truth_of([episode]), PHYSICS["inertia"]()
    heavier = {c.name: c for c in CATALOGUE}["gravity_+25%"].make(get_task("drop_single"), episode)
    assert float(metric.score(frames_of(heavier), truth)[0]) == 0.0
    states = episode.truth.states[episode.context :].copy()
    bounce = int(np.flatnonzero(np.diff(episode.truth.states[:, 0, 4]) > 0)[0]) - episode.context
    states[bounce - 3 :] = states[bounce - 3]
    stopped = np.stack([redraw(episode, episode.context + t, s)[0] for t, s in enumerate(states)])
    assert float(metric.score(frames_of(stopped), truth)[0]) > metric.margin
