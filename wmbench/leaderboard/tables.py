"""The leaderboard as tables for programs and terminals: CSV and Markdown."""

from __future__ import annotations

import pandas as pd

from wmbench.leaderboard.entries import AREAS, Entry, Index
from wmbench.leaderboard.format import group_title, number, score_text


def _index_columns(name: str, index: Index | None) -> dict[str, object]:
    index = index or Index(score=None)
    low, high = index.ci or (None, None)
    return {
        name: index.score,
        f"{name} ci_low": low,
        f"{name} ci_high": high,
        f"{name} missing": index.missing_text() or None,
    }


def headline_table(groups: dict[tuple | None, list[Entry]]) -> pd.DataFrame:
    """One row per result: identity, coverage, rank or the reason it is not ranked,
    every index with its interval and missing parts, and speed."""
    records = []
    for members in groups.values():
        for e in members:
            row: dict[str, object] = {
                "rank": e.rank,
                "model": e.model,
                "reference": e.reference,
                "suite": e.suite,
                "suite_version": e.suite_version,
                "split": e.split,
                "episodes_per_task": e.episodes_text,
                "failed": e.failed,
                "limited": e.limited,
                "not_ranked_because": "; ".join(e.unranked) or None,
                "missing_metrics": "; ".join(
                    f"{m}: {r} ({', '.join(t)})" for m, reasons in e.missing_metrics.items() for r, t in reasons.items()
                )
                or None,
            }
            row.update(_index_columns("overall", e.overall))
            for name in [a for a in AREAS if any(a in m.areas for m in members)]:
                row.update(_index_columns(name, e.areas.get(name)))
            for name in sorted({f for m in members for f in m.families}):
                row.update(_index_columns(name, e.families.get(name)))
            row.update(
                {
                    "frames_per_s": e.speed.frames_per_s,
                    "step_p50_ms": e.speed.step_p50_ms,
                    "real_time_factor": e.speed.real_time_factor,
                    "device": e.speed.device,
                    "result": str(e.result.path),
                }
            )
            records.append(row)
    return pd.DataFrame.from_records(records)


def detail_table(groups: dict[tuple | None, list[Entry]]) -> pd.DataFrame:
    """One row per result, one column per ``task/metric`` raw mean, plus failures and the
    median model latency per episode."""
    records = []
    for members in groups.values():
        for e in members:
            row = {
                "model": e.model,
                "reference": e.reference,
                "suite": e.suite,
                "suite_version": e.suite_version,
                "split": e.split,
            }
            for task, entry in e.result.record["aggregates"].items():
                for metric, stats in entry["metrics"].items():
                    row[f"{task}/{metric}"] = stats["mean"]
                row[f"{task}/episodes"] = entry["episodes"]
                row[f"{task}/failed"] = entry["failed"]
                row[f"{task}/latency_ms"] = entry["latency_ms_per_episode"]["p50"]
            records.append(row)
    return pd.DataFrame.from_records(records)


def markdown(groups: dict[tuple | None, list[Entry]], note: str) -> str:
    """The ranked table of each group and, apart, the rows not ranked with the reason."""
    lines = ["# wmbench leaderboard", "", note]
    for key, members in groups.items():
        areas = [a for a in AREAS if any(a in m.areas for m in members)]
        ranked = [e for e in members if e.rank is not None or e.reference]
        apart = [e for e in members if e.rank is None and not e.reference]
        lines += ["", f"## {group_title(key)}", ""]
        if ranked:
            table = pd.DataFrame(
                [
                    {
                        "rank": "ref" if e.reference else e.rank,
                        "model": e.model,
                        "overall": score_text(e.overall),
                        **{a: score_text(e.areas.get(a)) for a in areas},
                        "frames/s": number(e.speed.frames_per_s),
                        "step p50 ms": number(e.speed.step_p50_ms),
                        "real-time factor": number(e.speed.real_time_factor),
                        "device": e.speed.device,
                        "episodes/task": e.episodes_text,
                    }
                    for e in ranked
                ]
            )
            lines.append(table.to_markdown(index=False))
        if apart:
            lines += ["", "Not ranked:", ""]
            table = pd.DataFrame(
                [
                    {
                        "model": e.model,
                        "overall": score_text(e.overall),
                        "episodes/task": e.episodes_text,
                        "failed": e.failed,
                        "why": "; ".join(e.unranked),
                    }
                    for e in apart
                ]
            )
            lines.append(table.to_markdown(index=False))
    return "\n".join(lines) + "\n"
