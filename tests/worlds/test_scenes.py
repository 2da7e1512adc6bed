"""Scene parameters: bad values in a task file name the file and the field."""

from __future__ import annotations

import pytest
import yaml

from wmbench.errors import TaskFileError
from wmbench.tasks import get_task, load_task
from wmbench.worlds import SCENES, scene_for


def task_file(tmp_path, name: str, **params):
    data = yaml.safe_load(get_task(name).source.read_text())
    data["scene"]["params"].update(params)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize("task, params, field, words", [
    ("occluder_pass", {"occluder_width": [0.5, 3.0]}, "occluder_width", "larger than the 2.0 m view"),
    ("occluder_stop", {"occluder_height": 2.5}, "occluder_height", "larger than the 2.0 m view"),
    ("occluder_pass", {"occluder_width": 0.1}, "occluder_width", "cannot hide"),
    ("occluder_collision", {"occluder_width": 0.3}, "occluder_width", "cannot hide"),
    ("occluder_collision", {"occluder_height": 0.2, "impact": [-0.8, 0.1]}, "occluder_height", "cannot hide"),
    ("occluder_stop", {"occluder_height": [0.1, 0.6]}, "occluder_height", "cannot hide"),
    ("occluder_collision", {"delay": [0.3, 0.5]}, "delay", "already behind the occluder"),
    ("collide_elastic", {"mass": -1.0}, "mass", "below the minimum"),
    ("drop_onto", {"base_mass": [-2.0, 1.0]}, "base_mass", "below the minimum"),
    ("collide_elastic", {"colour": "red"}, "colour", "unknown parameter"),
    ("domino_chain", {"n_objects": 12}, "n_objects", "do not fit"),
    ("block_stack", {"n_objects": 12, "height": 0.3}, "n_objects", "taller than the view"),
    ("drop_onto", {"height": 0.8, "n_base": 6, "base_size": 0.15}, "height", "above the view"),
    ("pendulum_long", {"length": [0.5, 1.9]}, "length", "leaves the view"),
    ("pendulum_long", {"backdrop": "yes"}, "backdrop", "is not one of"),
    ("revisit_gap", {"length": 1.7}, "length", "hits the floor"),
    ("revisit_gap", {"gap": [3.0, 90.0]}, "gap", "before the episode ends"),
    ("revisit_gap", {"gap": [1.0, 10.0]}, "gap", "below the minimum"),
    ("revisit_gap", {"gap": [2.1, 10.0], "pan": 2.0}, "gap", "two pans"),
    ("ramp_slide_roll", {"angle": [30.0, 80.0]}, "angle", "above the maximum"),
    ("out_of_view", {"exit": "bottom"}, "exit", "is not one of"),
])
def test_bad_scene_parameters_name_the_file_and_field(tmp_path, task, params, field, words):
    path = task_file(tmp_path, task, **params)
    with pytest.raises(TaskFileError) as info:
        scene_for(load_task(path))
    message = str(info.value)
    assert str(path) in message and f"'scene.params.{field}'" in message and words in message


def test_inverted_range_is_refused_when_reading(tmp_path):
    path = task_file(tmp_path, "occluder_stop", friction=[0.6, 0.2])
    with pytest.raises(TaskFileError, match="scene.params.friction.*inverted"):
        load_task(path)


def test_every_scene_documents_its_parameters():
    for name, scene in SCENES.items():
        assert scene.__doc__, name
        for param, bound in scene.params.items():
            assert bound.doc, f"{name}.{param}"


def test_every_task_and_scene_parameter_is_documented():
    from wmbench.tasks import builtin_tasks

    from ..conftest import REPO

    text = (REPO / "docs" / "tasks.md").read_text()
    families = ("rigid_bodies", "dropping_objects", "partial_observability", "long_horizon")
    tasks = [get_task(name) for name in builtin_tasks()]
    for task in tasks:
        if task.family in families:
            assert f"### {task.name}\n" in text and f"(images/{task.name}.png)" in text, task.name
    for name in {task.scene for task in tasks if task.family in families}:
        scene = SCENES[name]
        section = text.split(f"### Scene `{name}`")[1].split("### ")[0]
        for param in scene.params:
            assert f"| `{param}` |" in section, f"{name}.{param}"
