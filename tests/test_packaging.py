"""The wheel carries the task files and baselines, and an installed wmbench finds them."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile

import pytest

from .conftest import REPO


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(REPO)],
                          capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        pytest.fail(f"building the wheel failed:\n{proc.stderr[-2000:]}")
    (path,) = out.glob("wmbench-*.whl")
    return path


def test_wheel_contains_tasks_and_baselines(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert "wmbench/_data/tasks/dropping_objects/drop_single.yaml" in names
    assert "wmbench/_data/tasks/suites/smoke.yaml" in names
    assert "wmbench/baselines/copy_last.py" in names and "wmbench/baselines/oracle.py" in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "wmbench = wmbench.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_installed_layout_finds_tasks_and_baselines(wheel, tmp_path):
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    code = ("import wmbench, wmbench._resources as r; from wmbench.tasks import get_suite, get_task; "
            "from wmbench.adapters import resolve; "
            f"assert str(r.tasks_dir()).startswith({str(site)!r}), r.tasks_dir(); "
            "get_task('drop_single'); get_suite('smoke'); print(resolve('oracle').__name__)")
    env = dict(os.environ, PYTHONPATH=str(site))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "Oracle"
