"""The example GitHub Actions workflow (examples/ci/wmbench.yml): its commands run in
order (install aside), and its gate fails on a planted regression."""

from __future__ import annotations

import os

from .conftest import REPO

WORSE_ADAPTER = '''
import torch
from wmbench import Adapter, ContextBatch

class Dimmed(Adapter):
    """The last context frame at half brightness: a planted regression."""
    def predict(self, batch: ContextBatch) -> torch.Tensor:
        return (batch.frames[:, -1:] * 0.5).expand(-1, batch.horizon, -1, -1, -1)
'''


def _workflow_steps(env: dict[str, str]) -> list[tuple[str, str]]:
    """The example workflow's ``run`` steps in order, the install step aside."""
    import yaml

    workflow = yaml.safe_load((REPO / "examples" / "ci" / "wmbench.yml").read_text())
    env.update({k: str(v) for k, v in workflow["env"].items() if k not in env})
    steps = workflow["jobs"]["evaluate"]["steps"]
    return [(s["name"], s["run"]) for s in steps if "run" in s and s["name"] != "Install"]


def _run_workflow(workdir, overrides: dict[str, str], cache_dir) -> list[tuple[str, int, str]]:
    import subprocess
    import sys

    env = dict(os.environ, WMBENCH_CACHE=str(cache_dir), **overrides)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env["PATH"]
    done = []
    for name, command in _workflow_steps(env):
        proc = subprocess.run(
            ["bash", "-e", "-c", command], cwd=workdir, env=env, capture_output=True, text=True, timeout=600
        )
        done.append((name, proc.returncode, proc.stderr))
        if proc.returncode:
            break
    return done


def test_example_ci_workflow_passes_and_its_gate_catches_a_planted_regression(suite_runs, tmp_path, cache_dir):
    (tmp_path / "my_model.py").write_text(WORSE_ADAPTER)
    common = {"SELECTION": f"--suite {suite_runs / 'mini.yaml'}", "BASELINE": str(suite_runs / "copy_last")}
    passed = _run_workflow(tmp_path, dict(common, ADAPTER="copy_last", OUT="same"), cache_dir)
    assert [(n, c) for n, c, _ in passed] == [
        ("Run the smoke suite", 0),
        ("Draw the kept predictions", 0),
        ("Gate on the baseline", 0),
    ], passed
    assert list((tmp_path / "same" / "pictures" / "drop_single").glob("*.gif"))
    failed = _run_workflow(tmp_path, dict(common, ADAPTER="my_model.py:Dimmed", OUT="dimmed"), cache_dir)
    assert [(n, c) for n, c, _ in failed][:2] == [("Run the smoke suite", 0), ("Draw the kept predictions", 0)]
    name, code, err = failed[-1]
    assert (
        name == "Gate on the baseline"
        and code == 1
        and "regression beyond atol=1e-06, rtol=0.02 in: drop_single/" in err
    )
