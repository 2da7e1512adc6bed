"""Every bad value and every adapter failure ends in one line naming it, never a
traceback: exit 2 for bad input, 3 for the adapter."""

from __future__ import annotations

import json
import time

import pytest
import torch

from wmbench.tasks import get_task

from ..conftest import REPO

BROKEN = REPO / "tests" / "fakes" / "broken.py"
SLOW = REPO / "tests" / "fakes" / "slow.py"
RUN = ("run", "--adapter", "copy_last", "--tasks", "drop_single", "--limit", "1", "--no-progress", "--logger", "none")


@pytest.mark.parametrize(
    "option, value, words",
    [
        ("--batch-size", "0", "must be a positive integer, got 0"),
        ("--num-nodes", "0", "must be a positive integer, got 0"),
        ("--num-workers", "-1", "must be an integer >= 0, got -1"),
        ("--timeout", "0", "must be a number > 0, got 0"),
        ("--speed-budget", "-5", "must be a finite number >= 0, got -5"),
        ("--resolution", "zero", "must be a positive integer, got 'zero'"),
        ("--limit", "-3", "must be a positive integer, got -3"),
    ],
)
def test_bad_numbers_are_refused_by_the_parser(cli, tmp_path, capsys, option, value, words):
    with pytest.raises(SystemExit) as info:
        cli(*RUN, "--out", tmp_path / "o", option, value)
    err = capsys.readouterr().err
    assert info.value.code == 2 and f"argument {option}: {words}" in err and "Traceback" not in err


@pytest.mark.parametrize(
    "option, value, words",
    [
        ("--precision", "17", "Precision '17' is invalid. Allowed precision values:"),
        ("--strategy", "nonsense", "invalid strategy name"),
        ("--devices", "0", "`Trainer(devices=0)` value is not a valid input"),
        pytest.param(
            "--accelerator",
            "gpu",
            "No supported gpu backend found",
            marks=pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU"),
        ),
    ],
)
def test_settings_lightning_refuses_are_one_line_before_anything_runs(cli, tmp_path, option, value, words):
    code, _, err = cli(*RUN, "--out", tmp_path / "o", option, value)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert err.startswith("wmbench: error: Lightning cannot run with ") and f"{option} {value}" in err
    assert words in err and not (tmp_path / "o").exists()


@pytest.mark.parametrize("precision", ["bf16-true", "16-true", "64-true"])
def test_precisions_that_would_convert_the_scoring_are_refused_in_one_line(cli, tmp_path, precision):
    code, _, err = cli(*RUN, "--out", tmp_path / "o", "--precision", precision)
    assert code == 2 and len(err.strip().splitlines()) == 1 and not (tmp_path / "o").exists()
    assert err.startswith(
        f"wmbench: error: --precision {precision} would make Lightning convert the whole "
        "evaluation, the scoring included; wmbench applies precision to the adapter's calls only"
    )


@pytest.mark.parametrize(
    "cls, words",
    [
        ("InitFails", "adapter 'InitFails': __init__ raised FileNotFoundError: [Errno 2] No such file or directory"),
        (
            "SetupFails",
            "adapter 'SetupFails', task 'drop_single': setup() raised RuntimeError: no weights on this machine",
        ),
        ("WrongDevice", "predicted frames are on meta, expected cpu (the device of the context frames)"),
    ],
)
def test_adapter_failures_outside_predict_are_one_line_exit_3(cli, tmp_path, cls, words):
    code, _, err = cli(*RUN[:2], f"{BROKEN}:{cls}", *RUN[3:], "--out", tmp_path / "o")
    assert code == 3 and "Traceback" not in err and err.count("wmbench: error:") == 1
    assert err.strip().splitlines()[-1].startswith("wmbench: error: ") and words in err


def test_a_config_the_adapter_does_not_take_is_bad_input(cli, tmp_path):
    code, _, err = cli(*RUN, "--out", tmp_path / "o", "--adapter-config", '{"size": 3}')
    assert code == 2 and "adapter 'copy_last' rejected its config {'size': 3}" in err


def test_a_stuck_call_ends_at_the_timeout_as_a_recorded_failure(cli, tmp_path):
    start = time.perf_counter()
    code, _, err = cli(
        *RUN[:2],
        f"{SLOW}:Sleeper",
        *RUN[3:],
        "--adapter-config",
        '{"seconds": 30}',
        "--timeout",
        "1",
        "--out",
        tmp_path / "o",
    )
    assert time.perf_counter() - start < 25  # the call sleeps 30 s
    episode = f"{get_task('drop_single').id}/dev/"
    assert code == 3 and err.startswith(f"wmbench: error: adapter 'Sleeper', task 'drop_single', episode {episode}")
    assert err.strip().endswith("predict() did not return within the 1 s timeout (--timeout)")
    rows = [json.loads(x) for x in (tmp_path / "o" / "rows" / "rank-0.jsonl").read_text().splitlines()]
    assert [r["status"] for r in rows] == ["failed"] and "1 s timeout" in rows[0]["error"]


def test_with_skip_timed_out_episodes_are_failures_and_speed_says_why(cli, tmp_path):
    code, out, _ = cli(
        *RUN[:2],
        f"{SLOW}:Sleeper",
        *RUN[3:],
        "--adapter-config",
        '{"seconds": 30}',
        "--timeout",
        "1",
        "--on-error",
        "skip",
        "--out",
        tmp_path / "o",
    )
    record = json.loads((tmp_path / "o" / "result.json").read_text())
    assert code == 0 and record["aggregates"]["drop_single"]["failed"] == 1
    speed = record["speed"]["drop_single"]
    assert speed["measured"] is False and "did not return within the 1 s timeout" in speed["reason"]


@pytest.mark.parametrize(
    "old, new, words",
    [
        ("fps: 30", "fps: 7", "field 'fps': must divide the physics rate 240 Hz, got 7.0"),
        (
            "gravity_error",
            "gravity_eror",
            "field 'metrics': unknown metric 'gravity_eror'; did you mean 'gravity_error'",
        ),
    ],
)
def test_a_task_file_with_bad_values_is_refused_when_loaded(cli, tmp_path, old, new, words):
    text = (REPO / "tasks" / "dropping_objects" / "drop_single.yaml").read_text()
    path = tmp_path / "drop_bad.yaml"
    path.write_text(text.replace("name: drop_single", "name: drop_bad").replace(old, new))
    code, _, err = cli("tasks", "show", path)
    assert code == 2 and err.strip().startswith(f"wmbench: error: {path}: {words}") and len(err.splitlines()) == 1
