"""Golden content hashes catch any change of episodes that was not given a new task version."""

from __future__ import annotations

import pytest

from wmbench.tasks import builtin_tasks, get_task

from ..golden_hashes import first_dev_hash, load

GOLDEN = load()
HOW = ("bump the task's version in its YAML file, add a changelog line for the new version, "
       "then regenerate the file with `python -m tests.golden_hashes --update`")


def test_every_task_has_a_golden_hash():
    missing = sorted(set(builtin_tasks()) - set(GOLDEN["tasks"]))
    assert not missing, f"no golden hash for {missing}: run `python -m tests.golden_hashes --update`"


@pytest.mark.parametrize("name", sorted(GOLDEN["tasks"]))
def test_first_dev_episode_matches_its_golden_hash(name):
    expected = GOLDEN["tasks"][name]
    if name not in builtin_tasks():
        pytest.fail(f"golden hash for removed task {name}: run `python -m tests.golden_hashes --update`")
    task = get_task(name)
    if task.id != expected["id"]:
        pytest.fail(f"{name} is now {task.id} but the golden hash is for {expected['id']}: "
                    "run `python -m tests.golden_hashes --update`")
    actual = first_dev_hash(name)
    assert actual["hash"] == expected["hash"], (
        f"episodes of {task.id} changed (golden hash recorded with engine {GOLDEN['engine']}): {HOW}")
