"""The leaderboard site built from the runs of a one-task suite: its ranking and, in
headless Chromium, sorting, filtering and a model page with its pictures."""

from __future__ import annotations

import pandas as pd
import pytest

from ..conftest import REPO
from . import browser

ARTIFACTS = REPO / "test-artifacts"


@pytest.fixture(scope="module")
def site(suite_runs, tmp_path_factory, cache_dir):
    from wmbench.leaderboard import find_results, write_leaderboard
    from wmbench.worlds import EpisodeCache

    out = tmp_path_factory.mktemp("site")
    write_leaderboard(find_results([suite_runs]), out, EpisodeCache(cache_dir))
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
    from selenium.webdriver.support.ui import WebDriverWait

    def column(driver, index):
        return [
            r.find_elements(By.TAG_NAME, "td")[index].text.split("\n")[0]
            for r in driver.find_elements(By.CSS_SELECTOR, "#board-1 tbody tr")
            if r.is_displayed()
        ]

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
        loaded = "arguments[0].scrollIntoView(); return arguments[0].complete && arguments[0].naturalWidth > 0"
        for picture in pictures:  # lazy pictures load once in view
            WebDriverWait(driver, 10).until(lambda d, p=picture: d.execute_script(loaded, p))
        browser.full_page_screenshot(driver, ARTIFACTS / "site-model.png")
    assert (ARTIFACTS / "site-main.png").stat().st_size > 10_000


def test_a_task_page_gives_the_speed_spread_and_its_flag():
    from wmbench.leaderboard.site import _speed_text

    speed = {
        "measured": True,
        "batch_size": 4,
        "throughput_frames_per_s": 1000.0,
        "real_time_factor": 2.0,
        "step_latency_ms": {"p50": 10.0, "p95": 12.0, "p99": 13.0, "relative_iqr": 0.25, "count": 100},
        "spread_too_wide": ["step_latency_ms", "predict_latency_ms"],
    }
    text = _speed_text(speed)
    assert text.endswith("; step IQR 25% of p50 over 100 steps; spread too wide to compare (steps, predict calls)")
    steady = dict(speed, spread_too_wide=[], step_latency_ms=dict(speed["step_latency_ms"], relative_iqr=0.05))
    assert _speed_text(steady).endswith("; step IQR 5% of p50 over 100 steps")
    former = dict(speed, step_latency_ms={"p50": 10.0, "p95": 12.0, "p99": 13.0, "count": 32})  # no spread recorded
    assert _speed_text(former).endswith("real-time factor 2.00")


def test_a_part_the_speed_budget_cut_short_reads_as_missing():
    from wmbench.leaderboard.entries import _speed
    from wmbench.leaderboard.site import _speed_text

    device = {"type": "cpu", "name": None}
    cut = {
        "measured": True,
        "batch_size": 4,
        "device": device,
        "budget_spent": True,
        "step_latency_ms": None,
        "throughput_frames_per_s": 500.0,
        "real_time_factor": None,
    }
    full = dict(
        cut,
        budget_spent=False,
        step_latency_ms={"p50": 10.0, "p95": 12.0, "p99": 13.0},
        throughput_frames_per_s=1500.0,
        real_time_factor=3.0,
    )
    assert _speed_text(cut) == (
        "500 frames/s at batch 4; step latency p50 – ms, p95 – ms, p99 – ms; real-time factor "
        "–; the speed budget ran out before every kind of call was timed"
    )
    speed = _speed({"speed": {"a": cut, "b": full}, "adapter": {}})
    assert (speed.frames_per_s, speed.step_p50_ms, speed.real_time_factor) == (1000.0, 10.0, 3.0)
    assert _speed({"speed": {"a": cut}, "adapter": {}}).step_p50_ms is None
