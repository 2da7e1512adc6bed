"""Every subcommand exists, has --help, and the listing commands work."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from ..conftest import REPO, run_subprocess

COMMANDS = [["tasks", "list"], ["tasks", "show"], ["tasks", "suites"], ["adapters", "list"], ["generate"],
            ["run"], ["export"], ["score"], ["leaderboard"], ["submit"], ["compare"], ["demo"], ["pictures"],
            ["bench", "generate"], ["bench", "speed"], ["physics-iq"], ["selftest"]]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_help(cli, command, capsys):
    with pytest.raises(SystemExit) as info:
        cli(*command, "--help")
    assert info.value.code == 0
    assert "usage: wmbench" in capsys.readouterr().out


def test_tasks_list_json(cli):
    code, out, _ = cli("tasks", "list", "--json")
    names = {t["name"] for t in json.loads(out)}
    assert code == 0 and "drop_single" in names


def test_tasks_show(cli):
    code, out, _ = cli("tasks", "show", "drop_single")
    assert code == 0 and "family: dropping_objects" in out


def test_adapters_list_names_the_extras(cli):
    code, out, _ = cli("adapters", "list", "--json")
    rows = {r["name"]: r for r in json.loads(out)}
    assert code == 0 and rows["copy_last"]["source"] == "built-in"
    assert (rows["cosmos"]["extras"], rows["vjepa2"]["extras"]) == (["cosmos"], ["vjepa"])
    code, out, _ = cli("adapters", "list")
    line = next(line for line in out.splitlines() if line.startswith("vjepa2 "))
    assert code == 0 and "wmbench.adapters.vjepa2:VJEPA2  [vjepa]" in line


def test_errors_exit_nonzero_in_a_real_process(cache_dir):
    proc = run_subprocess("tasks", "show", "nope_task", cache_dir=cache_dir)
    assert proc.returncode == 2 and proc.stderr.strip().startswith("wmbench: error: unknown task 'nope_task'")


def test_a_reader_that_goes_away_ends_the_command_quietly():
    """``wmbench tasks show drop_single | head -1``: no BrokenPipeError traceback."""
    reader, writer = os.pipe()
    os.close(reader)  # every write to the pipe now fails, as after `head` has exited
    try:
        proc = subprocess.run([sys.executable, "-m", "wmbench", "tasks", "show", "drop_single"], stdout=writer,
                              stderr=subprocess.PIPE, text=True, cwd=REPO, timeout=120)
    finally:
        os.close(writer)
    assert proc.returncode == 141 and proc.stderr == ""
