"""wmbench validate: corruptions scored through the run's scoring path, the sensitivity
matrix, each property PASS/FAIL with its numbers, JSON and a heatmap."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from wmbench.tasks import get_task
from wmbench.validation.corruptions import CORRUPTIONS
from wmbench.validation.sensitivity import Check, check_properties, compare, matrix, validate
from wmbench.worlds import EpisodeCache

CHOSEN = (
    "truth",
    "frozen",
    "object_freezes",
    "gravity_reversed",
    "brighter",
    "noise",
    "flicker",
    "gravity_+50%",
    "gravity_+100%",
)


@pytest.fixture(scope="module")
def scores(cache_dir):
    tasks = [get_task("drop_single")]
    scored, skipped = validate(
        tasks, "dev", 2, EpisodeCache(cache_dir), [CORRUPTIONS[c] for c in CHOSEN], progress=False
    )
    assert skipped == {}
    return scored


def test_truth_is_100_and_the_frozen_world_0_on_physics_and_coherence(scores):
    for area in ("physics", "coherence"):
        assert compare(scores[0], "truth").index(area) == 100.0
        assert compare(scores[0], "frozen").index(area) == 0.0


def test_physics_costs_more_than_appearance(scores):
    physics = {name: compare(scores[0], name).index("physics") for name in CHOSEN}
    assert max(physics["object_freezes"], physics["gravity_reversed"]) < 85  # at least 15 points lost
    assert min(physics["brighter"], physics["noise"]) >= 90  # at most 10 points lost
    assert compare(scores[0], "flicker").index("coherence") < 85
    assert compare(scores[0], "noise").index("coherence") >= 90
    assert physics["gravity_+100%"] <= physics["gravity_+50%"] < 100


def test_properties_pass_with_their_numbers(scores):
    properties = {p.name: p for p in check_properties(scores)}
    assert set(properties) == {
        "anchors",
        "physical_violations_cost",
        "appearance_is_harmless",
        "physics_below_appearance",
        "incoherence_costs",
        "graded",
    }
    failed = {n: [c.detail for c in p.checks if not c.passed] for n, p in properties.items() if not p.passed}
    assert not failed
    assert all(p.checks for p in properties.values())
    graded = properties["graded"].checks[0]
    assert graded.subject == "gravity" and "Spearman" in graded.detail


def test_a_broken_promise_fails_with_its_numbers(scores):
    broken = copy.copy(scores[0])
    broken.rows = dict(scores[0].rows, brighter=scores[0].rows["frozen"])  # a "harmless" change scoring 0
    properties = {p.name: p for p in check_properties([broken])}
    assert not properties["appearance_is_harmless"].passed
    failed = [c for c in properties["appearance_is_harmless"].checks if not c.passed]
    assert {c.subject for c in failed} == {"brighter physics", "brighter coherence"}
    assert all("drop 100.0" in c.detail for c in failed)


def test_matrix_has_areas_and_metrics_per_corruption(scores):
    table = matrix(scores)
    assert set(table) == set(CHOSEN)
    assert table["truth"]["areas"]["physics"] == 100.0 and table["frozen"]["kind"] == "reference"
    assert table["object_freezes"]["metrics"]["inertia"] < 100 and "drop_single" in table["brighter"]["tasks"]


def test_validate_command_writes_json_and_a_heatmap(cli, tmp_path):
    code, out, err = cli(
        "validate",
        "--tasks",
        "drop_single",
        "--limit",
        "1",
        "--corruptions",
        "brighter",
        "--out",
        tmp_path,
        "--no-progress",
        "--json",
    )
    report = json.loads(out)
    assert code == (0 if report["passed"] else 1), err
    assert set(report["matrix"]) == {"truth", "frozen", "brighter"}
    assert json.loads((tmp_path / "validate.json").read_text()) == report
    assert (tmp_path / "sensitivity.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    code, _, err = cli("validate", "--corruptions", "brigther")
    assert code == 2 and "did you mean 'brighter'" in err


def test_a_check_holds_a_plain_bool_for_json():
    check = Check("drop_single", "truth physics", np.float64(100.0) >= 100, "100.0")
    assert type(check.passed) is bool and json.loads(json.dumps(check.passed)) is True


@pytest.mark.slow
def test_smoke_suite_keeps_every_promise(cli, tmp_path):
    """What docs/metrics.md promises for the smoke suite: every corruption, every
    property, every check passes."""
    code, out, err = cli("validate", "--suite", "smoke", "--out", tmp_path, "--no-progress", "--json")
    report = json.loads(out)
    failed = [(p["name"], c["task"], c["detail"]) for p in report["properties"] for c in p["checks"] if not c["passed"]]
    assert not failed, (failed, err)
    assert code == 0 and report["passed"]
    assert set(report["matrix"]) == set(CORRUPTIONS)  # the truth and the frozen world included
