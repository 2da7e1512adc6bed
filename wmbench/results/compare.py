"""Comparing two results task by task and metric by metric (for CI regression gates)."""

from __future__ import annotations

import pandas as pd

from wmbench.results.io import Result


def compare(base: Result, new: Result) -> pd.DataFrame:
    """One row per (task, metric) present in both: the two means, the change, and
    ``worse`` (``True`` when ``new`` moved in the metric's bad direction).

    Only episodes scored in both results are compared (matched by episode hash), so a
    partial run is compared on what it has.
    """
    def table(result: Result) -> pd.DataFrame:
        records = [{"task": r["task"], "episode_hash": r["episode_hash"], "metric": m, "value": v}
                   for r in result.rows if r["status"] == "ok" for m, v in r["metrics"].items()]
        return pd.DataFrame(records, columns=["task", "episode_hash", "metric", "value"])

    directions = {(t["name"], m): hib for t in new.record["tasks"] for m, hib in t["higher_is_better"].items()}
    merged = table(base).merge(table(new), on=["task", "episode_hash", "metric"], suffixes=("_base", "_new"))
    merged = merged.dropna(subset=["value_base", "value_new"])
    summary = merged.groupby(["task", "metric"], as_index=False).agg(
        base=("value_base", "mean"), new=("value_new", "mean"), episodes=("value_new", "size"))
    summary["change"] = summary["new"] - summary["base"]
    higher = summary.apply(lambda r: directions.get((r["task"], r["metric"]), True), axis=1)
    summary["higher_is_better"] = higher.astype(bool)
    summary["worse"] = summary["change"].where(summary["higher_is_better"], -summary["change"]) < 0
    return summary


def regressions(table: pd.DataFrame, fraction: float) -> pd.DataFrame:
    """The rows of a :func:`compare` table that got worse by more than ``fraction`` of
    the base value (a CI gate: ``wmbench compare --fail-on-regression``)."""
    scale = table["base"].abs().clip(lower=1e-12)
    return table[table["worse"] & (table["change"].abs() / scale > fraction)]
