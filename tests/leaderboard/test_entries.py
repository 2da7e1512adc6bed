"""Leaderboard rows: comparable only within a suite version and split with full coverage;
partial indices named; numbers formatted (no "None")."""

from __future__ import annotations

from pathlib import Path

import pytest

from wmbench.leaderboard.entries import build_entries
from wmbench.leaderboard.format import number, score_text
from wmbench.leaderboard.plots import pareto_front
from wmbench.leaderboard.tables import headline_table, markdown
from wmbench.results.io import Result

SUITE = {
    "name": "mini",
    "version": 1,
    "split": "dev",
    "episodes": 2,
    "tasks": ["a", "b"],
    "episodes_per_task": {"a": 2, "b": 2},
}


def _result(
    name: str,
    scores: dict[str, dict[str, float | None]],
    episodes: dict[str, int] | None = None,
    failed: int = 0,
    suite: dict | None = SUITE,
    privileged: bool = False,
    missing: dict | None = None,
    split: str = "dev",
) -> Result:
    """A result record over tasks ``a`` (physics metrics p1, p2) and ``b`` (fidelity
    metric f1): ``scores`` task -> metric -> normalised score (None: missing)."""
    episodes = episodes or {"a": 2, "b": 2}
    areas = {"p1": "physics", "p2": "physics", "f1": "fidelity"}
    tasks = [
        {
            "name": t,
            "version": 1,
            "family": "fam_" + t,
            "metrics": list(scores[t]),
            "metric_areas": areas,
            "missing_metrics": (missing or {}).get(t, {}),
            "episodes": [{"seed": i, "episode_hash": "x"} for i in range(episodes[t])],
        }
        for t in scores
    ]
    head_tasks = {
        t: {
            m: {
                "score": v,
                "ci": None if v is None else [v - 1, v + 1],
                **({"missing": "no headroom"} if v is None else {}),
            }
            for m, v in ms.items()
        }
        for t, ms in scores.items()
    }
    present = [v for ms in scores.values() for v in ms.values() if v is not None]
    overall = sum(present) / len(present)
    record = {
        "run": {"split": split, "suite": suite["name"] if suite else None},
        "suite": suite,
        "adapter": {"name": name, "privileged": privileged},
        "tasks": tasks,
        "aggregates": {t: {"episodes": episodes[t], "failed": failed if t == "a" else 0} for t in scores},
        "headline": {
            "tasks": head_tasks,
            "areas": {},
            "families": {},
            "overall": {"score": overall, "ci": [overall - 2, overall + 2]},
        },
        "speed": {
            "a": {
                "measured": True,
                "throughput_frames_per_s": 1000.0,
                "real_time_factor": 3.0,
                "step_latency_ms": {"p50": 2.0},
                "device": {"type": "cpu", "name": "x86_64"},
                "precision": "32-true",
            }
        },
    }
    return Result(record=record, rows=[], path=Path(f"/results/{name}/result.json"))


FULL = {"a": {"p1": 50.0, "p2": 70.0}, "b": {"f1": 40.0}}


def _by_model(groups):
    return {e.model: e for members in groups.values() for e in members}


def test_full_coverage_rows_are_ranked_by_the_overall_index():
    groups = build_entries(
        [
            _result("low", {"a": {"p1": 10.0, "p2": 20.0}, "b": {"f1": 30.0}}),
            _result("high", FULL),
            _result("oracle", FULL, privileged=True),
        ]
    )
    assert list(groups) == [("mini", 1, "dev")]
    rows = groups[("mini", 1, "dev")]
    assert [(e.model, e.rank) for e in rows] == [("high", 1), ("low", 2), ("oracle", None)]
    assert rows[2].unranked == ["reference adapter (privileged): a sanity bound, not ranked"]


def test_a_limited_run_and_a_failed_episode_are_listed_apart_with_the_reason():
    groups = _by_model(
        build_entries(
            [
                _result("suite", FULL),
                _result("one-episode", FULL, episodes={"a": 1, "b": 1}),
                _result("broken", FULL, failed=1),
                _result("loose", FULL, suite=None),
            ]
        )
    )
    assert groups["suite"].rank == 1
    assert groups["one-episode"].rank is None and groups["one-episode"].limited
    assert groups["one-episode"].unranked == ["limited run: a 1 of 2, b 1 of 2 episodes"]
    assert groups["broken"].unranked == ["1 failed episode"]
    assert groups["loose"].unranked == ["not a suite run: its tasks were chosen one by one"]
    assert groups["loose"].group is None


def test_a_suite_version_whose_episodes_are_not_recorded_is_listed_apart():
    unknown = dict(SUITE, tasks=None, episodes_per_task=None)
    groups = _by_model(build_entries([_result("unknown", FULL, suite=unknown), _result("known", FULL)]))
    assert groups["known"].rank == 1 and groups["unknown"].rank is None and not groups["unknown"].limited
    assert groups["unknown"].unranked[0].startswith("the episodes 'mini' version 1 asks for are not recorded")
    versionless = dict(SUITE, version=None)
    (row,) = _by_model(build_entries([_result("versionless", FULL, suite=versionless)])).values()
    assert row.group is None and row.unranked == ["no suite version recorded for 'mini'"]


def test_other_suite_versions_and_splits_are_ranked_apart():
    v2 = dict(SUITE, version=2)
    groups = build_entries([_result("v1", FULL), _result("v2", FULL, suite=v2), _result("train", FULL, split="train")])
    assert set(groups) == {("mini", 1, "dev"), ("mini", 2, "dev"), ("mini", 1, "train")}
    assert all(members[0].rank == 1 for members in groups.values())


def test_a_missing_metric_marks_its_indices_partial_and_names_it():
    lpips = {"b": {"f1": "weights absent"}}
    groups = _by_model(build_entries([_result("x", {"a": {"p1": 50.0, "p2": None}, "b": {"f1": None}}, missing=lpips)]))
    entry = groups["x"]
    assert entry.overall.partial and entry.areas["physics"].partial and entry.areas["fidelity"].partial
    assert entry.areas["physics"].missing_text() == "p2 on a (no headroom)"
    assert entry.areas["fidelity"].missing_text() == "f1 on b (weights absent)"
    assert entry.families["fam_a"].partial and entry.missing_metrics == {"f1": {"weights absent": ["b"]}}
    assert score_text(entry.overall).endswith("(partial)")


def test_a_row_that_could_not_compute_a_part_the_others_have_is_not_ranked_against_them():
    weights = {"a": {"p2": "weights absent"}}
    groups = _by_model(
        build_entries(
            [
                _result("complete", FULL),
                _result("gaps", {"a": {"p1": 90.0, "p2": None}, "b": {"f1": 90.0}}, missing=weights),
            ]
        )
    )
    assert groups["complete"].rank == 1 and groups["gaps"].rank is None
    assert groups["gaps"].unranked == [
        "parts other rows have were not computed: p2 on a (scored for other rows of this suite)"
    ]


def test_a_part_its_predictions_left_unscored_is_partial_but_ranked():
    # e.g. a law the model's predictions gave nothing to measure (its objects faded out)
    groups = _by_model(
        build_entries([_result("complete", FULL), _result("faded", {"a": {"p1": 90.0, "p2": None}, "b": {"f1": 95.0}})])
    )
    assert (groups["faded"].rank, groups["complete"].rank) == (1, 2) and not groups["faded"].unranked
    assert groups["faded"].areas["physics"].missing_text() == "p2 on a (no headroom)"


def test_a_metric_missing_for_every_row_still_ranks_them_with_partial_indices():
    gap = {"a": {"p1": 60.0, "p2": None}, "b": {"f1": 40.0}}
    groups = _by_model(
        build_entries([_result("x", gap), _result("y", {"a": {"p1": 20.0, "p2": None}, "b": {"f1": 10.0}})])
    )
    assert (groups["x"].rank, groups["y"].rank) == (1, 2) and groups["x"].overall.partial


def test_a_task_that_was_never_scored_is_missing_not_dropped():
    result = _result("x", FULL)
    del result.record["headline"]["tasks"]["b"]
    entry = _by_model(build_entries([result]))["x"]
    assert entry.areas["fidelity"].missing_text() == "f1 on b (no episode of the task was scored)"


def test_tables_carry_coverage_and_never_say_none():
    groups = build_entries([_result("high", FULL), _result("one", FULL, episodes={"a": 1, "b": 1})])
    table = headline_table(groups).set_index("model")
    assert table.loc["high", "rank"] == 1 and table.loc["high", "suite"] == "mini"
    assert table.loc["high", "suite_version"] == 1 and table.loc["one", "episodes_per_task"] == "1"
    assert bool(table.loc["one", "limited"]) and "limited run" in table.loc["one", "not_ranked_because"]
    text = markdown(groups, "note")
    assert "None" not in text and "nan" not in text and "Not ranked:" in text


@pytest.mark.parametrize(
    "value, text",
    [
        (None, "–"),
        (float("nan"), "–"),
        (0.0, "0"),
        (143697.3, "143,697"),
        (0.021642, "0.0216"),
        (112.61, "113"),
        (3.14159, "3.14"),
    ],
)
def test_numbers_are_formatted(value, text):
    assert number(value) == text


def test_pareto_front_keeps_points_nothing_beats_on_both():
    points = [(10.0, 50.0), (100.0, 40.0), (50.0, 30.0), (5.0, 60.0), (100.0, 20.0)]
    assert pareto_front(points) == [3, 0, 1]
