"""From a run's rows to its result: the self-describing record written as
``result.json`` (see :mod:`wmbench.results.schema`), with what it derives from the rows
(:mod:`wmbench.results.derived`) and its checksum."""

from __future__ import annotations

import hashlib
from dataclasses import asdict
from pathlib import Path
from typing import Any

from wmbench._version import __version__
from wmbench.adapters.base import Adapter
from wmbench.errors import WmbenchError
from wmbench.files import write_json, write_jsonl
from wmbench.metrics import METRICS
from wmbench.registry import qualified_name
from wmbench.results.derived import derive
from wmbench.results.headline import LAW
from wmbench.results.io import record_checksum
from wmbench.results.schema import RESULT_FILE, ROWS_FILE, SCHEMA, SCHEMA_VERSION
from wmbench.run import provenance
from wmbench.run.evaluate import RunLog, RunSpec
from wmbench.run.writer import read_rows, row_key
from wmbench.tasks.catalog import get_suite, get_task
from wmbench.tasks.schema import Task
from wmbench.worlds.release import load_manifest, published_manifest
from wmbench.worlds.stack import engine_versions


def adapter_record(log: RunLog) -> dict[str, Any]:
    """How a result names the adapter that made the predictions (offline: only its name)."""
    adapter: Adapter | None = log.adapter
    if adapter is None:
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
        "name": adapter.display_name(),
        "class": qualified_name(type(adapter)),
        "config": log.spec.adapter_config,
        "privileged": adapter.privileged,
        "offline": False,
        "capabilities": adapter.capabilities(),
        "requirements": asdict(adapter.requirements),
        "details": adapter.describe(),
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


def metric_definitions(metrics: tuple[str, ...] | list[str]) -> dict[str, dict[str, Any]]:
    """How a result records its known metrics: each one's unit, direction, area and role
    (``"law"`` for a metric with a violation anchor, a penalty on its area's index;
    ``"score"`` otherwise), the floors of those normalised on a logarithmic scale, and
    the groups of metrics that count once in their area's index."""
    known = {m: METRICS[m] for m in metrics if m in METRICS}
    return {
        "metric_units": {m: cls.unit for m, cls in known.items()},
        "higher_is_better": {m: cls.higher_is_better for m, cls in known.items()},
        "metric_areas": {m: cls.area for m, cls in known.items()},
        "metric_roles": {m: LAW if cls.violation_anchor is not None else "score" for m, cls in known.items()},
        "metric_log_floors": {m: cls.log_floor for m, cls in known.items() if cls.log_floor is not None},
        "metric_groups": {m: cls.group for m, cls in known.items() if cls.group is not None},
    }


def scoring_record(task: Task) -> dict[str, Any]:
    """What the headline needs to know of a task: its name, family and metrics, with
    their :func:`metric_definitions`."""
    return {"name": task.name, "family": task.family, "metrics": list(task.metrics), **metric_definitions(task.metrics)}


def _task_record(task: Task, log: RunLog, hashes: dict[tuple, str]) -> dict[str, Any]:
    return {
        **scoring_record(task),
        "version": task.version,
        "scene": task.scene,
        "definition_sha256": task.definition_hash(),
        "resolution": task.resolution,
        "fps": task.fps,
        "context": task.context,
        "horizon": task.horizon,
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
    derived = derive(rows, task_records)
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
        "aggregates": derived["aggregates"],
        "headline": derived["headline"],
        "speed": {
            t.name: dict(log.speed[t.name], harness_ms_per_episode=derived["harness_ms_per_episode"][t.name])
            for t in log.tasks
        },
        "rows": {"file": ROWS_FILE, "count": len(rows), "sha256": digest},
    }
    result["checksum"] = record_checksum(result)
    write_json(out / RESULT_FILE, result)
    return result
