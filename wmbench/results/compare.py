"""Comparing two results task by task and metric by metric, and the CI gate on them.

A comparison first checks that the two results can be compared at all
(:func:`check_comparable`): the same suite and suite version, split and task versions;
something in common; and a new result that covers every episode and metric the base
has. Each failure is its own error (and exit code). Then :func:`compare` tabulates the
metric means over the episodes both scored and :func:`regressions` picks those that got
worse beyond the tolerances; :func:`compare_headline` and
:func:`headline_regressions` do the same for the headline indices and their intervals.

Tolerances follow ``numpy.isclose``: a change is within tolerance when
``|new - base| <= atol + rtol * |base|``. A relative tolerance allows no change at
all where the base is 0; ``atol`` (in the metric's units, or in index points for the
headline) covers those.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from wmbench.errors import DifferentRuns, LessCoverage, NothingCompared
from wmbench.results.io import Result

#: The headline's groups of indices that the headline gate judges.
HEADLINE_GROUPS = ("areas", "families")


def _values(result: Result) -> pd.DataFrame:
    records = [{"task": r["task"], "episode_hash": r["episode_hash"], "metric": m, "value": v}
               for r in result.rows if r["status"] == "ok" for m, v in r["metrics"].items()]
    return pd.DataFrame(records, columns=["task", "episode_hash", "metric", "value"])


def _identity(result: Result) -> dict[str, Any]:
    """What two comparable results share: the suite by its name (a run may name it by
    its file), its version, the split and the resolution."""
    run, suite = result.record["run"], result.record.get("suite") or {}
    name = None if run.get("suite") is None else suite.get("name", run["suite"])
    return {"suite": name, "suite version": run.get("suite_version"),
            "split": run["split"], "resolution": run.get("resolution")}


def check_comparable(base: Result, new: Result, partial: bool = False) -> None:
    """Raise unless ``new`` can be judged against ``base``: :class:`DifferentRuns` when
    the suite, its version, the split, the resolution or a task's version or definition
    differ; :class:`NothingCompared` when no task and episode is in both;
    :class:`LessCoverage` when ``new`` lacks a scored episode or a metric value that
    ``base`` has (unless ``partial``: then what both have is compared)."""
    def named(result: Result) -> str:
        return str(result.path)

    for field, value in _identity(base).items():
        other = _identity(new)[field]
        if value != other:
            raise DifferentRuns(f"{named(new)} ran {field} {other!r}, the base {named(base)} ran {value!r}")
    tasks = {t["name"]: t for t in new.record["tasks"]}
    for task in base.record["tasks"]:
        theirs = tasks.get(task["name"])
        if theirs is not None and (theirs["version"], theirs["definition_sha256"]) != (
                task["version"], task["definition_sha256"]):
            raise DifferentRuns(f"task '{task['name']}' is version {theirs['version']} "
                                f"(definition {theirs['definition_sha256'][:12]}) in {named(new)} but version "
                                f"{task['version']} (definition {task['definition_sha256'][:12]}) in the base")
    before, after = _values(base).dropna(subset=["value"]), _values(new).dropna(subset=["value"])
    keys = ["task", "episode_hash", "metric"]
    common = before.merge(after, on=keys)
    if common.empty:
        raise NothingCompared(f"nothing in common to compare: {named(base)} and {named(new)} share no scored "
                              "episode and metric")
    if partial:
        return
    lacking = before.merge(after[keys], on=keys, how="left", indicator=True)
    lacking = lacking[lacking["_merge"] == "left_only"]
    if len(lacking):
        scored = {(r["task"], r["episode_hash"]) for r in new.rows if r["status"] == "ok"}
        episodes = lacking[[(t, h) not in scored for t, h in zip(lacking["task"], lacking["episode_hash"])]]
        metrics = sorted({f"{t}/{m}" for t, m in zip(lacking["task"], lacking["metric"])})
        what = (f"{episodes['episode_hash'].nunique()} of the base's scored episodes" if len(episodes)
                else f"values of {len(metrics)} metric(s) the base has ({', '.join(metrics[:4])}"
                     f"{', ...' if len(metrics) > 4 else ''})")
        raise LessCoverage(f"{named(new)} lacks {what}; compare a run of the same episodes, or pass --partial "
                           "to compare what both have")


def compare(base: Result, new: Result) -> pd.DataFrame:
    """One row per (task, metric) present in both: the two means, the change, and
    ``worse`` (``True`` when ``new`` moved in the metric's bad direction).

    Only episodes scored in both results are compared (matched by episode hash)."""
    directions = {(t["name"], m): hib for t in new.record["tasks"] for m, hib in t["higher_is_better"].items()}
    merged = _values(base).merge(_values(new), on=["task", "episode_hash", "metric"], suffixes=("_base", "_new"))
    merged = merged.dropna(subset=["value_base", "value_new"])
    summary = merged.groupby(["task", "metric"], as_index=False).agg(
        base=("value_base", "mean"), new=("value_new", "mean"), episodes=("value_new", "size"))
    summary["change"] = summary["new"] - summary["base"]
    higher = summary.apply(lambda r: directions.get((r["task"], r["metric"]), True), axis=1)
    summary["higher_is_better"] = higher.astype(bool) if len(summary) else pd.Series(dtype=bool)
    summary["worse"] = summary["change"].where(summary["higher_is_better"], -summary["change"]) < 0
    return summary


def beyond(table: pd.DataFrame, atol: float, rtol: float) -> pd.Series:
    """Rows whose change exceeds ``atol + rtol * |base|`` (``numpy.isclose``'s rule)."""
    return table["change"].abs() > atol + rtol * table["base"].abs()


def regressions(table: pd.DataFrame, atol: float = 0.0, rtol: float = 0.0) -> pd.DataFrame:
    """The rows of a :func:`compare` table that got worse beyond the tolerances."""
    return table[table["worse"] & beyond(table, atol, rtol)]


def compare_headline(base: Result, new: Result) -> pd.DataFrame:
    """One row per headline index (area or family) of ``base``: both scores (``None``
    where ``new`` lacks it), their 95% intervals, the change, and ``overlap`` (both
    intervals are known and share a point; without them a drop is judged alone)."""
    records = []
    for group in HEADLINE_GROUPS:
        for name, entry in base.record["headline"][group].items():
            other = new.record["headline"][group].get(name)
            intervals = entry["ci"], (other or {}).get("ci")
            records.append({
                "group": group, "index": name, "base": entry["score"], "base_ci": entry["ci"],
                "new": other and other["score"], "new_ci": other and other["ci"],
                "change": None if other is None else other["score"] - entry["score"],
                "overlap": _overlap(*intervals),
            })
    columns = ["group", "index", "base", "base_ci", "new", "new_ci", "change", "overlap"]
    return pd.DataFrame.from_records(records, columns=columns)


def _overlap(a: list[float] | None, b: list[float] | None) -> bool:
    return a is not None and b is not None and a[0] <= b[1] and b[0] <= a[1]


def headline_regressions(table: pd.DataFrame, atol: float = 0.0, rtol: float = 0.0) -> pd.DataFrame:
    """Indices of a :func:`compare_headline` table that dropped by more than
    ``atol + rtol * base`` (index points) and whose interval no longer overlaps the
    base's, or that ``new`` lacks."""
    lost = table["new"].isna()
    dropped = (table["change"] < 0) & beyond(table.fillna({"change": 0.0}), atol, rtol) & ~table["overlap"]
    return table[lost | dropped]
