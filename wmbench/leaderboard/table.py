"""Leaderboard tables from validated results (Markdown and CSV, built with pandas)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from wmbench.errors import OutputError, ResultError
from wmbench.results.io import Result, load_result


def find_results(paths: list[Path]) -> list[Result]:
    """Every ``result.json`` under the given files or directories, validated."""
    files: list[Path] = []
    for path in paths:
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            files.extend(sorted(path.rglob("result.json")))
        else:
            raise ResultError(f"{path}: no such file or directory")
    if not files:
        raise ResultError(f"no result.json found under {', '.join(map(str, paths))}")
    return [load_result(f) for f in files]


def leaderboard_table(results: list[Result]) -> pd.DataFrame:
    """One row per (adapter, split), one column per ``task/metric`` mean, plus the
    median latency per episode. Reference (privileged) adapters are flagged."""
    records = []
    for result in results:
        row: dict[str, object] = {"adapter": result.adapter, "reference": result.privileged,
                                  "split": result.record["run"]["split"]}
        for task, entry in result.record["aggregates"].items():
            for metric, stats in entry["metrics"].items():
                row[f"{task}/{metric}"] = stats["mean"]
            row[f"{task}/failed"] = entry["failed"]
            row[f"{task}/latency_ms"] = entry["latency_ms_per_episode"]["p50"]
        records.append(row)
    table = pd.DataFrame.from_records(records)
    return table.sort_values(["reference", "adapter"]).reset_index(drop=True)


def write_leaderboard(results: list[Result], out: Path) -> dict[str, Path]:
    """Write ``leaderboard.csv`` and ``leaderboard.md`` into ``out``."""
    table = leaderboard_table(results)
    try:
        out.mkdir(parents=True, exist_ok=True)
        paths = {"csv": out / "leaderboard.csv", "markdown": out / "leaderboard.md"}
        table.to_csv(paths["csv"], index=False)
        paths["markdown"].write_text(
            "# wmbench leaderboard\n\nReference rows (privileged, e.g. the oracle) are sanity bounds, "
            "not ranked models.\n\n" + table.to_markdown(index=False, floatfmt=".4g") + "\n")
    except OSError as exc:
        raise OutputError(f"leaderboard directory {out} is not writable: {exc.strerror or exc}") from exc
    return paths
