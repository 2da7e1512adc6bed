"""Re-simulating an episode from its last context frame, with and without a change."""

from __future__ import annotations

import numpy as np
import pytest

from wmbench.tasks import get_task
from wmbench.worlds import generate_episode
from wmbench.worlds.resimulate import (
    objects_pass_through,
    remove_solids,
    resimulate,
    scale_friction,
    scale_gravity,
    scale_restitution,
)


@pytest.fixture(scope="module")
def episodes():
    seeds = {
        "drop_single": 3,
        "push_single": 3,
        "revisit_gap": 3,
        "collide_elastic": 2,
    }  # 2: a collision in the horizon
    return {name: (get_task(name), generate_episode(get_task(name), "dev", seed)) for name, seed in seeds.items()}


@pytest.mark.parametrize("name", ["drop_single", "push_single", "revisit_gap"])
def test_without_a_change_the_horizon_is_the_truth(episodes, name):
    task, episode = episodes[name]  # passive, an agent's actions replayed, a moving camera
    rollout = resimulate(task, episode)
    assert np.array_equal(rollout.frames, episode.future_frames)
    assert np.array_equal(rollout.states, episode.truth.states[episode.context :])


def test_speed_plays_the_same_world_faster_or_slower(episodes):
    task, episode = episodes["drop_single"]
    true = episode.truth.states[episode.context - 1 :]
    slow, fast = resimulate(task, episode, speed=0.5), resimulate(task, episode, speed=2)
    np.testing.assert_allclose(slow.states[1::2, :, :2], true[1 : 1 + episode.horizon // 2, :, :2], atol=1e-9)
    np.testing.assert_allclose(
        fast.states[: episode.horizon // 2 - 1, :, :2], true[2 : episode.horizon : 2, :, :2], atol=1e-9
    )
    with pytest.raises(ValueError, match="whole number"):
        resimulate(task, episode, speed=1.5)


def test_changes_act_from_the_last_context_frame(episodes):
    task, episode = episodes["drop_single"]
    y = episode.truth.states[episode.context :, 0, 1]
    light = resimulate(task, episode, scale_gravity(0.5)).states[:, 0, 1]
    assert (light[:3] > y[:3]).all()  # falls slower from the first horizon frame on
    sunk = resimulate(task, episode, remove_solids).states[:, 0, 1]
    assert sunk[-1] < 0.0 < y.min()  # through the floor (its top is at 0.2 m)
    dead = resimulate(task, episode, scale_restitution(0.0)).states[:, 0, 1]
    assert dead.max() <= y.max() + 1e-9


def test_friction_includes_the_table_and_objects_can_pass_through_each_other(episodes):
    task, episode = episodes["push_single"]
    slippery = resimulate(task, episode, scale_friction(0.1))
    assert np.abs(slippery.states[:, 1, :2] - episode.truth.states[episode.context :, 1, :2]).max() > 0.01
    task, episode = episodes["collide_elastic"]
    reach = sum(o.size[0] for o in episode.objects[:2])
    gap = lambda states: np.linalg.norm(states[:, 0, :2] - states[:, 1, :2], axis=-1)  # noqa: E731
    ghosts = resimulate(task, episode, objects_pass_through).states
    assert gap(episode.truth.states[episode.context :]).min() > reach - 0.01 > gap(ghosts).min()
