"""Leaderboard rows: what each result ran, what it covers, and which rows can be ranked.

A row carries its suite and suite version, split, episodes per task, failed episodes,
the metrics it lacks (with the reasons), whether it was limited (fewer episodes than
its suite asks for), and its indices, each marked *partial* with the missing parts
named when any of its parts (a task's normalised metric) is missing: an index is never
a silent average over what happened to be there.

Rows are ranked (by the overall index) only against rows of the same suite, suite
version and split that cover it fully: every task and episode of the suite, no failed
episode, and every part that any row of the group has. Reference adapters (privileged,
such as the oracle) are shown as sanity bounds, never ranked. Every other row is
listed apart with the reason.
"""

from __future__ import annotations

import re
import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from wmbench.results.headline import DIAGNOSTIC
from wmbench.results.io import Result

AREAS = ("fidelity", "physics", "coherence", "control", "surprise")


@dataclass(frozen=True)
class Part:
    """One task's normalised metric: a part of the indices of its area and family."""

    task: str
    metric: str
    area: str
    family: str


@dataclass
class Index:
    """An index: its score and 95% interval, and the parts it is missing (with reasons)."""

    score: float | None
    ci: list[float] | None = None
    missing: dict[Part, str] = field(default_factory=dict)

    @property
    def partial(self) -> bool:
        return bool(self.missing)

    def missing_text(self) -> str:
        """The missing parts grouped by metric and reason: ``lpips on 3 tasks (weights absent)``."""
        groups: dict[tuple[str, str], list[str]] = defaultdict(list)
        for part, reason in self.missing.items():
            groups[(part.metric, reason)].append(part.task)
        return "; ".join(
            f"{metric} on {', '.join(sorted(tasks))} ({reason})" for (metric, reason), tasks in sorted(groups.items())
        )


@dataclass
class Speed:
    """Medians over the tasks whose speed was measured (see ``docs/speed.md``)."""

    frames_per_s: float | None = None
    step_p50_ms: float | None = None
    real_time_factor: float | None = None
    device: str = "not measured"
    precision: str | None = None


@dataclass
class Entry:
    """One result as a leaderboard row."""

    result: Result
    slug: str
    suite: str | None
    suite_version: int | None
    split: str
    episodes: dict[str, int]
    #: Episodes per task of the suite version on the split (``None``: unknown here).
    expected: dict[str, int] | None
    failed: int
    missing_metrics: dict[str, dict[str, list[str]]]
    overall: Index
    areas: dict[str, Index]
    families: dict[str, Index]
    task_scores: dict[str, Index]
    speed: Speed
    #: The parts with a normalised score.
    parts: set[Part]
    #: The parts the run did not compute (see :func:`_parts`).
    uncomputed: set[Part]
    rank: int | None = None
    unranked: list[str] = field(default_factory=list)

    @property
    def model(self) -> str:
        return self.result.adapter

    @property
    def reference(self) -> bool:
        return self.result.privileged

    @property
    def group(self) -> tuple[str, int, str] | None:
        """What a row is ranked against: suite, suite version, split."""
        if self.suite is None or self.suite_version is None:
            return None
        return self.suite, self.suite_version, self.split

    @property
    def limited(self) -> bool:
        return any(self.episodes.get(t, 0) < n for t, n in (self.expected or {}).items())

    @property
    def episodes_text(self) -> str:
        counts = sorted(set(self.episodes.values()))
        return "/".join(map(str, counts)) if counts else "0"


def _parts(record: dict[str, Any]) -> tuple[set[Part], dict[Part, str], set[Part]]:
    """Every part the result's tasks define, the ones without a normalised score (with
    the reason), and those of them the run did not compute: the metric could not be
    computed at all (``missing_metrics``) or the task was not scored. The rest went
    unscored because of the values (no episode had the score and both references, no
    headroom), which depend on the model's predictions."""
    every, missing, uncomputed = set(), {}, set()
    scores = record.get("headline", {}).get("tasks", {})
    for task in record["tasks"]:
        for metric in task["metrics"]:
            area = task["metric_areas"].get(metric, "fidelity")
            if area == DIAGNOSTIC:
                continue
            part = Part(task["name"], metric, area, task["family"])
            every.add(part)
            entry = scores.get(task["name"], {}).get(metric)
            if entry is None:
                uncomputed.add(part)
                missing[part] = task["missing_metrics"].get(metric, "no episode of the task was scored")
            elif entry["score"] is None:
                missing[part] = task["missing_metrics"].get(metric, entry.get("missing", "missing"))
                if metric in task["missing_metrics"]:
                    uncomputed.add(part)
    return every, missing, uncomputed


def _index(entry: dict[str, Any] | None, missing: dict[Part, str], keep) -> Index:
    parts = {p: r for p, r in missing.items() if keep(p)}
    if not entry:
        return Index(score=None, missing=parts)
    return Index(score=entry["score"], ci=entry.get("ci"), missing=parts)


def _task_score(record: dict[str, Any], task: dict[str, Any], missing: dict[Part, str]) -> Index:
    """A task's index: the mean of its area indices (what its family index averages; laws
    only penalise their area's index, see :mod:`wmbench.results.headline`)."""
    areas = record.get("headline", {}).get("task_areas", {}).get(task["name"], {})
    mean = sum(areas.values()) / len(areas) if areas else None
    return Index(score=mean, missing={p: r for p, r in missing.items() if p.task == task["name"]})


def _speed(record: dict[str, Any]) -> Speed:
    measured = [s for s in record.get("speed", {}).values() if s.get("measured")]
    if not measured:
        offline = record["adapter"].get("offline")
        return Speed(device="offline: not measured" if offline else "not measured")
    device = measured[0]["device"]
    name = device.get("name") or device["type"]
    return Speed(
        frames_per_s=_median(s.get("throughput_frames_per_s") for s in measured),
        step_p50_ms=_median((s.get("step_latency_ms") or {}).get("p50") for s in measured),
        real_time_factor=_median(s.get("real_time_factor") for s in measured),
        device=f"{device['type']} ({name})" if name != device["type"] else name,
        precision=measured[0].get("precision"),
    )


def _median(values: Iterable[float | None]) -> float | None:
    """The median of the recorded values (a part the speed budget cut short has none)."""
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def _missing_metrics(record: dict[str, Any]) -> dict[str, dict[str, list[str]]]:
    """Metric -> reason -> tasks, for metrics that could not be computed at all."""
    found: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for task in record["tasks"]:
        for metric, reason in task["missing_metrics"].items():
            found[metric][reason].append(task["name"])
    return {m: dict(r) for m, r in sorted(found.items())}


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "result"


def build_entry(result: Result, slug: str) -> Entry:
    record = result.record
    suite = record.get("suite") or {}
    every, missing, uncomputed = _parts(record)
    head = record.get("headline", {})
    areas = {
        a: _index(head.get("areas", {}).get(a), missing, lambda p, a=a: p.area == a)
        for a in AREAS
        if any(p.area == a for p in every)
    }
    families = {
        f: _index(head.get("families", {}).get(f), missing, lambda p, f=f: p.family == f)
        for f in sorted({p.family for p in every})
    }
    aggregates = record["aggregates"]
    return Entry(
        result=result,
        slug=slug,
        suite=suite.get("name") or record["run"].get("suite"),
        suite_version=suite.get("version", record["run"].get("suite_version")),
        split=record["run"]["split"],
        episodes={t["name"]: len(t["episodes"]) for t in record["tasks"]},
        expected=suite.get("episodes_per_task"),
        failed=sum(a["failed"] for a in aggregates.values()),
        missing_metrics=_missing_metrics(record),
        overall=_index(head.get("overall"), missing, lambda p: True),
        areas=areas,
        families=families,
        task_scores={t["name"]: _task_score(record, t, missing) for t in record["tasks"]},
        speed=_speed(record),
        parts=every - set(missing),
        uncomputed=uncomputed,
    )


def _coverage_problems(entry: Entry) -> list[str]:
    """Why a row of a suite cannot be ranked, on its own (before comparing with its group)."""
    if entry.suite is None:
        return ["not a suite run: its tasks were chosen one by one"]
    if entry.suite_version is None:
        return [f"no suite version recorded for '{entry.suite}'"]
    if entry.expected is None:
        return [
            f"the episodes '{entry.suite}' version {entry.suite_version} asks for are not recorded (the suite "
            "file at that version or a published release of it was not at hand when the result was written)"
        ]
    problems = []
    absent = [t for t in entry.expected if t not in entry.episodes]
    if absent:
        problems.append(f"tasks not run: {', '.join(absent)}")
    short = [f"{t} {entry.episodes[t]} of {n}" for t, n in entry.expected.items() if 0 < entry.episodes.get(t, 0) < n]
    if short:
        problems.append(f"limited run: {', '.join(short)} episodes")
    if entry.failed:
        problems.append(f"{entry.failed} failed episode{'s' if entry.failed != 1 else ''}")
    if entry.overall.score is None:
        problems.append("no overall index (nothing was scored)")
    return problems


def rank_entries(entries: list[Entry]) -> dict[tuple[str, int, str] | None, list[Entry]]:
    """Set each entry's ``rank`` (ranked rows) or ``unranked`` reasons; returns the
    entries by group, each group ordered ranked first (by rank), then the rest."""
    groups: dict[tuple[str, int, str] | None, list[Entry]] = defaultdict(list)
    for entry in entries:
        groups[entry.group].append(entry)
    for members in groups.values():
        for entry in members:
            entry.rank, entry.unranked = None, _coverage_problems(entry)
        complete = [e for e in members if not e.unranked and not e.reference]
        union = set().union(*(e.parts for e in complete)) if complete else set()
        for entry in complete:
            lacking = union & entry.uncomputed
            if lacking:
                named = Index(score=None, missing={p: "scored for other rows of this suite" for p in lacking})
                entry.unranked.append(f"parts other rows have were not computed: {named.missing_text()}")
        for entry in members:
            if entry.reference:
                entry.unranked.insert(0, "reference adapter (privileged): a sanity bound, not ranked")
        ranked = sorted((e for e in members if not e.unranked), key=lambda e: -(e.overall.score or 0.0))
        for position, entry in enumerate(ranked):
            tied = position and ranked[position - 1].overall.score == entry.overall.score
            entry.rank = ranked[position - 1].rank if tied else position + 1
        members.sort(key=lambda e: (e.rank is None, e.rank or 0, -(e.overall.score or -1), e.model.lower()))
    return dict(groups)


def build_entries(results: list[Result]) -> dict[tuple[str, int, str] | None, list[Entry]]:
    """Rows for ``results``, ranked within their groups (see :func:`rank_entries`)."""
    slugs: dict[str, int] = {}
    entries = []
    for result in results:
        base = slugify(result.file.parent.name if result.file.name == "result.json" else result.file.stem)
        slugs[base] = slugs.get(base, 0) + 1
        entries.append(build_entry(result, base if slugs[base] == 1 else f"{base}-{slugs[base]}"))
    return rank_entries(entries)
