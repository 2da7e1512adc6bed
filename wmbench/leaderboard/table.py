"""Leaderboard tables from validated results (Markdown, CSV and a static HTML page)."""

from __future__ import annotations

import html
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


#: Rows by suite, then models before references, then by name.
ORDER = ["suite", "reference", "adapter"]


def _identity(result: Result) -> dict[str, object]:
    run = result.record["run"]
    return {"adapter": result.adapter, "reference": result.privileged, "suite": run.get("suite") or "tasks",
            "split": run["split"]}


def headline_table(results: list[Result]) -> pd.DataFrame:
    """One row per result: each area's and family's normalised index (0 = frozen world,
    100 = physical variance) with its 95% bootstrap interval."""
    records = []
    for result in results:
        row = _identity(result)
        head = result.record.get("headline", {})
        for group in ("areas", "families"):
            for name, entry in head.get(group, {}).items():
                row[name] = entry["score"]
                row[f"{name} ci_low"], row[f"{name} ci_high"] = entry["ci"] or (None, None)
        records.append(row)
    return pd.DataFrame.from_records(records).sort_values(ORDER).reset_index(drop=True)


def detail_table(results: list[Result]) -> pd.DataFrame:
    """One row per result, one column per ``task/metric`` raw mean, plus failures and the
    median model latency per episode."""
    records = []
    for result in results:
        row = _identity(result)
        for task, entry in result.record["aggregates"].items():
            for metric, stats in entry["metrics"].items():
                row[f"{task}/{metric}"] = stats["mean"]
            row[f"{task}/failed"] = entry["failed"]
            row[f"{task}/latency_ms"] = entry["latency_ms_per_episode"]["p50"]
        records.append(row)
    return pd.DataFrame.from_records(records).sort_values(ORDER).reset_index(drop=True)


def _with_intervals(table: pd.DataFrame) -> pd.DataFrame:
    """Fold ``X ci_low``/``X ci_high`` columns into ``X`` as ``score [low, high]`` text."""
    shown = table[[c for c in table.columns if not c.endswith((" ci_low", " ci_high"))]].copy()
    for column in shown.columns:
        if f"{column} ci_low" in table:
            shown[column] = [
                "missing" if pd.isna(s) else (f"{s:.1f}" if pd.isna(lo) else f"{s:.1f} [{lo:.1f}, {hi:.1f}]")
                for s, lo, hi in zip(table[column], table[f"{column} ci_low"], table[f"{column} ci_high"])]
    return shown


NOTE = ("Indices: 0 = a frozen world (last context frame repeated), 100 = the physical variance of "
        "re-simulated futures; 95% bootstrap intervals over episodes. Reference rows (privileged, "
        "e.g. the oracle) are sanity bounds, not ranked models. Speed is reported apart.")


def headline_markdown(results: list[Result]) -> str:
    """The leaderboard's title, note and index table in Markdown."""
    return f"# wmbench leaderboard\n\n{NOTE}\n\n{_with_intervals(headline_table(results)).to_markdown(index=False)}\n"


def write_leaderboard(results: list[Result], out: Path) -> dict[str, Path]:
    """Write ``leaderboard.csv``/``leaderboard.md`` (indices), ``details.csv`` and ``index.html``."""
    summary, details = headline_table(results), detail_table(results)
    shown = _with_intervals(summary)
    paths = {"csv": out / "leaderboard.csv", "markdown": out / "leaderboard.md",
             "details": out / "details.csv", "html": out / "index.html"}
    try:
        out.mkdir(parents=True, exist_ok=True)
        summary.to_csv(paths["csv"], index=False)
        details.to_csv(paths["details"], index=False)
        paths["markdown"].write_text(
            f"{headline_markdown(results)}\n## Raw scores\n\n{details.to_markdown(index=False, floatfmt='.4g')}\n")
        paths["html"].write_text(_page(shown, details))
    except OSError as exc:
        raise OutputError(f"leaderboard directory {out} is not writable: {exc.strerror or exc}") from exc
    return paths


def _page(summary: pd.DataFrame, details: pd.DataFrame) -> str:
    style = ("body{font-family:system-ui,sans-serif;margin:2rem;color:#222}table{border-collapse:collapse;"
             "margin:1rem 0;font-size:.9rem}th,td{border:1px solid #ccc;padding:.3rem .6rem;text-align:right}"
             "th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}")
    return (f"<!doctype html><html lang=en><meta charset=utf-8><title>wmbench leaderboard</title>"
            f"<style>{style}</style><h1>wmbench leaderboard</h1><p>{html.escape(NOTE)}</p>"
            f"{summary.to_html(index=False, na_rep='missing', border=0)}<h2>Raw scores</h2>"
            f"{details.to_html(index=False, na_rep='missing', float_format='{:.4g}'.format, border=0)}</html>\n")
