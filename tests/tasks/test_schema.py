"""Task files: loading, validation errors that name file and field, seeds and splits."""

from __future__ import annotations

import pytest
import yaml

from wmbench.errors import TaskFileError, UnknownNameError, WmbenchError
from wmbench.tasks import builtin_tasks, episode_seed, get_suite, get_task, load_task, select, split_seeds
from wmbench.tasks.params import Choice, Fixed, IntRange, Uniform
from wmbench.worlds import scene_for

VALID = yaml.safe_load(get_task("drop_single").source.read_text())


def write(tmp_path, data, name="task.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data) if not isinstance(data, str) else data)
    return path


def test_builtin_tasks_load_and_their_scenes_validate():
    assert "drop_single" in builtin_tasks()
    for name in builtin_tasks():
        task = get_task(name)
        assert task.name == name and task.version >= 1
        scene_for(task)  # parameter bounds checked


def test_parameter_forms(tmp_path):
    data = dict(
        VALID,
        scene={
            "type": "drop",
            "params": {"n_objects": [1, 3], "size": [0.1, 0.2], "shape": {"choice": ["circle", "box"]}, "mass": 2.0},
        },
    )
    task = load_task(write(tmp_path, data))
    assert task.params["n_objects"] == IntRange(1, 3)
    assert task.params["size"] == Uniform(0.1, 0.2)
    assert task.params["shape"] == Choice(("circle", "box"))
    assert task.params["mass"] == Fixed(2.0)


@pytest.mark.parametrize(
    "change, field, words",
    [
        ({"version": None}, "version", "is required"),
        ({"family": "cooking"}, "family", "not one of"),
        ({"fps": -3}, "fps", "positive"),
        ({"context": 0}, "context", "from 1 to 256"),
        ({"context": 100000}, "context", "from 1 to 256, got 100000"),
        ({"horizon": 10**9}, "horizon", "from 1 to 2048"),
        ({"resolution": 8192}, "resolution", "from 16 to 1024"),
        ({"fps": 10**6}, "fps", "positive number up to 240"),
        ({"fps": float("nan")}, "fps", "positive number up to 240"),
        ({"resolution": 1024, "horizon": 1000}, "horizon", "GiB of frames, over the 2 GiB limit"),
        ({"colour": "red"}, "colour", "unknown field"),
        ({"metrics": []}, "metrics", "non-empty"),
        ({"episodes": {"holdout": 3}}, "episodes", "splits"),
        ({"scene": {"type": "drop", "params": {"size": [0.3, 0.1]}}}, "scene.params.size", "inverted"),
        ({"scene": {"type": "drop", "params": {"size": [0.2, 0.2]}}}, "scene.params.size", "empty"),
        ({"scene": {"type": "drop", "params": {"size": [0.1]}}}, "scene.params.size", "[lo, hi]"),
        ({"changelog": {7: "x"}}, "changelog", "current version"),
    ],
)
def test_malformed_task_names_file_and_field(tmp_path, change, field, words):
    data = {k: v for k, v in {**VALID, **change}.items() if v is not None}
    path = write(tmp_path, data)
    with pytest.raises(TaskFileError) as info:
        load_task(path)
    message = str(info.value)
    assert str(path) in message and f"'{field}'" in message and words in message


@pytest.mark.parametrize(
    "params, field, words",
    [
        ({"mass": [-1.0, 2.0]}, "scene.params.mass", "below the minimum"),
        ({"wobble": 3}, "scene.params.wobble", "unknown parameter"),
        ({"shape": "cone"}, "scene.params.shape", "not one of"),
    ],
)
def test_scene_parameter_bounds(tmp_path, params, field, words):
    path = write(tmp_path, dict(VALID, scene={"type": "drop", "params": params}))
    with pytest.raises(TaskFileError) as info:
        scene_for(load_task(path))
    assert str(path) in str(info.value) and field in str(info.value) and words in str(info.value)


def test_unknown_scene_suggests(tmp_path):
    path = write(tmp_path, dict(VALID, scene={"type": "dorp"}))
    with pytest.raises(TaskFileError, match=r"scene.type.*did you mean 'drop'"):
        scene_for(load_task(path))


def test_invalid_yaml_names_line(tmp_path):
    path = write(tmp_path, "name: [unclosed\nversion: 1\n")
    with pytest.raises(TaskFileError, match=r"not valid YAML at line"):
        load_task(path)


def test_unknown_task_did_you_mean():
    with pytest.raises(UnknownNameError, match="did you mean 'drop_single'"):
        get_task("drop_singel")


def test_seeds_are_disjoint_across_splits_and_test_needs_secret(monkeypatch):
    task = get_task("drop_single")
    monkeypatch.delenv("WMBENCH_TEST_SECRET", raising=False)
    train, dev = set(split_seeds(task, "train")), set(split_seeds(task, "dev"))
    test = set(split_seeds(task, "test", secret="s3cret"))
    assert len(train) == task.episodes["train"] and len(dev) == task.episodes["dev"]
    assert not (train & dev) and not (train & test) and not (dev & test)
    assert set(split_seeds(task, "test", secret="other")) != test
    with pytest.raises(Exception, match="test split needs a secret"):
        episode_seed(task, "test", 0)


def test_smoke_suite():
    suite = get_suite("smoke")
    assert suite.split == "dev" and suite.tasks and all(t in builtin_tasks() for t in suite.tasks)


def test_surprise_suite_holds_the_violation_of_expectation_tasks():
    suite = get_suite("surprise")
    assert suite.split == "dev" and suite.episodes is None and suite.version == 1
    assert set(suite.tasks) == {n for n in builtin_tasks() if get_task(n).family == "violation_of_expectation"}


def test_select_chooses_as_a_run_does():
    smoke = get_suite("smoke")
    names, suite, split, limit = select(None, None, None, None)
    assert (names, suite, split, limit) == (smoke.tasks, smoke, "dev", smoke.episodes)
    assert select("core", None, "train", 3)[1:] == (get_suite("core"), "train", 3)
    assert select(None, "drop_single,push_single", None, None) == (("drop_single", "push_single"), None, "dev", None)
    assert select("core", ["drop_single"], "test", 5) == (("drop_single",), None, "test", 5)
    with pytest.raises(WmbenchError, match="no tasks given"):
        select(None, ",", None, None)
