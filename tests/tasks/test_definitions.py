"""A task definition can never be served another definition's episodes: edited task
files are validated on every load and refused under a released or cached name@version."""

from __future__ import annotations

import json

import pytest
import yaml

from wmbench.errors import TaskFileError
from wmbench.tasks import builtin_tasks, get_task
from wmbench.tasks.released import released_definitions
from wmbench.worlds import EpisodeCache, check_task


def _copy(tmp_path, builtin: str, **changes) -> str:
    """A copy of a built-in task file with ``scene.params`` (or top-level fields) changed."""
    data = yaml.safe_load(get_task(builtin).source.read_text())
    for key, value in changes.items():
        if key == "version":
            data["changelog"][value] = "edited"
        if key in ("name", "version", "metrics", "fps"):
            data[key] = value
        else:
            data["scene"]["params"][key] = value
    path = tmp_path / f"{builtin}-edited.yaml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


def test_every_built_in_task_is_released_with_its_current_definition():
    released = released_definitions()
    for name in builtin_tasks():
        task = get_task(name)
        assert released.get(task.id) == task.definition_hash(as_written=True), (
            f"{task.id} is not released as defined: run `python -m tests.golden_hashes --update`"
        )


def test_overrides_do_not_change_the_written_definition():
    task = get_task("drop_single")
    small = task.with_overrides(resolution=32)
    assert small.definition_hash(as_written=True) == task.definition_hash(as_written=True) == task.definition_hash()
    assert small.definition_hash() != task.definition_hash()


@pytest.fixture(scope="module")
def warm(tmp_path_factory):
    """A cache that already holds the first dev episode of drop_single at 32 px."""
    cache = EpisodeCache(tmp_path_factory.mktemp("warm"))
    cache.get(get_task("drop_single").with_overrides(resolution=32), "dev", 1)
    return cache


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        pytest.param({"heigth": [0.4, 0.9]}, r"field 'scene\.params\.heigth': unknown parameter", id="misspelled"),
        pytest.param(
            {"restitution": [-0.5, 0.9]},
            r"field 'scene\.params\.restitution': -0\.5 is below the minimum",
            id="out-of-range",
        ),
        pytest.param(
            {"height": [0.5, 0.6]},
            r"field 'version': drop_single@\d+ differs from its released definition "
            r".*bump 'version'",
            id="edited-without-bump",
        ),
        pytest.param({"fps": 7}, r"field 'fps': must divide the physics rate 240 Hz", id="fps"),
    ],
)
def test_edited_copies_of_a_released_task_are_refused_with_or_without_a_warm_cache(tmp_path, warm, changes, message):
    task = get_task(_copy(tmp_path, "drop_single", **changes)).with_overrides(resolution=32)
    with pytest.raises(TaskFileError, match=message):
        check_task(task)
    for cache in (warm, EpisodeCache(tmp_path / "cold")):
        with pytest.raises(TaskFileError, match=message):
            cache.get(task, "dev", 1)


def test_a_new_version_of_an_edited_task_is_a_new_definition(tmp_path, warm):
    task = get_task(_copy(tmp_path, "drop_single", height=[0.5, 0.6], version=99)).with_overrides(resolution=32)
    original = get_task("drop_single").with_overrides(resolution=32)
    assert warm.path(task, 1) != warm.path(original, 1)
    assert warm.get(task, "dev", 1).content_hash() != warm.get(original, "dev", 1).content_hash()


def test_an_unreleased_task_edited_under_the_same_version_is_refused_by_the_cache(tmp_path):
    cache = EpisodeCache(tmp_path / "cache")
    first = get_task(_copy(tmp_path, "drop_single", name="my_drop")).with_overrides(resolution=32)
    cache.get(first, "dev", 1)
    cache.get(first.with_overrides(resolution=24), "dev", 1)  # another rendering of the same definition
    edited = get_task(_copy(tmp_path, "drop_single", name="my_drop", height=[0.5, 0.6]))
    with pytest.raises(TaskFileError, match=r"the cache holds episodes of another definition of my_drop@\d+ "):
        cache.get(edited.with_overrides(resolution=32), "dev", 1)


@pytest.mark.parametrize(
    "changes",
    [
        {"heigth": [0.4, 0.9]},
        {"restitution": [-0.5, 0.9]},
        {"height": [0.5, 0.6]},
        {"metrics": ["mse", "not_a_metric"]},
    ],
)
def test_the_command_line_gives_one_line_and_exit_2(tmp_path, cli, changes):
    path = _copy(tmp_path, "drop_single", **changes)
    for command in (
        ["tasks", "show", path],
        [
            "run",
            "--adapter",
            "copy_last",
            "--tasks",
            path,
            "--limit",
            "1",
            "--resolution",
            "32",
            "--out",
            tmp_path / "out",
            "--no-progress",
        ],
    ):
        code, out, err = cli(*command)
        assert code == 2, (command, out, err)
        assert err.count("\n") == 1 and path in err, err


def test_the_released_file_is_canonical_json():
    from wmbench._resources import tasks_dir

    text = (tasks_dir() / "released.json").read_text()
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n"
