"""Loggers (CSV by default, TensorBoard when installed, none) and the final summary table."""

from __future__ import annotations

import csv
import importlib.util

import pytest

from wmbench.results import load_result

TENSORBOARD = any(importlib.util.find_spec(m) for m in ("tensorboard", "tensorboardX"))


def _run(cli, out, *extra):
    return cli("run", "--adapter", "copy_last", "--tasks", "drop_single", "--limit", 2, "--out", out,
               "--no-progress", *extra)


def test_csv_log_and_summary_table(cli, tmp_path):
    code, stdout, err = _run(cli, tmp_path / "out")
    assert code == 0, err
    result = load_result(tmp_path / "out").record
    with open(tmp_path / "out" / "logs" / "drop_single" / "version_0" / "metrics.csv") as handle:
        logged = next(csv.DictReader(handle))
    mean = result["aggregates"]["drop_single"]["metrics"]["psnr"]["mean"]
    assert float(logged["drop_single/psnr"]) == pytest.approx(mean, rel=1e-6)
    lines = stdout.strip().splitlines()
    header = [c.strip() for c in lines[1].strip("|").split("|")]
    assert header == ["task", "episodes", "failed", "coherence", "fidelity", "physics", "frames/s", "step p50 ms"]
    cells = [c.strip() for c in lines[3].strip("|").split("|")]
    assert cells[:3] == ["drop_single", "2", "0"]
    assert [float(cells[i]) for i in (3, 4, 5)] == [0.0, 0.0, 0.0]  # copy_last: the frozen world, 0 everywhere


@pytest.mark.skipif(TENSORBOARD, reason="tensorboard is installed")
def test_tensorboard_without_the_package_is_a_one_line_error(cli, tmp_path):
    code, _, err = _run(cli, tmp_path / "out", "--logger", "tensorboard")
    assert code == 2
    assert err.strip() == "wmbench: error: logger 'tensorboard' needs the tensorboard package: pip install tensorboard"


@pytest.mark.skipif(not TENSORBOARD, reason="tensorboard is not installed")
def test_tensorboard_writes_event_files(cli, tmp_path):
    code, _, err = _run(cli, tmp_path / "out", "--logger", "tensorboard")
    assert code == 0, err
    assert list((tmp_path / "out" / "logs" / "drop_single").rglob("events.out.tfevents.*"))
