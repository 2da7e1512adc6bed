"""The same episodes on every machine: golden hashes under other BLAS kernels, SIMD
levels and thread counts, and the generator stack's checks."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from wmbench.errors import GeneratorStackError
from wmbench.worlds import stack

from ..conftest import REPO
from ..golden_hashes import load

#: NumPy's dispatch targets above AVX2, and above the x86-64-v2 baseline, in the names
#: of NumPy 2.4+ and of earlier releases (unknown names are ignored).
ABOVE_AVX2 = "X86_V4 AVX512F AVX512CD AVX512_KNL AVX512_SKX AVX512_CLX AVX512_CNL AVX512_ICL AVX512_SPR"
ABOVE_BASELINE = f"{ABOVE_AVX2} X86_V3 AVX AVX2 FMA3 F16C"

#: Each configuration changes what could change floating-point results; together they
#: cover four OpenBLAS kernels, three SIMD levels and one and two threads.
CONFIGURATIONS = {
    "Haswell kernel, 1 thread": {"OPENBLAS_CORETYPE": "Haswell", "THREADS": "1"},
    "SkylakeX kernel, 2 threads": {"OPENBLAS_CORETYPE": "SkylakeX", "THREADS": "2"},
    "Zen kernel, AVX2 dispatch": {"OPENBLAS_CORETYPE": "Zen", "NPY_DISABLE_CPU_FEATURES": ABOVE_AVX2},
    "Prescott kernel, baseline dispatch, 1 thread": {
        "OPENBLAS_CORETYPE": "Prescott",
        "THREADS": "1",
        "NPY_DISABLE_CPU_FEATURES": ABOVE_BASELINE,
    },
}


def _environment(config: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "NPY_DISABLE_CPU_FEATURES")}
    env.update({k: v for k, v in config.items() if k != "THREADS"})
    if "THREADS" in config:
        for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            env[name] = config["THREADS"]
    env["PYTHONPATH"] = str(REPO)
    return env


@pytest.mark.slow
def test_golden_hashes_are_the_same_under_every_kernel_simd_level_and_thread_count():
    """Every configuration computes the golden hash of every task's first dev episode
    (the processes run side by side)."""
    running = {
        name: subprocess.Popen(
            [sys.executable, "-m", "tests.golden_hashes"],
            cwd=REPO,
            env=_environment(config),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, config in CONFIGURATIONS.items()
    }
    golden = {name: entry["hash"] for name, entry in load()["tasks"].items()}
    for name, process in running.items():
        out, err = process.communicate(timeout=600)
        assert process.returncode == 0, f"{name}: {err[-2000:]}"
        found = {task: entry["hash"] for task, entry in json.loads(out)["tasks"].items()}
        differ = sorted(task for task in golden if found.get(task) != golden[task])
        assert not differ, f"{name}: episodes of {differ} differ from the golden hashes"


def test_unverified_library_releases_are_refused_by_name():
    stack.check_versions({"pymunk": "7.3.1", "opencv": "5.0.0"})
    with pytest.raises(GeneratorStackError, match=r"^pymunk 8\.0\.0 is not verified .*pip install 'pymunk>="):
        stack.check_versions({"pymunk": "8.0.0", "opencv": "5.0.0"})
    with pytest.raises(GeneratorStackError, match=r"^opencv 4\.10\.0 is not verified .*opencv-python-headless"):
        stack.check_versions({"pymunk": "7.3.1", "opencv": "4.10.0"})


def test_the_installed_stack_is_verified_and_recorded():
    stack.check_versions()
    versions = stack.engine_versions()
    assert set(versions) == {"pymunk", "chipmunk", "opencv", "numpy", "math_library"}


def _probe(env_extra: dict[str, str]) -> dict:
    code = "import json; from wmbench.worlds.stack import math_library; print(json.dumps(math_library()))"
    env = dict(os.environ, PYTHONPATH=str(REPO), **env_extra)
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's tunables select its math code")
def test_the_math_library_probe_tells_glibcs_fma_and_plain_code_apart():
    """glibc computes sin/cos by other code on CPUs without FMA and AVX2, which rounds
    differently on about one input in a thousand; the probe sees it, and generation warns."""
    here = _probe({})
    plain = _probe({"GLIBC_TUNABLES": "glibc.cpu.hwcaps=-AVX2,-FMA"})
    if here["digest"] == plain["digest"]:
        pytest.skip("this CPU has no FMA code path in glibc to compare with")
    if here["matches_reference"]:
        assert not plain["matches_reference"]


def test_generation_warns_on_another_math_library(monkeypatch):
    stack.math_library.cache_clear()
    monkeypatch.setattr(stack, "REFERENCE_MATH_LIBRARY", "0" * 64)
    try:
        with pytest.warns(stack.GeneratorStackWarning, match="math library .* round differently"):
            stack.check_stack()
    finally:
        stack.math_library.cache_clear()
