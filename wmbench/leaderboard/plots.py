"""The leaderboard's charts, drawn with matplotlib as SVG files (no script, no network)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from wmbench.leaderboard.entries import Entry, Index
from wmbench.media import pyplot, save_figure


@dataclass(frozen=True)
class Plot:
    path: str
    alt: str
    caption: str
    width: int


def pareto_front(points: list[tuple[float, float]]) -> list[int]:
    """Indices of the points no other point beats on both speed and quality (higher is
    better on both), ordered by speed."""
    order = sorted(range(len(points)), key=lambda i: (-points[i][0], -points[i][1]))
    front, best = [], -np.inf
    for i in order:
        if points[i][1] > best:
            front.append(i)
            best = points[i][1]
    return sorted(front, key=lambda i: points[i][0])


def pareto(entries: list[Entry], out: Path, relative: str) -> Plot | None:
    """Overall index against frames/s (log scale), the Pareto front joined; reference
    adapters hollow. ``None`` when no row has both numbers."""
    shown = [e for e in entries if e.overall.score is not None and e.speed.frames_per_s]
    if not shown:
        return None
    plt = pyplot()
    fig, axis = plt.subplots(figsize=(6.0, 4.0), constrained_layout=True)
    points = [(float(e.speed.frames_per_s or 0.0), float(e.overall.score or 0.0)) for e in shown]
    front = pareto_front(points)
    axis.plot(
        [points[i][0] for i in front], [points[i][1] for i in front], color="#9aa3b5", zorder=1, label="Pareto front"
    )
    for entry, (x, y) in zip(shown, points):
        low, high = entry.overall.ci or (y, y)
        axis.errorbar(
            x,
            y,
            yerr=[[y - low], [high - y]],
            fmt="o",
            color="#1f5fbf",
            capsize=3,
            zorder=2,
            markerfacecolor="white" if entry.reference else "#1f5fbf",
        )
        axis.annotate(
            entry.model + (" (reference)" if entry.reference else ""),
            (x, y),
            textcoords="offset points",
            xytext=(6, 4),
            fontsize=8,
        )
    axis.set_xscale("log")
    axis.set(
        xlabel="predicted frames per second (median over tasks, log scale)",
        ylabel="overall index",
        title="Quality against speed",
        ylim=(-5, 105),
    )
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8, loc="lower left")
    save_figure(fig, out)
    return Plot(
        path=relative,
        width=600,
        alt="Scatter plot of the overall index against predicted frames per "
        "second: "
        + "; ".join(f"{e.model} {e.overall.score:.1f} at {e.speed.frames_per_s:,.0f} frames/s" for e in shown),
        caption="Each model's overall index (with its 95% interval) against its throughput; the grey "
        "line joins the models no other model beats on both. Hollow: reference adapters.",
    )


def _bars(axis, names: list[str], series: list[tuple[str, list[Index | None]]]) -> None:
    width = 0.8 / max(1, len(series))
    x = np.arange(len(names))
    for k, (label, indices) in enumerate(series):
        scores = [i.score if i is not None and i.score is not None else np.nan for i in indices]
        low = [s - i.ci[0] if i is not None and i.ci else 0 for s, i in zip(scores, indices)]
        high = [i.ci[1] - s if i is not None and i.ci else 0 for s, i in zip(scores, indices)]
        axis.bar(x + (k - (len(series) - 1) / 2) * width, scores, width, yerr=[low, high], capsize=2, label=label)
    axis.set_xticks(x, [n.replace("_", "\n") for n in names], fontsize=8)
    axis.set_ylim(0, 105)
    axis.set_ylabel("index (0 = frozen world, 100 = physical variance)", fontsize=8)
    axis.grid(axis="y", alpha=0.3)


def families(entries: list[Entry], out: Path, relative: str) -> Plot | None:
    """Each model's family indices side by side (bars with 95% intervals)."""
    names = sorted({f for e in entries for f in e.families})
    if not names or not entries:
        return None
    plt = pyplot()
    fig, axis = plt.subplots(figsize=(7.0, 4.0), constrained_layout=True)
    _bars(axis, names, [(e.model, [e.families.get(n) for n in names]) for e in entries])
    axis.set_title("Family indices")
    axis.legend(fontsize=8)
    save_figure(fig, out)
    return Plot(
        path=relative,
        width=700,
        alt="Bar chart of family indices per model: "
        + "; ".join(
            f"{e.model}: "
            + ", ".join(
                f"{n} {e.families[n].score:.1f}" for n in names if n in e.families and e.families[n].score is not None
            )
            for e in entries
        ),
        caption="Family indices per model, with 95% intervals.",
    )


def model_profile(entry: Entry, out: Path, relative: str) -> Plot:
    """One model's area and family indices as bars with their intervals."""
    plt = pyplot()
    names = [*entry.areas, *entry.families]
    fig, axis = plt.subplots(figsize=(7.0, 3.6), constrained_layout=True)
    _bars(axis, names, [(entry.model, [*entry.areas.values(), *entry.families.values()])])
    axis.axvline(len(entry.areas) - 0.5, color="#9aa3b5", linewidth=1)
    axis.set_title(f"{entry.model}: area and family indices")
    save_figure(fig, out)
    scores = {n: i for n, i in [*entry.areas.items(), *entry.families.items()]}
    return Plot(
        path=relative,
        width=700,
        alt=f"Bar chart of {entry.model}'s indices: "
        + ", ".join(f"{n} {i.score:.1f}" if i.score is not None else f"{n} missing" for n, i in scores.items()),
        caption="Area indices (left of the line) and family indices (right), with 95% intervals.",
    )
