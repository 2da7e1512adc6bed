"""wmbench compare as a CI gate: each reason not to compare has its own exit code and
line, tolerances are absolute and relative, and the headline gate needs a real drop."""

from __future__ import annotations

import pytest

from wmbench.errors import DifferentRuns, LessCoverage, NothingCompared
from wmbench.results import load_result
from wmbench.results.compare import check_comparable, compare, regressions

from .forgery import SUBMISSIONS, forged

BASE = SUBMISSIONS[0].parent  # smoke-copy_last
ORACLE = BASE.with_name("smoke-oracle")  # 100 on every index: room to fall


def _gate(cli, new, *options, base=BASE):
    code, out, err = cli("compare", base, new, *options)
    return code, out, err.strip()


def test_a_result_compared_with_itself_passes_every_gate(cli):
    for gate in ("metrics", "headline"):
        code, out, err = _gate(cli, BASE, "--gate", gate)
        assert (code, err) == (0, "") and "|" in out


def test_nothing_in_common_is_exit_4(cli, tmp_path):
    def other_episodes(record, rows):
        for row in rows:
            row["episode_hash"] = "a" * 64

    code, _, err = _gate(cli, forged(tmp_path, other_episodes), "--gate", "metrics")
    assert code == 4 and err.startswith("wmbench: error: nothing in common to compare") and "\n" not in err


@pytest.mark.parametrize(
    "change, words",
    [
        (lambda record, rows: record["run"].update(suite_version=99), "ran suite version 99, the base"),
        (lambda record, rows: record["run"].update(suite=None, tasks=["drop_single"]), "ran suite None, the base"),
        (lambda record, rows: record["run"].update(split="test"), "ran split 'test'"),
        (lambda record, rows: record["tasks"][0].update(version=99), "is version 99 (definition"),
    ],
)
def test_another_suite_or_version_is_exit_5(cli, tmp_path, change, words):
    code, _, err = _gate(cli, forged(tmp_path, change), "--gate", "metrics")
    assert code == 5 and words in err and "\n" not in err


def test_fewer_episodes_than_the_base_is_exit_6_unless_partial(cli, tmp_path):
    def drop_one(record, rows):
        del rows[0]
        record["rows"]["count"] -= 1

    new = forged(tmp_path, drop_one)
    code, _, err = _gate(cli, new, "--gate", "metrics")
    assert code == 6 and "lacks 1 of the base's scored episodes" in err and "\n" not in err
    assert _gate(cli, new, "--gate", "metrics", "--partial")[0] == 0


def test_fewer_metrics_than_the_base_is_exit_6(cli, tmp_path):
    def no_psnr(record, rows):
        for row in rows:
            if row["task"] == "drop_single":
                row["metrics"]["psnr"] = None

    code, _, err = _gate(cli, forged(tmp_path, no_psnr), "--gate", "metrics")
    assert code == 6 and "values of 1 metric(s) the base has (drop_single/psnr)" in err


def _energy_gain(value):
    def change(record, rows):
        for row in rows:
            if row["task"] == "drop_single":
                row["metrics"]["energy_gain"] = value

    return change


def test_a_zero_base_needs_an_absolute_tolerance(cli, tmp_path):
    new = forged(tmp_path, _energy_gain(4.8e-6))  # the base's mean is exactly 0
    code, _, err = _gate(cli, new, "--gate", "metrics", "--rtol", "0.02")
    assert (
        code == 1 and err == "wmbench: regression beyond atol=0, rtol=0.02 in: drop_single/energy_gain (0 -> 4.8e-06)"
    )
    assert _gate(cli, new, "--gate", "metrics", "--rtol", "0.02", "--atol", "1e-5")[0] == 0
    assert _gate(cli, new, "--fail-on-regression", "0.02")[0] == 1  # the older spelling of --rtol


def test_tolerances_follow_isclose():
    base, new = load_result(BASE), load_result(BASE)
    table = compare(base, new)
    table.loc[0, ["new", "change", "worse"]] = [table.loc[0, "base"] + 1.0, 1.0, True]
    table.loc[0, "base"] = 10.0
    assert len(regressions(table, atol=0.5, rtol=0.04)) == 1  # 1.0 > 0.5 + 0.4
    assert len(regressions(table, atol=0.6, rtol=0.04)) == 0  # 1.0 <= 0.6 + 0.4
    assert len(regressions(table.assign(worse=False), atol=0.0, rtol=0.0)) == 0  # better is never a regression


def _physics(score, ci):
    def change(record, rows):
        record["headline"]["areas"]["physics"].update(score=score, ci=ci)

    return change


def test_the_headline_gate_needs_a_drop_beyond_the_threshold_and_apart_intervals(cli, tmp_path):
    base = load_result(ORACLE).record["headline"]["areas"]["physics"]
    low = base["ci"][0]
    lower = base["score"] - 5
    overlapping = forged(tmp_path / "a", _physics(lower, [lower - 1, low + 0.01]), ORACLE)
    apart = forged(tmp_path / "b", _physics(lower, [lower - 1, low - 0.01]), ORACLE)
    assert _gate(cli, overlapping, "--gate", "headline", "--atol", "2", base=ORACLE)[0] == 0
    code, _, err = _gate(cli, apart, "--gate", "headline", "--atol", "2", base=ORACLE)
    assert code == 1 and err.startswith("wmbench: regression beyond atol=2, rtol=0 in: areas/physics (100 -> 95)")
    assert _gate(cli, apart, "--gate", "headline", "--atol", "6", base=ORACLE)[0] == 0
    assert _gate(cli, apart, "--gate", "headline", "--rtol", "0.06", base=ORACLE)[0] == 0  # 5 points <= 6% of 100


def test_check_comparable_raises_the_specific_error(tmp_path):
    base = load_result(BASE)
    with pytest.raises(DifferentRuns):
        check_comparable(base, load_result(forged(tmp_path / "a", lambda r, rows: r["run"].update(split="test"))))
    with pytest.raises(NothingCompared):
        check_comparable(
            base, load_result(forged(tmp_path / "b", lambda r, rows: [x.update(episode_hash="b" * 64) for x in rows]))
        )
    with pytest.raises(LessCoverage):
        check_comparable(base, load_result(forged(tmp_path / "c", _energy_gain(None))))
    check_comparable(base, load_result(forged(tmp_path / "d", _energy_gain(None))), partial=True)


@pytest.mark.parametrize("value", ["-1", "nan", "inf", "x"])
def test_tolerances_must_be_finite_and_non_negative(cli, value, capsys):
    with pytest.raises(SystemExit) as info:
        cli("compare", BASE, BASE, "--atol", value)
    assert info.value.code == 2 and "argument --atol" in capsys.readouterr().err
