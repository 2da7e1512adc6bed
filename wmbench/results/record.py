"""From a run's rows to its result: aggregates, pooled summaries, headline scores, and
the self-describing record written as ``result.json`` (see :mod:`wmbench.results.schema`).
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from wmbench._version import __version__
from wmbench.adapters.base import Adapter
from wmbench.errors import WmbenchError
from wmbench.files import write_json, write_jsonl
from wmbench.metrics import METRICS
from wmbench.metrics.pooled import PooledEpisodeMetric
from wmbench.registry import qualified_name
from wmbench.results.headline import headline
from wmbench.results.schema import RESULT_FILE, ROWS_FILE, SCHEMA, SCHEMA_VERSION
from wmbench.run import provenance
from wmbench.run.evaluate import RunLog, RunSpec
from wmbench.run.writer import read_rows, row_key
from wmbench.tasks.catalog import get_suite, get_task
from wmbench.tasks.schema import Task
from wmbench.worlds.release import load_manifest, published_manifest
from wmbench.worlds.stack import engine_versions


def _summary(values: list[float]) -> dict[str, float | int | None]:
    array = np.asarray(values, dtype=np.float64)
    if not array.size:
        return {"mean": None, "std": None, "count": 0}
    return {
        "mean": float(array.mean()),
        "std": float(array.std(ddof=1)) if array.size > 1 else 0.0,
        "count": int(array.size),
    }


def pooled_summaries(rows: list[dict[str, Any]], names: tuple[str, ...]) -> dict[str, Any]:
    """Per pooled metric among ``names``: its summary over the items of ``rows``
    (:meth:`PooledEpisodeMetric.summarise_rows`), ``None`` when no row has any."""
    out = {}
    for name in names:
        cls = METRICS.get(name)
        if cls is not None and issubclass(cls, PooledEpisodeMetric):
            out[name] = cls.summarise_rows([r["pooled"][name] for r in rows if name in r.get("pooled", {})])
    return out


def aggregate(rows: list[dict[str, Any]], metric_names: dict[str, tuple[str, ...]]) -> dict[str, Any]:
    """Per task: each metric's mean, std and count over episodes that have a value, and
    how many episodes lack it (missing values are never counted as 0); the pooled
    metrics' summaries over every episode's items (``pooled``)."""
    result: dict[str, Any] = {}
    for task, names in metric_names.items():
        ok = [r for r in rows if r["task"] == task and r["status"] == "ok"]
        entry: dict[str, Any] = {
            "episodes": sum(r["task"] == task for r in rows),
            "failed": sum(r["task"] == task and r["status"] != "ok" for r in rows),
            "metrics": {},
        }
        for name in names:
            values = [r["metrics"][name] for r in ok if r["metrics"].get(name) is not None]
            entry["metrics"][name] = dict(_summary(values), missing=len(ok) - len(values))
        entry["pooled"] = pooled_summaries(ok, names)
        latencies = [r["latency_ms"] / r["batch_size"] for r in ok if r["latency_ms"] is not None]
        entry["latency_ms_per_episode"] = {"p50": float(np.percentile(latencies, 50)) if latencies else None}
        result[task] = entry
    return result


def harness_overhead(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Per-episode means (ms) over a task's successful rows of the model time and of the
    harness's own time: data (loading, collating, moving to the device) and scoring
    (input preparation, output checks, resizing, metrics)."""
    ok = [r for r in rows if r["status"] == "ok" and "overhead_ms" in r]
    if not ok:
        return {"episodes": 0, "model_ms": None, "data_ms": None, "scoring_ms": None, "overhead_fraction": None}

    def per_episode(value: float, row: dict[str, Any]) -> float:  # batch times, shared by the batch's rows
        return value / row["batch_size"]

    model = float(np.mean([per_episode(r["latency_ms"], r) for r in ok]))
    data = float(np.mean([per_episode(r["overhead_ms"]["data"], r) for r in ok]))
    scoring = float(np.mean([per_episode(r["overhead_ms"]["scoring"], r) for r in ok]))
    return {
        "episodes": len(ok),
        "model_ms": model,
        "data_ms": data,
        "scoring_ms": scoring,
        "overhead_fraction": (data + scoring) / (model + data + scoring) if model + data + scoring else None,
    }


def adapter_record(log: RunLog) -> dict[str, Any]:
    """How a result names the adapter that made the predictions (offline: only its name)."""
    cls: type[Adapter] | None = log.adapter
    if cls is None:
        return {
            "spec": None,
            "name": log.spec.adapter,
            "class": None,
            "config": {},
            "privileged": False,
            "offline": True,
            "capabilities": [],
            "requirements": None,
        }
    return {
        "spec": log.spec.adapter,
        "name": cls.display_name(),
        "class": qualified_name(cls),
        "config": log.spec.adapter_config,
        "privileged": cls.privileged,
        "offline": False,
        "capabilities": cls.capabilities(),
        "requirements": asdict(cls.requirements),
    }


def suite_record(spec: RunSpec) -> dict[str, Any] | None:
    """The suite a run belongs to (``None`` for loose tasks): its name, the version the
    run recorded (``spec.suite_version``; a ``--data`` run records its release's suite),
    and that version's tasks and episodes per task on the run's split, which a complete
    run covers. Those come from the suite file when it is at that version, else from the
    published release of that version; both are ``None`` when neither is here."""
    if spec.suite is None:
        return None
    record: dict[str, Any] = {
        "name": spec.suite,
        "version": spec.suite_version,
        "tasks": None,
        "episodes_per_task": None,
    }
    try:
        suite = get_suite(spec.suite)
    except WmbenchError:  # a release's suite that this wmbench does not ship
        suite = None
    if suite is not None and suite.version == spec.suite_version:
        cap = suite.episodes
        counts = {t: get_task(t).episodes.get(spec.split, 0) for t in suite.tasks}
        expected = {t: n if cap is None else min(n, cap) for t, n in counts.items()}
        return dict(record, name=suite.name, tasks=list(suite.tasks), episodes_per_task=expected)
    published = published_manifest(spec.suite, spec.suite_version, spec.split) if spec.suite_version else None
    if published is not None:
        tasks = load_manifest(published)["tasks"]
        return dict(
            record, tasks=[t["name"] for t in tasks], episodes_per_task={t["name"]: len(t["episodes"]) for t in tasks}
        )
    return record


def _task_record(task: Task, log: RunLog, hashes: dict[tuple, str]) -> dict[str, Any]:
    known = {m: METRICS[m] for m in task.metrics if m in METRICS}
    return {
        "name": task.name,
        "version": task.version,
        "family": task.family,
        "scene": task.scene,
        "definition_sha256": task.definition_hash(),
        "resolution": task.resolution,
        "fps": task.fps,
        "context": task.context,
        "horizon": task.horizon,
        "metrics": list(task.metrics),
        "metric_units": {m: cls.unit for m, cls in known.items()},
        "higher_is_better": {m: cls.higher_is_better for m, cls in known.items()},
        "metric_areas": {m: cls.area for m, cls in known.items()},
        "missing_metrics": log.missing_metrics.get(task.name, {}),
        "episodes": [
            {"seed": s, "episode_hash": hashes.get((task.name, task.version, log.spec.split, s))}
            for s in log.seeds[task.name]
        ],
    }


def write_result(log: RunLog) -> dict[str, Any]:
    """Merge the run's rows into ``episodes.jsonl`` and write ``result.json`` beside them;
    returns the record."""
    out: Path = log.out
    wanted = {(t.name, t.version, log.spec.split, s) for t in log.tasks for s in log.seeds[t.name]}
    rows = [r for r in read_rows(out) if row_key(r) in wanted]
    write_jsonl(out / ROWS_FILE, rows)
    digest = hashlib.sha256((out / ROWS_FILE).read_bytes()).hexdigest()
    hashes = {row_key(r): r["episode_hash"] for r in rows}
    task_records = [_task_record(t, log, hashes) for t in log.tasks]
    result = {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "created": provenance.now(),
        "wmbench": {"version": __version__, "git_revision": provenance.git_revision()},
        "run": asdict(log.spec),
        "suite": suite_record(log.spec),
        "adapter": adapter_record(log),
        "tasks": task_records,
        "execution": log.execution,
        "environment": dict(provenance.environment(), engine=engine_versions()),
        "aggregates": aggregate(rows, {t.name: t.metrics for t in log.tasks}),
        "headline": headline(rows, task_records),
        "speed": {
            t.name: dict(
                log.speed[t.name], harness_ms_per_episode=harness_overhead([r for r in rows if r["task"] == t.name])
            )
            for t in log.tasks
        },
        "rows": {"file": ROWS_FILE, "count": len(rows), "sha256": digest},
    }
    write_json(out / RESULT_FILE, result)
    return result
