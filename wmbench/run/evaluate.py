"""Evaluate one adapter on a set of tasks: the resumable run that writes a result."""

from __future__ import annotations

import hashlib
import json
import importlib.util
import logging
import signal
import threading
import warnings
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import pytorch_lightning as pl
from pytorch_lightning.loggers import CSVLogger, Logger, TensorBoardLogger
from pytorch_lightning.utilities.exceptions import SIGTERMException

import wmbench
from wmbench.adapters.base import Adapter, ReferenceAdapter
from wmbench.adapters.registry import load_adapter
from wmbench.errors import Interrupted, WmbenchError
from wmbench.metrics import METRICS, build_metrics
from wmbench.metrics.base import check_metric_names
from wmbench.metrics.headline import headline
from wmbench.metrics.per_episode import pooled_summaries
from wmbench.metrics.reference_cache import ReferenceCache
from wmbench.run import provenance
from wmbench.run.checks import adapter_inputs, as_float, call_adapter, check_compatible, chunks
from wmbench.run.data import EpisodeDataModule, collate
from wmbench.run.module import EvaluationModule
from wmbench.run.speed import harness_overhead, measure_speed
from wmbench.run.writer import (RESULT_FILE, ROWS_FILE, RUN_FILE, SCHEMA, SCHEMA_VERSION, SPEED_DIR, RowWriter,
                                completed, prepare_directory, read_json, read_rows, row_key, write_json,
                                write_jsonl)
from wmbench.tasks.catalog import get_task
from wmbench.tasks.schema import Task
from wmbench.tasks.seeds import split_seeds
from wmbench.worlds.cache import EpisodeCache, EpisodeSource
from wmbench.worlds.release import Release
from wmbench.worlds.scenes import check_task
from wmbench.worlds.stack import engine_versions


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
    suite_version: int | None = None
    #: The release whose episodes are evaluated (its id), instead of generated ones.
    data: str | None = None


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
    logger: str = "csv"


LOGGERS = ("csv", "tensorboard", "none")


def _check_same_run(out: Path, spec: RunSpec) -> None:
    path = out / RUN_FILE
    wanted = json.loads(json.dumps(asdict(spec)))
    if path.exists():
        before = read_json(path, WmbenchError)
        if before != wanted:
            changed = sorted(k for k in wanted if before.get(k) != wanted[k])
            raise WmbenchError(f"{out} holds a different run (differs in: {', '.join(changed)}); "
                               "use another --out or remove it")
    else:
        write_json(path, wanted)


def _logger(kind: str, out: Path, task: Task) -> Logger | bool:
    if kind == "csv":
        return CSVLogger(out / "logs", name=task.name, version=0)
    if kind == "tensorboard":
        return TensorBoardLogger(out / "logs", name=task.name, version=0, default_hp_metric=False)
    return False


def _check_logger(kind: str) -> None:
    if kind not in LOGGERS:
        raise WmbenchError(f"unknown logger '{kind}' (known: {', '.join(LOGGERS)})")
    if kind == "tensorboard" and not any(importlib.util.find_spec(m) for m in ("tensorboard", "tensorboardX")):
        raise WmbenchError("logger 'tensorboard' needs the tensorboard package: pip install tensorboard")


def _trainer(execution: Execution, out: Path, task: Task) -> pl.Trainer:
    return pl.Trainer(
        accelerator=execution.accelerator, devices=execution.devices, strategy=execution.strategy,
        num_nodes=execution.num_nodes, precision=execution.precision,
        logger=_logger(execution.logger, out, task), enable_checkpointing=False,
        enable_progress_bar=execution.progress, enable_model_summary=False,
        use_distributed_sampler=False, inference_mode=True, default_root_dir=out,
    )


def _quiet_lightning() -> None:
    for name in ("pytorch_lightning", "lightning.pytorch", "lightning_fabric"):
        logging.getLogger(name).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message=".*does not have many workers.*")
    warnings.filterwarnings("ignore", message=".*LeafSpec.*")
    warnings.filterwarnings("ignore", message=".*when logging on epoch level in distributed setting.*")
    warnings.filterwarnings("ignore", message=".*compute.* method of metric .* was called before the .*update.*")


@contextmanager
def _interrupts(progress: Callable[[], str]) -> Iterator[None]:
    """Turn Ctrl-C and SIGTERM into :class:`Interrupted`. SIGTERM raises
    ``KeyboardInterrupt`` (which adapters' ``except Exception`` cannot swallow), so that
    Lightning, when it is running, tears down cleanly as for Ctrl-C and then exits."""
    main = threading.current_thread() is threading.main_thread()
    received = {"name": "Ctrl-C", "code": 128 + signal.SIGINT}

    def on_sigterm(signum: int, frame: object) -> None:
        received.update(name="SIGTERM", code=128 + signal.SIGTERM)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_sigterm) if main else None
    try:
        yield
    except KeyboardInterrupt as exc:
        raise Interrupted(received["name"], received["code"], progress()) from exc
    except SystemExit as exc:  # Lightning's exit after it tore down on a KeyboardInterrupt
        if exc.code in (None, 0) and not isinstance(exc, SIGTERMException):
            raise
        raise Interrupted(received["name"], received["code"], progress()) from exc
    finally:
        if main:
            signal.signal(signal.SIGTERM, previous)


def _speed_path(out: Path, task: Task) -> Path:
    return out / SPEED_DIR / f"{task.name}@{task.version}.json"


def _measure_speed(trainer: pl.Trainer, adapter: Adapter, task: Task, episodes: list) -> dict[str, Any]:
    """The speed protocol on the device Lightning chose, with its precision context."""
    device = trainer.strategy.root_device
    batch = collate(episodes)
    actions = None if batch.actions is None else batch.actions.to(device)
    inputs = adapter_inputs(adapter, as_float(batch.context.to(device)), actions, task.horizon, task.fps)
    predict = lambda x: call_adapter(adapter, chunks(x, adapter.requirements.max_batch_size))  # noqa: E731
    return measure_speed(adapter, inputs, task, device, predict, str(trainer.precision),
                         trainer.precision_plugin.forward_context)


def evaluate(spec: RunSpec, out: Path | str, cache: EpisodeCache, execution: Execution = Execution(),
             test_secret: str | None = None, release: Release | None = None) -> dict[str, Any] | None:
    """Run ``spec`` into ``out``, resuming whatever is already there. Returns the result
    record on the main process (``None`` on the others). Each task's speed is measured
    once, on the main process, after its episodes (see :mod:`wmbench.run.speed`).

    With a ``release`` (whose id ``spec.data`` names), its tasks and exact episodes are
    evaluated; nothing is generated. ``cache`` still keeps the reference scores."""
    _quiet_lightning()
    _check_logger(execution.logger)
    out = prepare_directory(Path(out))
    adapter = load_adapter(spec.adapter, spec.adapter_config)
    if release is not None:
        tasks = [t for t in release.tasks if t.name in spec.tasks]
        seeds = {t.name: release.seeds(t)[: spec.limit] for t in tasks}
        episodes: EpisodeSource = release
    else:
        tasks = [get_task(name).with_overrides(resolution=spec.resolution) for name in spec.tasks]
        for task in tasks:
            check_task(task)
        seeds = {t.name: split_seeds(t, spec.split, spec.limit, test_secret) for t in tasks}
        episodes = cache
    for task in tasks:
        check_metric_names(task.metrics, task.source)
    _check_same_run(out, spec)
    total = sum(len(s) for s in seeds.values())
    progress = lambda: f"{len(completed(out))} of {total} episodes done, kept in {out}"  # noqa: E731
    rank, missing_metrics, references = 0, {}, ReferenceCache.alongside(cache)
    with _interrupts(progress):
        for task in tasks:
            done = completed(out)
            pending = [s for s in seeds[task.name] if (task.name, task.version, spec.split, s) not in done]
            metrics, missing = build_metrics(task.metrics, task.source)
            missing_metrics[task.name] = missing
            speed_path = _speed_path(out, task)
            if not pending and speed_path.exists():
                continue
            sample = [episodes.get(task, spec.split, s) for s in seeds[task.name][: execution.batch_size]]
            check_compatible(adapter, task, has_actions=sample[0].truth.actions is not None)
            trainer = _trainer(execution, out, task)
            rank = trainer.global_rank
            module = EvaluationModule(adapter, task, metrics, RowWriter(out, rank), execution.on_error, references)
            data = EpisodeDataModule(task, spec.split, pending, episodes, execution.batch_size, execution.num_workers)
            trainer.test(module, datamodule=data, verbose=False)
            if trainer.is_global_zero and not speed_path.exists():
                write_json(speed_path, _measure_speed(trainer, adapter, task, sample))
            trainer.strategy.barrier()
    if rank != 0:
        return None
    return finalise(out, spec, adapter_record(spec, adapter), tasks, seeds, missing_metrics, asdict(execution),
                    {t.name: _read_speed(out, t) for t in tasks})


def _summary(values: list[float]) -> dict[str, float | int | None]:
    array = np.asarray(values, dtype=np.float64)
    if not array.size:
        return {"mean": None, "std": None, "count": 0}
    return {"mean": float(array.mean()), "std": float(array.std(ddof=1)) if array.size > 1 else 0.0,
            "count": int(array.size)}


def aggregate(rows: list[dict[str, Any]], metric_names: dict[str, tuple[str, ...]]) -> dict[str, Any]:
    """Per task: each metric's mean, std and count over episodes that have a value, and
    how many episodes lack it (missing values are never counted as 0); the pooled
    metrics' summaries over every episode's items (``pooled``)."""
    result: dict[str, Any] = {}
    for task, names in metric_names.items():
        ok = [r for r in rows if r["task"] == task and r["status"] == "ok"]
        entry: dict[str, Any] = {"episodes": sum(r["task"] == task for r in rows), "failed":
                                 sum(r["task"] == task and r["status"] != "ok" for r in rows), "metrics": {}}
        for name in names:
            values = [r["metrics"][name] for r in ok if r["metrics"].get(name) is not None]
            entry["metrics"][name] = dict(_summary(values), missing=len(ok) - len(values))
        entry["pooled"] = pooled_summaries(ok, names)
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


def _read_speed(out: Path, task: Task) -> dict[str, Any]:
    path = _speed_path(out, task)
    if not path.exists():
        return {"measured": False, "reason": "the speed protocol did not run (no episode of this task was run)"}
    return json.loads(path.read_text(encoding="utf-8"))


def finalise(out: Path, spec: RunSpec, adapter: dict[str, Any], tasks: list[Task], seeds: dict[str, list[int]],
             missing_metrics: dict[str, dict[str, str]], execution: dict[str, Any],
             speed: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Merge the rows into ``episodes.jsonl`` and write ``result.json``; ``adapter``,
    ``execution`` and ``speed`` (per task) record who made the predictions, how they ran
    and how fast."""
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
        "speed": {t.name: dict(speed[t.name], harness_ms_per_episode=harness_overhead(
            [r for r in rows if r["task"] == t.name])) for t in tasks},
        "rows": {"file": ROWS_FILE, "count": len(rows), "sha256": digest},
    }
    write_json(out / RESULT_FILE, result)
    return result
