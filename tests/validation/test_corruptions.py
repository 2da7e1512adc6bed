"""The corruption catalogue: each corruption is the future it says it is."""

from __future__ import annotations

import numpy as np
import pytest

from wmbench.tasks import get_task
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
