"""Evaluate one adapter on a set of tasks: the resumable run that writes a result."""

from __future__ import annotations

import hashlib
import logging
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytorch_lightning as pl
from pytorch_lightning.loggers import CSVLogger

import wmbench
from wmbench.adapters.base import Adapter, ReferenceAdapter
from wmbench.adapters.registry import load_adapter
from wmbench.errors import WmbenchError
from wmbench.metrics import METRICS, build_metrics
from wmbench.results.headline import headline
from wmbench.run import provenance
from wmbench.run.checks import check_compatible
from wmbench.run.data import EpisodeDataModule
from wmbench.run.module import EvaluationModule
from wmbench.run.writer import (RESULT_FILE, ROWS_FILE, RUN_FILE, SCHEMA, SCHEMA_VERSION, RowWriter,
                                completed, prepare_directory, read_rows, row_key, write_json, write_jsonl)
from wmbench.tasks.catalog import get_task
from wmbench.tasks.schema import Task
from wmbench.tasks.seeds import split_seeds
from wmbench.worlds.cache import EpisodeCache
from wmbench.worlds.generate import engine_versions


@dataclass(frozen=True)
class RunSpec:
    """What is evaluated: a rerun into the same directory must ask for the same."""

    adapter: str
    tasks: tuple[str, ...]
    split: str = "dev"
    limit: int | None = None
    adapter_config: dict[str, Any] = field(default_factory=dict)
    suite: str | None = None
    resolution: int | None = None


@dataclass(frozen=True)
class Execution:
    """How it runs: passed through to Lightning's ``Trainer``; never changes the scores."""

    accelerator: str = "auto"
    devices: int | str = "auto"
    strategy: str = "auto"
    num_nodes: int = 1
    precision: str | None = None
    batch_size: int = 4
    num_workers: int = 0
    on_error: str = "stop"
    progress: bool = True


def _check_same_run(out: Path, spec: RunSpec) -> None:
    import json

    path = out / RUN_FILE
    wanted = json.loads(json.dumps(asdict(spec)))
    if path.exists():
        try:
            before = json.loads(path.read_text())
        except ValueError as exc:
            raise WmbenchError(f"{path} is not valid JSON; remove the directory to start over") from exc
        if before != wanted:
            changed = sorted(k for k in wanted if before.get(k) != wanted[k])
            raise WmbenchError(f"{out} holds a different run (differs in: {', '.join(changed)}); "
                               "use another --out or remove it")
    else:
        write_json(path, wanted)


def _trainer(execution: Execution, out: Path, task: Task) -> pl.Trainer:
    return pl.Trainer(
        accelerator=execution.accelerator, devices=execution.devices, strategy=execution.strategy,
        num_nodes=execution.num_nodes, precision=execution.precision,
        logger=CSVLogger(out / "logs", name=task.name, version=0), enable_checkpointing=False,
        enable_progress_bar=execution.progress, enable_model_summary=False,
        use_distributed_sampler=False, inference_mode=True, default_root_dir=out,
    )


def _quiet_lightning() -> None:
    for name in ("pytorch_lightning", "lightning.pytorch", "lightning_fabric"):
        logging.getLogger(name).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message=".*does not have many workers.*")
    warnings.filterwarnings("ignore", message=".*LeafSpec.*")


def evaluate(spec: RunSpec, out: Path | str, cache: EpisodeCache, execution: Execution = Execution(),
             test_secret: str | None = None) -> dict[str, Any] | None:
    """Run ``spec`` into ``out``, resuming whatever is already there. Returns the result
    record on the main process (``None`` on the others)."""
    _quiet_lightning()
    out = prepare_directory(Path(out))
    adapter = load_adapter(spec.adapter, spec.adapter_config)
    tasks = [get_task(name).with_overrides(resolution=spec.resolution) for name in spec.tasks]
    _check_same_run(out, spec)
    seeds = {t.name: split_seeds(t, spec.split, spec.limit, test_secret) for t in tasks}
    rank, missing_metrics = 0, {}
    for task in tasks:
        done = completed(out)
        pending = [s for s in seeds[task.name] if (task.name, task.version, spec.split, s) not in done]
        metrics, missing = build_metrics(task.metrics, task.source)
        missing_metrics[task.name] = missing
        if not pending:
            continue
        first = cache.get(task, spec.split, pending[0])
        check_compatible(adapter, task, has_actions=first.truth.actions is not None)
        trainer = _trainer(execution, out, task)
        rank = trainer.global_rank
        module = EvaluationModule(adapter, task, metrics, RowWriter(out, rank), execution.on_error)
        data = EpisodeDataModule(task, spec.split, pending, cache, execution.batch_size, execution.num_workers)
        trainer.test(module, datamodule=data, verbose=False)
        trainer.strategy.barrier()
    if rank != 0:
        return None
    return finalise(out, spec, adapter_record(spec, adapter), tasks, seeds, missing_metrics, asdict(execution))


def _summary(values: list[float]) -> dict[str, float | int | None]:
    array = np.asarray(values, dtype=np.float64)
    if not array.size:
        return {"mean": None, "std": None, "count": 0}
    return {"mean": float(array.mean()), "std": float(array.std(ddof=1)) if array.size > 1 else 0.0,
            "count": int(array.size)}


def aggregate(rows: list[dict[str, Any]], metric_names: dict[str, tuple[str, ...]]) -> dict[str, Any]:
    """Per task: each metric's mean, std and count over episodes that have a value, and
    how many episodes lack it (missing values are never counted as 0)."""
    result: dict[str, Any] = {}
    for task, names in metric_names.items():
        ok = [r for r in rows if r["task"] == task and r["status"] == "ok"]
        entry: dict[str, Any] = {"episodes": sum(r["task"] == task for r in rows), "failed":
                                 sum(r["task"] == task and r["status"] != "ok" for r in rows), "metrics": {}}
        for name in names:
            values = [r["metrics"][name] for r in ok if r["metrics"].get(name) is not None]
            entry["metrics"][name] = dict(_summary(values), missing=len(ok) - len(values))
        latencies = [r["latency_ms"] / r["batch_size"] for r in ok if r["latency_ms"] is not None]
        entry["latency_ms_per_episode"] = {"p50": float(np.percentile(latencies, 50)) if latencies else None}
        result[task] = entry
    return result


def adapter_record(spec: RunSpec, adapter: Adapter) -> dict[str, Any]:
    """How a result names the adapter that made the predictions."""
    cls = type(adapter)
    return {"spec": spec.adapter, "name": adapter.display_name(), "class": f"{cls.__module__}:{cls.__qualname__}",
            "config": spec.adapter_config, "privileged": isinstance(adapter, ReferenceAdapter), "offline": False,
            "capabilities": cls.capabilities(), "requirements": asdict(cls.requirements)}


def finalise(out: Path, spec: RunSpec, adapter: dict[str, Any], tasks: list[Task], seeds: dict[str, list[int]],
             missing_metrics: dict[str, dict[str, str]], execution: dict[str, Any]) -> dict[str, Any]:
    """Merge the rows into ``episodes.jsonl`` and write ``result.json``; ``adapter`` and
    ``execution`` are the records of who made the predictions and how they ran."""
    wanted = {(t.name, t.version, spec.split, s) for t in tasks for s in seeds[t.name]}
    rows = [r for r in read_rows(out) if row_key(r) in wanted]
    write_jsonl(out / ROWS_FILE, rows)
    digest = hashlib.sha256((out / ROWS_FILE).read_bytes()).hexdigest()
    hashes = {row_key(r): r["episode_hash"] for r in rows}
    task_records = [{
        "name": t.name, "version": t.version, "family": t.family, "scene": t.scene,
        "definition_sha256": t.definition_hash(), "resolution": t.resolution, "fps": t.fps,
        "context": t.context, "horizon": t.horizon, "metrics": list(t.metrics),
        "metric_units": {m: METRICS[m].unit for m in t.metrics if m in METRICS},
        "higher_is_better": {m: METRICS[m].higher_is_better for m in t.metrics if m in METRICS},
        "metric_areas": {m: METRICS[m].area for m in t.metrics if m in METRICS},
        "missing_metrics": missing_metrics.get(t.name, {}),
        "episodes": [{"seed": s, "episode_hash": hashes.get((t.name, t.version, spec.split, s))}
                     for s in seeds[t.name]],
    } for t in tasks]
    result = {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "created": provenance.now(),
        "wmbench": {"version": wmbench.__version__, "git_revision": provenance.git_revision()},
        "run": asdict(spec),
        "adapter": adapter,
        "tasks": task_records,
        "execution": execution,
        "environment": dict(provenance.environment(), engine=engine_versions()),
        "aggregates": aggregate(rows, {t.name: t.metrics for t in tasks}),
        "headline": headline(rows, task_records),
        "rows": {"file": ROWS_FILE, "count": len(rows), "sha256": digest},
    }
    write_json(out / RESULT_FILE, result)
    return result
