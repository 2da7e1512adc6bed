"""--verify recomputes what a result derives from its rows: a forged number is rejected
even when both checksums were recomputed, naming the file, the field and both values."""

from __future__ import annotations

import json

import pytest

from wmbench.errors import ResultError
from wmbench.results import load_result, verify_result
from wmbench.results.schema import RESULT_FILE, ROWS_FILE
from wmbench.results.verify import check_derived

from .forgery import SUBMISSIONS, forged

COPY_LAST = SUBMISSIONS[0].parent


def _rejected(tmp_path, change) -> str:
    result = load_result(forged(tmp_path, change))
    with pytest.raises(ResultError) as info:
        check_derived(result)
    message = str(info.value)
    assert "\n" not in message and str(tmp_path / "forged") in message
    return message


@pytest.mark.parametrize("path", SUBMISSIONS, ids=[p.parent.name for p in SUBMISSIONS])
def test_the_committed_results_are_what_their_rows_give(path):
    check_derived(load_result(path))


def test_a_genuine_result_verifies_against_its_release(cache):
    assert verify_result(load_result(COPY_LAST), cache) == sum(
        len(t["episodes"]) for t in load_result(COPY_LAST).record["tasks"]
    )


def test_an_edited_headline_is_rejected(tmp_path):
    def change(record, rows):
        record["headline"]["areas"]["fidelity"].update(score=99.9, ci=[0.3, 0.3])

    true = load_result(COPY_LAST).record["headline"]["areas"]["fidelity"]
    assert true["ci"] != [0.3, 0.3]
    assert _rejected(tmp_path, change).endswith(
        f"field 'headline.areas.fidelity.score' is 99.9 but its rows (episodes.jsonl) give {true['score']} "
        "(and 2 more fields)"
    )


def test_an_edited_aggregate_is_rejected(tmp_path):
    true = load_result(COPY_LAST).record["aggregates"]["drop_single"]["metrics"]["psnr"]["mean"]
    message = _rejected(
        tmp_path, lambda record, rows: record["aggregates"]["drop_single"]["metrics"]["psnr"].update(mean=60.0)
    )
    assert message.endswith(
        f"field 'aggregates.drop_single.metrics.psnr.mean' is 60.0 but its rows (episodes.jsonl) give {true}"
    )


def test_an_edited_row_with_recomputed_checksums_is_rejected(tmp_path):
    def change(record, rows):
        rows[0]["metrics"]["psnr"] += 10.0

    task = load_result(COPY_LAST).rows[0]["task"]
    true = load_result(COPY_LAST).record["aggregates"][task]["metrics"]["psnr"]["mean"]
    message = _rejected(tmp_path, change)
    assert f"field 'aggregates.{task}.metrics.psnr.mean' is {true} but its rows (episodes.jsonl) give" in message
    assert "more fields)" in message  # the std, and the headline scores that read the PSNR


def test_an_edited_pooled_summary_is_rejected(tmp_path):
    def change(record, rows):
        pooled = record["aggregates"]["voe_permanence"]["pooled"]
        name = sorted(pooled)[0]
        pooled[name] = {**pooled[name], "value": 0.123} if pooled[name] else {"value": 0.123}

    assert "field 'aggregates.voe_permanence.pooled." in _rejected(tmp_path, change)


def test_an_edited_interval_is_rejected(tmp_path):
    message = _rejected(tmp_path, lambda record, rows: record["headline"]["areas"]["physics"]["ci"].__setitem__(0, 1.0))
    assert "field 'headline.areas.physics.ci[0]' is 1.0 but its rows (episodes.jsonl) give 0.0" in message


def test_a_flipped_metric_direction_is_rejected(tmp_path):
    message = _rejected(tmp_path, lambda record, rows: record["tasks"][0]["higher_is_better"].update(mse=True))
    assert message.endswith(
        "field 'tasks[0].higher_is_better.mse' is true but this wmbench's metric definitions give false"
    )


def test_an_edited_role_or_log_floor_is_rejected(tmp_path):
    """Both steer the recomputed headline, so they must be this wmbench's, not the record's."""
    floor = _rejected(
        tmp_path / "floor", lambda record, rows: record["tasks"][0]["metric_log_floors"].update(trajectory_ade=0.5)
    )
    assert floor.endswith(
        "field 'tasks[0].metric_log_floors.trajectory_ade' is 0.5 but this wmbench's metric definitions give 0.005"
    )
    role = _rejected(
        tmp_path / "role", lambda record, rows: record["tasks"][0]["metric_roles"].update(rigidity="score")
    )
    assert (
        'field \'tasks[0].metric_roles.rigidity\' is "score" but this wmbench\'s metric definitions give "law"' in role
    )


def test_a_row_of_another_episode_is_rejected(tmp_path):
    def change(record, rows):
        rows[0]["episode_hash"] = "f" * 64

    message = _rejected(tmp_path, change)
    assert f"{ROWS_FILE}: line 1: field 'episode_hash' is {'f' * 64}, result.json lists" in message


def test_a_listed_episode_without_its_row_is_rejected(tmp_path):
    def change(record, rows):
        del rows[0]
        record["rows"]["count"] -= 1

    assert "with a hash, but no row has it" in _rejected(tmp_path, change)


def test_a_run_file_that_differs_from_the_record_is_rejected(tmp_path):
    out = forged(tmp_path, lambda record, rows: None)
    asked = json.loads((out / "run.json").read_text())
    (out / "run.json").write_text(json.dumps(dict(asked, adapter="oracle")))
    with pytest.raises(ResultError, match=r"run.json: field 'adapter' is \"oracle\" but result.json has \"copy_last\""):
        check_derived(load_result(out))


def test_an_edited_record_without_its_checksum_fails_to_load(tmp_path):
    out = forged(tmp_path, lambda record, rows: None)
    record = json.loads((out / RESULT_FILE).read_text())
    record["headline"]["areas"]["fidelity"]["score"] = 99.9
    (out / RESULT_FILE).write_text(json.dumps(record))
    with pytest.raises(ResultError, match="field 'checksum' does not match the record; result.json was modified"):
        load_result(out)


def test_leaderboard_verify_refuses_a_forged_result_in_one_line(tmp_path, cli):
    out = forged(tmp_path, lambda record, rows: record["headline"]["areas"]["fidelity"].update(score=99.9))
    code, _, err = cli("leaderboard", out, "--verify", "--out", tmp_path / "site")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "field 'headline.areas.fidelity.score' is 99.9" in err and not (tmp_path / "site").exists()
