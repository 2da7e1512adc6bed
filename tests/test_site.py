"""End to end on a one-task suite: kept predictions, their pictures, W&B offline logging,
submission bundles, the leaderboard site and, in headless Chromium, its ranking,
sorting and model pages."""

from __future__ import annotations

import io
import json
import os
import tarfile

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from wmbench.run.saved import saved_predictions
from wmbench.tasks import get_task, split_seeds

from . import browser
from .conftest import REPO

ARTIFACTS = REPO / "test-artifacts"
HAS_WANDB = __import__("importlib.util").util.find_spec("wandb") is not None


@pytest.fixture(scope="module")
def runs(tmp_path_factory, cache_dir):
    """A suite of drop_single, 1 episode: copy_last (logged to W&B offline when
    installed), linear_extrapolation and the oracle, each keeping its prediction."""
    from wmbench.run import Execution, RunSpec, evaluate
    from wmbench.worlds import EpisodeCache

    root = tmp_path_factory.mktemp("site-runs")
    suite = root / "mini.yaml"
    suite.write_text("name: mini\nversion: 3\nsplit: dev\nepisodes: 1\ntasks: [drop_single]\n")
    cache = EpisodeCache(cache_dir)
    os.environ.update(WANDB_MODE="offline", WANDB_SILENT="true")
    plan = {"copy_last": "wandb" if HAS_WANDB else "none", "linear_extrapolation": "none", "oracle": "none"}
    for name, logger in plan.items():
        spec = RunSpec(adapter=name, tasks=("drop_single",), limit=1, suite=str(suite))
        evaluate(spec, root / name, cache, Execution(progress=False, logger=logger, save_predictions=1))
    return root


def test_kept_predictions_are_the_model_output_in_8_bits(runs, cache):
    task = get_task("drop_single")
    first = cache.get(task, "dev", split_seeds(task, "dev", 1)[0])
    (frozen,), (oracle,) = saved_predictions(runs / "copy_last"), saved_predictions(runs / "oracle")
    assert frozen.seed == oracle.seed == first.seed and frozen.frames.shape == first.future_frames.shape
    np.testing.assert_array_equal(frozen.frames, np.repeat(first.context_frames[-1:], task.horizon, 0))
    np.testing.assert_array_equal(oracle.frames, first.future_frames)


def test_pictures_of_a_result(runs, cli, tmp_path):
    code, out, err = cli("pictures", "--result", runs / "copy_last", "--out-dir", tmp_path, "--animation", "mp4",
                         "--tracks")
    assert code == 0, err
    strip = np.asarray(Image.open(next(tmp_path.glob("drop_single/*.png"))))
    assert strip.shape[0] > 3 * 128 and (tmp_path / "drop_single" / "curves.svg").read_text().startswith("<?xml")
    assert next(tmp_path.glob("drop_single/*.mp4")).stat().st_size > 1000
    code, _, err = cli("pictures", "--result", runs / "oracle" / "episodes.jsonl")
    assert code == 2 and err.startswith("wmbench: error:")


@pytest.mark.skipif(not HAS_WANDB, reason="wandb is not installed")
def test_wandb_offline_run_logs_metrics_the_summary_table_and_strips(runs):
    (offline,) = (runs / "copy_last" / "logs" / "wandb").glob("offline-run-*")
    media = offline / "files" / "media"
    (table,) = (media / "table").glob("summary_*.table.json")
    data = json.loads(table.read_text())
    assert data["columns"][:3] == ["task", "episodes", "failed"] and data["data"][0][:3] == ["drop_single", 1, 0]
    assert list((media / "images" / "predictions").glob("drop_single_*.png"))
    assert list(offline.glob("run-*.wandb"))


def _rewrite(bundle, out, change):
    """Copy a bundle's members into ``out``, passing each (name, bytes) through ``change``."""
    with tarfile.open(bundle) as src, tarfile.open(out, "w:gz") as dst:
        for member in src.getmembers():
            name, data = change(member.name, src.extractfile(member).read())
            info = tarfile.TarInfo(name)
            info.size = len(data)
            dst.addfile(info, io.BytesIO(data))


def test_submit_bundles_build_the_site_and_tampering_is_caught(runs, cli, tmp_path):
    code, out, err = cli("submit", runs / "copy_last", "--out", tmp_path / "cl.tar.gz")
    assert code == 0, err
    assert "copy_last on mini v3" in out and "1 kept predictions" in out
    with tarfile.open(tmp_path / "cl.tar.gz") as tar:
        names = tar.getnames()
    assert names[0] == "bundle.json" and "result.json" in names and any(n.startswith("predictions/") for n in names)
    code, out, err = cli("leaderboard", tmp_path / "cl.tar.gz", runs / "oracle", "--verify", "--out", tmp_path / "site")
    assert code == 0, err
    assert out.count("verified 1 episodes") == 2 and list((tmp_path / "site" / "models" / "cl").rglob("*.gif"))
    _rewrite(tmp_path / "cl.tar.gz", tmp_path / "edited.tar.gz",
             lambda n, d: (n, d.replace(b'"failed": 0', b'"failed": 1', 1) if n == "result.json" else d))
    code, _, err = cli("leaderboard", tmp_path / "edited.tar.gz", "--out", tmp_path / "site2")
    assert code == 2 and "'result.json' does not match its SHA-256 in bundle.json" in err
    _rewrite(tmp_path / "cl.tar.gz", tmp_path / "escape.tar.gz", lambda n, d: ("../" + n if n == "run.json" else n, d))
    code, _, err = cli("leaderboard", tmp_path / "escape.tar.gz", "--out", tmp_path / "site3")
    assert code == 2 and "unsafe name: '../run.json'" in err and not (tmp_path / "run.json").exists()


@pytest.fixture(scope="module")
def site(runs, tmp_path_factory, cache_dir):
    from wmbench.leaderboard import find_results, write_leaderboard
    from wmbench.worlds import EpisodeCache

    out = tmp_path_factory.mktemp("site")
    write_leaderboard(find_results([runs]), out, EpisodeCache(cache_dir))
    return out


def test_site_ranks_the_suite_runs(site):
    board = pd.read_csv(site / "leaderboard.csv").set_index("model")
    assert board["suite"].eq("mini").all() and board["suite_version"].eq(3).all()
    ranked = board[board["rank"].notna()].sort_values("rank")
    assert list(ranked.index) == sorted(ranked.index, key=lambda m: -ranked.loc[m, "overall"])
    assert set(ranked.index) == {"copy_last", "linear_extrapolation"} and ranked.loc["copy_last", "fidelity"] == 0
    assert board.loc["oracle", "not_ranked_because"].startswith("reference adapter") and not board["limited"].any()
    html = (site / "index.html").read_text()
    assert "None" not in html and "nan" not in html and "http" not in html.split("</head>")[0]
    assert (site / "plots" / "pareto-1.svg").exists() and (site / "tasks" / "drop_single.png").exists()


@pytest.mark.skipif(browser.missing() is not None, reason=f"no headless browser: {browser.missing()}")
def test_site_in_headless_chromium(site):
    from selenium.webdriver.common.by import By

    def column(driver, index):
        return [r.find_elements(By.TAG_NAME, "td")[index].text.split("\n")[0]
                for r in driver.find_elements(By.CSS_SELECTOR, "#board-1 tbody tr") if r.is_displayed()]

    with browser.chromium() as driver:
        driver.get((site / "index.html").as_uri())
        ranks, models, overall = column(driver, 0), column(driver, 1), [float(v) for v in column(driver, 2)]
        assert ranks == ["1", "2", "reference"] and models[2] == "oracle"
        assert overall[0] >= overall[1]
        header = driver.find_element(By.XPATH, "//table[@id='board-1']//th[button='model']")
        header.find_element(By.TAG_NAME, "button").click()
        assert column(driver, 1) == sorted(models) and header.get_attribute("aria-sort") == "ascending"
        header.find_element(By.TAG_NAME, "button").click()
        assert column(driver, 1) == sorted(models, reverse=True) != models
        assert header.get_attribute("aria-sort") == "descending"
        driver.find_element(By.NAME, "kind").send_keys("ranked models only")
        assert "oracle" not in column(driver, 1) and len(column(driver, 1)) == 2
        browser.full_page_screenshot(driver, ARTIFACTS / "site-main.png")
        driver.find_element(By.LINK_TEXT, "linear_extrapolation").click()
        assert driver.find_element(By.TAG_NAME, "h2").text == "linear_extrapolation"
        pictures = driver.find_elements(By.CSS_SELECTOR, ".gallery img")
        assert len(pictures) == 2  # the kept episode's strip and the per-step curves
        assert all(driver.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0", p)
                   for p in pictures)
        browser.full_page_screenshot(driver, ARTIFACTS / "site-model.png")
    assert (ARTIFACTS / "site-main.png").stat().st_size > 10_000


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
        proc = subprocess.run(["bash", "-e", "-c", command], cwd=workdir, env=env, capture_output=True, text=True,
                              timeout=600)
        done.append((name, proc.returncode, proc.stderr))
        if proc.returncode:
            break
    return done


def test_example_ci_workflow_passes_and_its_gate_catches_a_planted_regression(runs, tmp_path, cache_dir):
    (tmp_path / "my_model.py").write_text(WORSE_ADAPTER)
    common = {"SELECTION": f"--suite {runs / 'mini.yaml'}", "BASELINE": str(runs / "copy_last")}
    passed = _run_workflow(tmp_path, dict(common, ADAPTER="copy_last", OUT="same"), cache_dir)
    assert [(n, c) for n, c, _ in passed] == [("Run the smoke suite", 0), ("Draw the kept predictions", 0),
                                              ("Gate on the baseline", 0)], passed
    assert list((tmp_path / "same" / "pictures" / "drop_single").glob("*.gif"))
    failed = _run_workflow(tmp_path, dict(common, ADAPTER="my_model.py:Dimmed", OUT="dimmed"), cache_dir)
    assert [(n, c) for n, c, _ in failed][:2] == [("Run the smoke suite", 0), ("Draw the kept predictions", 0)]
    name, code, err = failed[-1]
    assert name == "Gate on the baseline" and code == 1 and "regression beyond 2.0% in: drop_single/" in err
