"""Violation of expectation: each impossible twin equals its possible clip up to the onset."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import yaml

from wmbench.errors import TaskFileError
from wmbench.tasks import get_task, load_task, task_from_dict
from wmbench.worlds import generate_episode, scene_for
from wmbench.worlds.scenes.voe import VIOLATIONS

from ..conftest import REPO

TASK_OF = {"vanish": "voe_permanence", "teleport": "voe_permanence", "pass_through": "voe_solidity_gravity",
           "wrong_fall": "voe_solidity_gravity", "shape_change": "voe_shape_colour",
           "colour_change": "voe_shape_colour"}
ARRAYS = ("frames", "instance_ids", "states", "pixels", "visibility")


def task_with(violation: str, **changes):
    """A variant of the built-in task of ``violation`` with only that violation (and no
    ensemble), under its own name: a released name@version keeps its definition."""
    source = get_task(TASK_OF[violation]).source
    data = yaml.safe_load(source.read_text())
    data["scene"]["params"]["violation"] = violation
    data.update(ensemble=0, name=f"{TASK_OF[violation]}_variant", **changes)
    return task_from_dict(data, source)


@pytest.fixture(scope="module", params=VIOLATIONS)
def pairs(request):
    task = task_with(request.param)
    return request.param, task, [generate_episode(task, "dev", seed) for seed in (1, 2, 3)]


def test_every_violation_is_covered_by_a_builtin_task():
    covered = set()
    for name in set(TASK_OF.values()):
        task = get_task(name)
        assert task.family == "violation_of_expectation"
        covered |= set(task.params["violation"].options)
    assert covered == set(VIOLATIONS)


def test_metadata_says_which_clip_is_which(pairs):
    violation, task, eps = pairs
    for e in eps:
        assert e.meta["truth"] == {"kind": "possible"}
        assert len(e.alternatives) == len(e.meta["alternatives"]) == 1
        described = e.meta["alternatives"][0]
        assert described["kind"] == "impossible" and described["violation"] == violation
        assert task.context <= described["onset"] <= described["visible_onset"] < task.length
        e.alternatives[0].validate()


def test_twins_are_identical_before_the_onset_and_differ_from_it(pairs):
    _, _, eps = pairs
    for e in eps:
        twin, onset = e.alternatives[0], e.meta["alternatives"][0]["onset"]
        visible = e.meta["alternatives"][0]["visible_onset"]
        for name in ARRAYS:
            a, b = getattr(e.truth, name), getattr(twin, name)
            assert a[:onset].tobytes() == b[:onset].tobytes(), name
        assert any(getattr(e.truth, n)[onset].tobytes() != getattr(twin, n)[onset].tobytes() for n in ARRAYS)
        assert e.truth.frames[:visible].tobytes() == twin.frames[:visible].tobytes()
        assert not np.array_equal(e.truth.frames[visible], twin.frames[visible])


def test_the_twin_shows_its_violation(pairs):
    violation, task, eps = pairs
    for e in eps:
        truth, twin = e.truth, e.alternatives[0]
        described = e.meta["alternatives"][0]
        onset, end = described["onset"], task.length
        x, y = truth.states[:, 0, 0], truth.states[:, 0, 1]
        tx, ty = twin.states[:, 0, 0], twin.states[:, 0, 1]
        if violation == "vanish":
            assert np.isnan(twin.states[onset:, 0]).all() and np.isnan(twin.pixels[onset:, 0]).all()
            assert (twin.visibility[onset - 1:, 0] == 0).all() and not (twin.instance_ids[onset:] == 1).any()
            assert truth.visibility[-1, 0] > 0  # the possible ball comes out again
        elif violation == "teleport":
            step = np.abs(np.diff(x)).max()
            assert abs(tx[onset] - tx[onset - 1]) > 0.2 > 2 * step  # metres, against a normal frame's motion
            assert tx[onset] - x[onset] == pytest.approx(described["jump"], abs=1e-9)
        elif violation == "pass_through":
            v0 = truth.states[onset - 1, 0, 3]
            assert (np.sign(truth.states[end - 1, 0, 3]) == -np.sign(v0))  # the possible ball bounces back
            assert (np.sign(twin.states[onset:, 0, 3]) == np.sign(v0)).all()  # the impossible one goes on
            assert np.sign(tx[-1] - x[-1]) == np.sign(v0)
        elif violation == "wrong_fall":
            assert y[-1] < y[onset - 1] - 0.1 and ty[-1] > ty[onset - 1] + 0.1
            assert (np.diff(twin.states[onset:, 0, 4]) > 0).all()  # accelerating upwards
        elif violation == "shape_change":
            assert twin.states[onset, 0, :2] == pytest.approx(truth.states[onset, 0, :2], abs=0.02)
            disc, square = (truth.instance_ids[onset] == 1).sum(), (twin.instance_ids[onset] == 1).sum()
            assert square == pytest.approx(disc, rel=0.15)  # same area
            assert np.prod(described["size"]) == pytest.approx(np.pi * e.meta["params"]["size"] ** 2)
            colour = twin.frames[onset][twin.instance_ids[onset] == 1].astype(int)
            assert (np.abs(colour - e.objects[0].colour).sum(1) < 30).mean() > 0.5  # same colour
        elif violation == "colour_change":
            for name in ("instance_ids", "states", "pixels", "visibility"):
                np.testing.assert_array_equal(getattr(twin, name), getattr(truth, name))  # physics unchanged
            mask = twin.instance_ids[onset:] == 1
            colour = twin.frames[onset:][mask].astype(int)
            assert (np.abs(colour - described["colour"]).sum(1) < 30).mean() > 0.5


def test_directions_and_onsets_vary_across_episodes():
    task = get_task("voe_permanence")
    eps = [generate_episode(task, "train", seed) for seed in range(8)]
    assert {e.meta["params"]["direction"] for e in eps} == {-1, 1}
    assert len({e.meta["alternatives"][0]["onset"] for e in eps}) > 2
    assert {e.meta["params"]["violation"] for e in eps} == {"vanish", "teleport"}


def test_hash_is_identical_in_another_process():
    code = ("from wmbench.tasks import get_task; from wmbench.worlds import generate_episode; "
            "print(generate_episode(get_task('voe_solidity_gravity'), 'dev', 4).content_hash())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO,
                         env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}, timeout=120, check=True)
    assert out.stdout.strip() == generate_episode(get_task("voe_solidity_gravity"), "dev", 4).content_hash()


@pytest.mark.parametrize("change, field, words", [
    ({"scene": {"type": "voe", "params": {"violation": "explode"}}}, "scene.params.violation", "not one of"),
    ({"scene": {"type": "voe", "params": {"speed": [0.2, 1.0]}}}, "scene.params.speed", "below the minimum"),
    ({"scene": {"type": "voe", "params": {"occluder_width": [0.4, 3.0]}}}, "scene.params.occluder_width",
     "above the maximum"),
    ({"horizon": 10}, "horizon", "needs at least 15 frames"),
    ({"scene": {"type": "voe", "params": {"violation": "vanish", "size": 0.15, "occluder_width": 0.3}}},
     "scene.params.occluder_width", "cannot hide a ball"),
    ({"fps": 60}, "scene.params.occluder_width", "too long to come out"),
])
def test_bad_parameters_name_file_and_field(tmp_path, change, field, words):
    data = dict(yaml.safe_load(get_task("voe_permanence").source.read_text()), **change)
    path = tmp_path / "voe.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(TaskFileError) as info:
        scene_for(load_task(path))
    assert str(path) in str(info.value) and f"'{field}'" in str(info.value) and words in str(info.value)


def test_a_vanished_ball_survives_the_cache_roundtrip(tmp_path):
    from wmbench.worlds import Episode

    episode = generate_episode(task_with("vanish"), "dev", 1)
    assert np.isnan(episode.alternatives[0].states).any()
    path = tmp_path / "e.npz"
    episode.save(path)
    loaded = Episode.load(path)
    assert loaded.content_hash() == episode.content_hash()
    np.testing.assert_array_equal(loaded.alternatives[0].states, episode.alternatives[0].states)
    assert loaded.meta["alternatives"] == episode.meta["alternatives"]
