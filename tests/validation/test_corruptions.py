"""The corruption catalogue: each corruption is the future it says it is."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from wmbench.tasks import get_task
from wmbench.tasks.seeds import split_seeds
from wmbench.validation.corruptions import CATALOGUE, CORRUPTIONS, KINDS, LADDER_STEPS, ladder_shows, moving_object
from wmbench.worlds import generate_episode


@pytest.fixture(scope="module")
def drop():
    task = get_task("drop_single")
    return task, generate_episode(task, "dev", 1)


def made(drop, name):
    task, episode = drop
    return CORRUPTIONS[name].make(task, episode)


def test_catalogue_covers_every_kind_with_unique_names():
    assert {c.kind for c in CATALOGUE} == set(KINDS)
    assert len(CORRUPTIONS) == len(CATALOGUE)
    assert all(c.description for c in CATALOGUE)
    ladders = {c.parameter for c in CATALOGUE if c.kind == "ladder"}
    assert ladders == {"gravity", "restitution"}
    for parameter in ladders:
        errors = [abs(c.error) for c in CATALOGUE if c.parameter == parameter]
        assert errors == list(LADDER_STEPS)


def test_every_corruption_is_a_future_of_the_right_shape_or_does_not_apply(drop):
    _, episode = drop
    applied = 0
    for corruption in CATALOGUE:
        future = made(drop, corruption.name)
        if future is None:
            continue
        applied += 1
        assert future.dtype == np.uint8 and future.shape == episode.future_frames.shape, corruption.name
    assert applied >= len(CATALOGUE) - 4  # through_objects, friction and restitution need other scenes


def test_references_are_the_truth_and_the_frozen_world(drop):
    _, episode = drop
    assert np.array_equal(made(drop, "truth"), episode.future_frames)
    frozen = made(drop, "frozen")
    assert all(np.array_equal(f, episode.truth.frames[episode.context - 1]) for f in frozen)


@pytest.mark.parametrize("name", [c.name for c in CATALOGUE if c.kind == "appearance"])
def test_appearance_changes_are_mild(drop, name):
    _, episode = drop
    change = np.abs(made(drop, name).astype(float) - episode.future_frames).mean() / 255
    assert 0 < change < 0.1, name  # brightness +-10% moves bright pixels by up to 0.1


def test_object_changes_start_at_mid_horizon_on_the_moving_object(drop):
    _, episode = drop
    k = moving_object(episode)
    assert k == 0
    half = episode.horizon // 2
    for name in ("object_vanishes", "object_teleports", "object_shrinks", "object_grows"):
        future = made(drop, name)
        assert np.array_equal(future[:half], episode.future_frames[:half]), name
        assert (future[half:] != episode.future_frames[half:]).any(), name


def test_the_fastest_object_freezes_where_it_moves_fastest():
    task = get_task("drop_onto")
    episode = generate_episode(task, "dev", 457)
    future = CORRUPTIONS["object_freezes"].make(task, episode)
    changed = np.flatnonzero((future != episode.future_frames).any(axis=(1, 2, 3)))
    # the truth's frames until the freeze, then changed to the end: over half the horizon (mid-horizon on, before)
    assert changed.size >= episode.horizon // 2 and np.array_equal(changed, np.arange(changed[0], episode.horizon))


def test_time_reversal_and_re_simulated_violations_change_the_motion(drop):
    _, episode = drop
    assert np.array_equal(made(drop, "time_reversed"), episode.future_frames[::-1])
    for name in ("slow_motion", "fast_motion", "gravity_halved", "gravity_reversed", "through_walls"):
        future = made(drop, name)
        assert future is not None and (future != episode.future_frames).any(), name


def test_ladders_apply_where_their_largest_error_shows(drop):
    task, episode = drop
    assert ladder_shows("gravity", task, episode)
    rungs = [c for c in CATALOGUE if c.parameter == "gravity"]
    distances = [np.abs(c.make(task, episode).astype(float) - episode.future_frames).mean() for c in rungs]
    assert min(distances) > 0 and distances[-1] == max(distances)  # every rung shows; the largest error most


def test_a_change_made_only_out_of_sight_does_not_apply():
    """occluder_stop's box is behind the occluder within a few frames of the horizon:
    doubled gravity only makes it stop sooner there (no picture changes), while halved
    friction lets it slide out into view."""
    task = get_task("occluder_stop")
    episode = generate_episode(task, "dev", split_seeds(task, "dev", 1)[0])
    hidden = episode.truth.visibility[episode.context + 2 :]
    assert hidden.max() == 0
    assert CORRUPTIONS["gravity_doubled"].make(task, episode) is None
    assert not ladder_shows("gravity", task, episode)
    assert CORRUPTIONS["friction_halved"].make(task, episode) is not None


def test_a_change_within_the_physical_variance_does_not_apply():
    """On this drop_onto episode some ensemble rollout strays from the truth as far as
    halved gravity does on most frames: the physics index calls such a future plausible
    by definition, so it tests nothing; without the ensemble it would apply. Reversed
    gravity goes far beyond the ensemble."""
    task = get_task("drop_onto")
    episode = generate_episode(task, "dev", split_seeds(task, "dev", 2)[1])
    assert CORRUPTIONS["gravity_halved"].make(task, episode) is None
    assert CORRUPTIONS["gravity_halved"].make(task, dataclasses.replace(episode, ensemble=[])) is not None
    assert CORRUPTIONS["gravity_reversed"].make(task, episode) is not None


def test_a_stop_where_an_ensemble_rollout_has_an_impact_is_not_a_freeze():
    """On this drop_onto episode the truth has a smooth stretch to stop the object in,
    but some ensemble rollouts hit something there: a stop then is within the physical
    variance, so the freeze does not apply; without the ensemble it would."""
    task = get_task("drop_onto")
    episode = generate_episode(task, "dev", split_seeds(task, "dev", 1)[0])
    assert CORRUPTIONS["object_freezes"].make(task, episode) is None
    alone = dataclasses.replace(episode, ensemble=[])
    assert CORRUPTIONS["object_freezes"].make(task, alone) is not None


def test_objects_that_never_collide_cannot_pass_through_each_other():
    """pendulum_long's bobs swing in planes of their own: with collisions between objects
    off, the re-simulated future is the truth itself, even where two bobs overlap."""
    task = get_task("pendulum_long")
    episode = generate_episode(task, "dev", split_seeds(task, "dev", 3)[2])
    assert len(episode.objects) > 1
    assert CORRUPTIONS["through_objects"].make(task, episode) is None
