"""A run with nothing to evaluate is an error, never an empty result."""

from __future__ import annotations

import pytest

from wmbench.errors import WmbenchError

from ..conftest import REPO


def _task_without_dev_episodes(tmp_path):
    text = (REPO / "tasks" / "dropping_objects" / "drop_single.yaml").read_text()
    path = tmp_path / "drop_no_dev.yaml"
    path.write_text(text.replace("name: drop_single", "name: drop_no_dev").replace("dev: 32", "dev: 0"))
    return path


@pytest.mark.parametrize("limit", ["0", "-3", "two"])
def test_run_limit_below_one_is_refused_by_the_parser(cli, tmp_path, limit, capsys):
    with pytest.raises(SystemExit) as info:
        cli("run", "--adapter", "copy_last", "--limit", limit, "--out", tmp_path / "o")
    err = capsys.readouterr().err
    assert info.value.code == 2 and "argument --limit: must be a positive integer" in err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("tasks", [",", " , "])
def test_run_with_no_task_named_is_refused(cli, tmp_path, tasks):
    code, _, err = cli("run", "--adapter", "copy_last", "--tasks", tasks, "--out", tmp_path / "o")
    assert code == 2 and err.strip() == f"wmbench: error: no tasks given: {tasks!r}"


def test_a_task_without_episodes_in_the_split_is_refused(cli, tmp_path):
    task = _task_without_dev_episodes(tmp_path)
    code, _, err = cli("run", "--adapter", "copy_last", "--tasks", task, "--out", tmp_path / "o", "--no-progress")
    assert code == 2 and err.strip() == "wmbench: error: nothing to run for task drop_no_dev: it has no dev episodes"
    assert not (tmp_path / "o" / "result.json").exists()


def test_the_library_refuses_limit_zero_and_no_tasks(tmp_path, cache):
    from wmbench.run import RunSpec, evaluate

    with pytest.raises(WmbenchError, match="--limit must be at least 1, got 0"):
        evaluate(RunSpec(adapter="copy_last", tasks=("drop_single",), limit=0), tmp_path / "a", cache)
    with pytest.raises(WmbenchError, match="nothing to run: no task selected"):
        evaluate(RunSpec(adapter="copy_last", tasks=()), tmp_path / "b", cache)
