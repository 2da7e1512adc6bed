"""Shared fixtures: an isolated episode cache and a way to call the command line."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session", autouse=True)
def quick_speed_protocol():
    """In-process runs time a few calls, not a second of each kind, and judge no spread
    from so few: the speed protocol's own tests and benchmarks give their protocol."""
    from wmbench.run import speed

    default = speed.DEFAULT_PROTOCOL
    speed.DEFAULT_PROTOCOL = speed.SpeedProtocol(warmup=1, min_calls=3, min_time_s=0.0, max_relative_iqr=1e9)
    yield
    speed.DEFAULT_PROTOCOL = default


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> Path:
    """One episode cache for the whole session (episodes are deterministic)."""
    return tmp_path_factory.mktemp("episode-cache")


@pytest.fixture
def cache(cache_dir):
    from wmbench.worlds import EpisodeCache

    return EpisodeCache(cache_dir)


@pytest.fixture
def cli(cache_dir, capsys, monkeypatch):
    """Run ``wmbench ARGS`` in-process: returns ``(exit code, stdout, stderr)``."""
    from wmbench.cli import main

    monkeypatch.setenv("WMBENCH_CACHE", str(cache_dir))

    def run(*args: str) -> tuple[int, str, str]:
        code = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def run_and_record(spec, out, cache, execution=None):
    """``wmbench run`` in-process: evaluate ``spec`` into ``out`` and write its result; returns the record."""
    from wmbench.results import write_result
    from wmbench.run import Execution, evaluate

    return write_result(evaluate(spec, out, cache, execution or Execution(progress=False)))


def run_subprocess(*args: str, cache_dir: Path, timeout: float = 300, **kwargs) -> subprocess.CompletedProcess:
    """``python -m wmbench ARGS`` in a fresh interpreter."""
    env = dict(os.environ, WMBENCH_CACHE=str(cache_dir), PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "wmbench", *map(str, args)], capture_output=True,
                          text=True, env=env, timeout=timeout, cwd=REPO, **kwargs)


HAS_WANDB = importlib.util.find_spec("wandb") is not None


@pytest.fixture(scope="session")
def suite_runs(tmp_path_factory, cache_dir) -> Path:
    """A one-task suite (``mini.yaml``: drop_single, 1 dev episode, version 3) run by
    copy_last (logged to W&B offline when wandb is installed), linear_extrapolation and
    the oracle into ``<root>/<adapter>``, each keeping its prediction."""
    from wmbench.results import write_result
    from wmbench.run import Execution, RunSpec, evaluate
    from wmbench.worlds import EpisodeCache

    root = tmp_path_factory.mktemp("suite-runs")
    suite = root / "mini.yaml"
    suite.write_text("name: mini\nversion: 3\nsplit: dev\nepisodes: 1\ntasks: [drop_single]\n")
    cache = EpisodeCache(cache_dir)
    plan = {"copy_last": "wandb" if HAS_WANDB else "none", "linear_extrapolation": "none", "oracle": "none"}
    with pytest.MonkeyPatch.context() as env:
        env.setenv("WANDB_MODE", "offline")
        env.setenv("WANDB_SILENT", "true")
        for name, logger in plan.items():
            spec = RunSpec(adapter=name, tasks=("drop_single",), limit=1, suite=str(suite), suite_version=3)
            log = evaluate(spec, root / name, cache, Execution(progress=False, logger=logger, save_predictions=1))
            log.publish(write_result(log), cache)
    return root
