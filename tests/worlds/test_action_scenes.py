"""Action-conditioned control: actions, alternative action sequences and their outcomes."""

from __future__ import annotations

import itertools
import subprocess
import sys

import numpy as np
import pytest
import yaml

from wmbench.errors import TaskFileError
from wmbench.tasks import get_task, load_task, task_from_dict
from wmbench.worlds import generate_episode, scene_for
from wmbench.worlds.rng import Rng

from ..conftest import REPO

SEEDS = (11, 12)


def with_ensemble(name: str, members: int):
    """A variant of a built-in task with fewer physical-variance members (faster to
    generate), under its own name: a released name@version keeps its definition."""
    source = get_task(name).source
    return task_from_dict(dict(yaml.safe_load(source.read_text()), ensemble=members, name=f"{name}_variant"), source)


@pytest.fixture(scope="module", params=["push_single", "push_clutter", "push_topple"])
def episodes(request):
    task = with_ensemble(request.param, 1)
    return task, [generate_episode(task, "dev", seed) for seed in SEEDS]


def test_actions_follow_the_contract(episodes):
    task, eps = episodes
    for e in eps:
        for rollout in [e.truth, *e.ensemble, *e.alternatives]:
            rollout.validate()
            assert rollout.actions.dtype == np.float32 and rollout.actions.shape == (task.length - 1, 2)
            assert np.linalg.norm(rollout.actions, axis=1).max() <= e.meta["params"]["agent_speed"] + 1e-5
        assert len(e.alternatives) == e.meta["params"]["alternatives"] == len(e.meta["alternatives"])
        assert e.meta["agent"] == 1 and e.meta["target"] == 2


def test_alternatives_share_the_context_exactly(episodes):
    task, eps = episodes
    split = task.context - 1
    for e in eps:
        for alt, described in zip(e.alternatives, e.meta["alternatives"]):
            assert described["diverges"] == split
            np.testing.assert_array_equal(alt.actions[:split], e.truth.actions[:split])
            for name in ("frames", "instance_ids", "states", "pixels", "visibility"):
                np.testing.assert_array_equal(getattr(alt, name)[: task.context], getattr(e.truth, name)[: task.context])
            assert not np.array_equal(alt.actions[split:], e.truth.actions[split:])


def test_alternatives_lead_to_different_futures_and_outcomes(episodes):
    task, eps = episodes
    for e in eps:
        rollouts = [e.truth, *e.alternatives]
        for a, b in itertools.combinations(rollouts, 2):
            # metres; pushes that drive the target into the same wall end a few centimetres apart
            assert np.abs(a.states[-1, :, :2] - b.states[-1, :, :2]).max() > 0.01
        outcomes = e.meta["outcome"]["alternatives"]
        assert len(set(np.round(outcomes, 6))) == len(outcomes)
        assert max(outcomes) - min(outcomes) > 0.1  # metres: some pushes help, some do not


def test_outcomes_are_the_targets_final_distance_to_the_goal(episodes):
    _, eps = episodes
    for e in eps:
        goal = np.array(e.meta["goal"])
        outcome = e.meta["outcome"]
        assert outcome["higher_is_better"] is False
        axes = {"target_goal_distance": 2, "target_goal_distance_x": 1}[outcome["name"]]  # side view: x only
        for rollout, value in zip([e.truth, *e.alternatives], [outcome["truth"], *outcome["alternatives"]]):
            assert value == pytest.approx(np.linalg.norm(rollout.states[-1, 1, :axes] - goal[:axes]))


def test_the_alternative_pushing_towards_the_goal_is_usually_best():
    task = with_ensemble("push_single", 0)
    ranks = []
    for seed in range(6):
        outcomes = generate_episode(task, "train", seed).meta["outcome"]["alternatives"]
        ranks.append(int(np.argsort(outcomes).tolist().index(0)))
    assert np.mean(ranks) < 1.0  # alternative 0 heads for the goal: mostly ranked first


def test_agent_follows_the_commanded_velocity(episodes):
    _, eps = episodes
    errors = []
    for e in eps:
        velocity = e.truth.states[1:, 0, 3:5]
        errors.append(np.linalg.norm(velocity - e.truth.actions, axis=1))
    assert np.median(np.concatenate(errors)) < 0.05  # m/s; contacts and force limits add the rest


def test_ensemble_replays_the_true_actions(episodes):
    _, eps = episodes
    e = eps[0]
    for member in e.ensemble:
        np.testing.assert_array_equal(member.actions, e.truth.actions)
    assert max(np.abs(m.states - e.truth.states).max() for m in e.ensemble) > 0


def test_table_friction_decelerates_a_sliding_object_at_mu_g():
    task = get_task("push_single")
    scene = scene_for(task)
    p = scene.sample(Rng(0))
    world = scene.build(p, Rng(1))
    agent, target = world.bodies[:2]
    agent.position = world.agent.position = (0.3, 0.3)
    target.position, target.velocity = (1.0, 1.0), (0.6, 0.8)  # 1 m/s, away from the agent
    rollout = world.rollout(12, task.fps, control=lambda t, w: np.zeros(2))
    speed = np.linalg.norm(rollout.states[:, 1, 3:5], axis=1)
    sliding = speed[1:] > p["friction"] * 9.81 / task.fps  # a whole frame of sliding
    decel = (speed[:-1] - speed[1:])[sliding] * task.fps
    assert sliding.sum() >= 2 and speed[-1] == pytest.approx(0, abs=1e-9)  # it comes to rest
    np.testing.assert_allclose(decel, p["friction"] * 9.81, rtol=0.02)


def test_side_view_agent_holds_itself_against_gravity_and_topples_boxes():
    task = with_ensemble("push_topple", 0)
    eps = [generate_episode(task, "dev", seed) for seed in SEEDS]
    scene = scene_for(task)
    p = scene.sample(Rng(0))
    world = scene.build(p, Rng(1))
    hover = world.rollout(16, task.fps, control=lambda t, w: np.zeros(2))
    assert np.abs(hover.states[:, 0, :2] - hover.states[0, 0, :2]).max() < 0.01  # metres, over a second
    turned = max(abs(r.states[-1, o.id - 1, 2] - r.states[0, o.id - 1, 2])
                 for e in eps for r in [e.truth, *e.alternatives] for o in e.objects if o.shape == "box")
    assert turned > 0.5  # radians: some push tips a box over


def test_hash_is_identical_in_another_process():
    task = get_task("push_single")
    code = ("from wmbench.tasks import get_task; from wmbench.worlds import generate_episode; "
            "print(generate_episode(get_task('push_single'), 'dev', 5).content_hash())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO,
                         env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}, timeout=120, check=True)
    assert out.stdout.strip() == generate_episode(task, "dev", 5).content_hash()


@pytest.mark.parametrize("params, words", [
    ({"alternatives": 0}, "below the minimum"),
    ({"agent_speed": [-1.0, 1.0]}, "below the minimum"),
    ({"agent_force": [5.0, 1e4]}, "above the maximum"),
    ({"shape": "cone"}, "not one of"),
])
def test_bad_parameters_name_file_and_field(tmp_path, params, words):
    data = yaml.safe_load(get_task("push_single").source.read_text())
    data["scene"]["params"].update(params)
    path = tmp_path / "push.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(TaskFileError) as info:
        scene_for(load_task(path))
    field = f"scene.params.{next(iter(params))}"
    assert str(path) in str(info.value) and f"'{field}'" in str(info.value) and words in str(info.value)


def test_batches_carry_the_context_and_future_actions(episodes):
    from wmbench.run.data import collate

    task, eps = episodes
    batch = collate(eps)
    assert batch.actions.shape == (len(eps), task.context + task.horizon - 1, 2)
    np.testing.assert_array_equal(batch.actions[0].numpy(), eps[0].truth.actions)
