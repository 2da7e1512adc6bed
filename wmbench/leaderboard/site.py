"""The static leaderboard site: plain HTML, CSS, a small script and SVG/PNG/GIF files.

Layout of the output directory::

    index.html             ranked table per suite version and split, rows listed apart,
                           charts, per-family tables, the tasks
    models/<slug>.html     one page per result: run record, per-task tables, predictions
    models/<slug>/<task>/  the kept predictions' strips, animations and curves
    tasks/<name>.html      one page per task: picture, what it tests, each model's scores
    tasks/<name>.png       the task's picture (dev episodes)
    plots/*.svg            the charts
    assets/site.css, assets/site.js

Every link is relative and nothing is fetched from elsewhere, so the folder works
opened from disk as well as served (e.g. by GitHub Pages).
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from wmbench._version import __version__
from wmbench.errors import OutputError
from wmbench.leaderboard import format as fmt
from wmbench.leaderboard import plots
from wmbench.leaderboard.entries import AREAS, Entry, Index
from wmbench.metrics import METRICS
from wmbench.run.pictures import draw_result
from wmbench.run.saved import saved_predictions
from wmbench.tasks.catalog import get_task
from wmbench.tasks.seeds import split_seeds
from wmbench.worlds.cache import EpisodeCache
from wmbench.worlds.pictures import save_picture

STATIC = Path(__file__).parent / "static"
TASK_PICTURE_EPISODES = 2


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("wmbench.leaderboard", "templates"),
        autoescape=select_autoescape(),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(fmt=fmt, version=__version__)
    return env


def _write(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc


def _group_view(key, members: list[Entry], out: Path, index: int) -> dict[str, Any]:
    shown = [e for e in members if e.rank is not None or e.reference]
    missing: dict[str, set[str]] = {}
    for e in members:
        for metric, reasons in e.missing_metrics.items():
            missing.setdefault(metric, set()).update(reasons)
    charts = [
        plots.pareto(shown, out / "plots" / f"pareto-{index}.svg", f"plots/pareto-{index}.svg"),
        plots.families(shown, out / "plots" / f"families-{index}.svg", f"plots/families-{index}.svg"),
    ]
    return {
        "title": fmt.group_title(key),
        "shown": shown,
        "apart": [e for e in members if e.rank is None and not e.reference],
        "areas": [a for a in AREAS if any(a in e.areas for e in members)],
        "families": sorted({f for e in members for f in e.families}),
        "devices": sorted({e.speed.device for e in shown}),
        "missing_metrics": {m: "; ".join(sorted(r)) for m, r in sorted(missing.items())},
        "plots": [c for c in charts if c is not None],
    }


def _record_view(e: Entry) -> list[tuple[str, str]]:
    """The run record as label/value pairs (every value a readable string)."""
    record = e.result.record
    adapter, env, run = record["adapter"], record["environment"], record["run"]
    expected = e.expected or {}
    hardware, libraries = env.get("hardware", {}), env.get("libraries", {})
    execution = record.get("execution", {})
    suite = f"{e.suite} version {e.suite_version}" if e.suite_version else (e.suite or "none (tasks chosen one by one)")
    missing = "; ".join(
        f"{m}: {r} ({', '.join(t)})" for m, reasons in e.missing_metrics.items() for r, t in reasons.items()
    )
    rows = [
        ("model", e.model),
        ("adapter", adapter.get("spec") or ("offline predictions" if adapter.get("offline") else "–")),
        ("adapter class", adapter.get("class") or "–"),
        ("adapter config", json.dumps(adapter.get("config") or {}, sort_keys=True)),
        ("suite", suite),
        ("split", e.split),
        (
            "episodes per task",
            ", ".join(
                f"{t} {n}" + (f" of {expected[t]}" if expected.get(t, n) != n else "") for t, n in e.episodes.items()
            ),
        ),
        ("failed episodes", str(e.failed)),
        ("limited run", "yes" if e.limited else "no"),
        ("missing metrics", missing or "none"),
        ("device", e.speed.device + (f", precision {e.speed.precision}" if e.speed.precision else "")),
        (
            "hardware",
            f"{hardware.get('machine', '–')}, {hardware.get('cpu_count', '–')} CPU cores, "
            f"{fmt.number(hardware.get('memory_gib'))} GiB"
            + (f", GPUs: {', '.join(hardware['gpus'])}" if hardware.get("gpus") else ", no GPU"),
        ),
        ("batch size", str(execution.get("batch_size", "–"))),
        (
            "wmbench",
            f"{record['wmbench']['version']}"
            + (f" ({record['wmbench']['git_revision']})" if record["wmbench"].get("git_revision") else ""),
        ),
        ("python", env.get("python", "–")),
        ("libraries", ", ".join(f"{k} {v}" for k, v in libraries.items() if v)),
        ("created", record["created"]),
        ("rows SHA-256", record["rows"]["sha256"]),
    ]
    if run.get("resolution"):
        rows.insert(6, ("resolution override", f"{run['resolution']} px"))
    if run.get("data"):
        rows.insert(6, ("episodes from", f"the released dataset {run['data']}"))
    return rows


def _speed_text(speed: dict[str, Any]) -> str:
    if not speed.get("measured"):
        return f"not measured ({speed.get('reason', 'no reason recorded')})"
    latency = speed.get("step_latency_ms") or {}
    cut = "; the speed budget ran out before every kind of call was timed" if speed.get("budget_spent") else ""
    return (
        f"{fmt.number(speed.get('throughput_frames_per_s'))} frames/s at batch {speed['batch_size']}; step latency "
        f"p50 {fmt.number(latency.get('p50'))} ms, p95 {fmt.number(latency.get('p95'))} ms, p99 "
        f"{fmt.number(latency.get('p99'))} ms; real-time factor {fmt.number(speed.get('real_time_factor'))}"
        + _spread_text(speed)
        + cut
    )


def _spread_text(speed: dict[str, Any]) -> str:
    """The step latency's spread and the calls behind it, with the protocol's flag
    (results measured before the protocol recorded a spread have neither)."""
    latency = speed.get("step_latency_ms") or {}
    if "relative_iqr" not in latency:
        return ""
    wide = [
        {"step_latency_ms": "steps", "predict_latency_ms": "predict calls"}.get(k, k)
        for k in speed.get("spread_too_wide", [])
    ]
    flag = f"; spread too wide to compare ({', '.join(wide)})" if wide else ""
    return f"; step IQR {100 * latency['relative_iqr']:.0f}% of p50 over {latency['count']} steps{flag}"


def _task_views(e: Entry, pictures: dict[str, Any]) -> list[dict[str, Any]]:
    record = e.result.record
    views = []
    for task in record["tasks"]:
        name = task["name"]
        aggregates = record["aggregates"].get(name, {"episodes": 0, "failed": 0, "metrics": {}})
        scores = record.get("headline", {}).get("tasks", {}).get(name, {})
        rows = []
        for metric in task["metrics"]:
            stats = aggregates["metrics"].get(metric, {})
            normalised = scores.get(metric) or {}
            missing = task["missing_metrics"].get(metric) or normalised.get("missing")
            rows.append(
                {
                    "metric": metric,
                    "area": task["metric_areas"].get(metric, "–"),
                    "mean": stats.get("mean"),
                    "unit": task["metric_units"].get(metric, "–"),
                    "direction": "higher is better"
                    if task["higher_is_better"].get(metric, True)
                    else "lower is better",
                    "index": Index(score=normalised.get("score"), ci=normalised.get("ci")),
                    "missing": missing,
                }
            )
        drawn = pictures.get(name)
        views.append(
            {
                "name": name,
                "version": task["version"],
                "episodes": aggregates["episodes"],
                "failed": aggregates["failed"],
                "metrics": rows,
                "speed": _speed_text(record.get("speed", {}).get(name, {})),
                "pictures": drawn["pictures"] if drawn else [],
                "curves": drawn["curves"] if drawn else None,
            }
        )
    return views


def _draw_predictions(e: Entry, out: Path, cache: EpisodeCache) -> dict[str, Any]:
    """Draw the result's kept predictions under ``models/<slug>/``; paths relative to ``models/``."""
    result_dir = e.result.file.parent
    if not saved_predictions(result_dir):
        return {}
    drawn = {}
    for d in draw_result(result_dir, e.result.record, out / "models" / e.slug, cache, tracks=True):
        rel = lambda p: p.relative_to(out / "models").as_posix()  # noqa: E731
        drawn[d.task] = {
            "curves": rel(d.curves),
            "pictures": [
                {
                    "strip": rel(d.strips[seed]),
                    "animation": rel(d.animations[seed]),
                    "alt": f"{e.model} on {d.task}, episode {i} (seed {seed}): rows truth, prediction and difference "
                    "over the predicted future, with the object tracks extracted from the prediction",
                    "caption": f"Episode {i} (seed {seed}): truth, prediction (with the tracks read from it) and their "
                    "difference.",
                }
                for i, seed in enumerate(d.strips)
            ],
        }
    return drawn


def _task_page(env: Environment, name: str, entries: list[Entry], out: Path, cache: EpisodeCache) -> None:
    task = get_task(name)
    seeds = split_seeds(task, "dev", TASK_PICTURE_EPISODES)
    picture = None
    if seeds:
        save_picture([cache.get(task, "dev", s) for s in seeds], out / "tasks" / f"{name}.png", tracks=True)
        picture = f"{name}.png"
    areas: dict[str, list[str]] = {}
    for metric in task.metrics:
        areas.setdefault(METRICS[metric].area if metric in METRICS else "unknown", []).append(metric)
    rows = []
    for e in entries:
        if name in e.episodes:
            rows.append(
                {
                    "entry": e,
                    "episodes": e.episodes[name],
                    "areas": e.result.record.get("headline", {}).get("task_areas", {}).get(name, {}),
                }
            )
    area_names = sorted({a for r in rows for a in r["areas"]})
    _write(
        out / "tasks" / f"{name}.html",
        env.get_template("task.html").render(
            root="../",
            task=task,
            picture=picture,
            areas=areas,
            rows=rows,
            area_names=area_names,
            picture_alt=f"{name}: {len(seeds)} dev episodes, context frames then the true future, with the objects' "
            "true tracks",
            picture_caption="Dev episodes, one per row: the context (blue) and the true "
            "future (orange), with each object's true track.",
            **_footer(entries),
        ),
    )


def _footer(entries: list[Entry]) -> dict[str, Any]:
    return {"built": datetime.now(UTC).strftime("%Y-%m-%d"), "count": len(entries)}


def write_site(groups: dict[tuple | None, list[Entry]], out: Path, cache: EpisodeCache) -> Path:
    """Write the site for ``groups`` (from :func:`~wmbench.leaderboard.entries.build_entries`)
    into ``out``; returns the path of ``index.html``."""
    env = _environment()
    entries = [e for members in groups.values() for e in members]
    for folder in ("models", "tasks", "plots"):
        shutil.rmtree(out / folder, ignore_errors=True)
    try:
        shutil.copytree(STATIC, out / "assets", dirs_exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot write {out / 'assets'}: {exc.strerror or exc}") from exc
    order = sorted(groups, key=lambda k: (k is None, -sum(e.rank is not None for e in groups[k])))
    views = [_group_view(key, groups[key], out, i + 1) for i, key in enumerate(order)]
    task_names = list(dict.fromkeys(t for e in entries for t in e.episodes))
    task_info = [get_task(t) for t in task_names]
    family_views = []
    for family in sorted({t.family for t in task_info}):
        members = [e for e in entries if family in e.families]
        members.sort(key=lambda e: (e.families[family].score is None, -(e.families[family].score or 0)))
        family_views.append(
            {"name": family, "entries": members, "tasks": [t.name for t in task_info if t.family == family]}
        )
    for e in entries:
        key = e.group
        chart = plots.model_profile(e, out / "models" / e.slug / "indices.svg", f"{e.slug}/indices.svg")
        _write(
            out / "models" / f"{e.slug}.html",
            env.get_template("model.html").render(
                root="../",
                e=e,
                chart=chart,
                record=_record_view(e),
                tasks=_task_views(e, _draw_predictions(e, out, cache)),
                group_title=fmt.group_title(key),
                ranked_count=sum(x.rank is not None for x in groups[key]),
                **_footer(entries),
            ),
        )
    for name in task_names:
        _task_page(env, name, entries, out, cache)
    index = out / "index.html"
    _write(
        index,
        env.get_template("index.html").render(
            root="", groups=views, families=family_views, tasks=task_info, **_footer(entries)
        ),
    )
    return index
