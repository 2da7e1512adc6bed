"""Evaluate one adapter on a set of tasks: the resumable run that writes a result."""

from __future__ import annotations

import json
import logging
import signal
import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, cast

import pytorch_lightning as pl
from pytorch_lightning.loggers import Logger
from pytorch_lightning.utilities.exceptions import MisconfigurationException, SIGTERMException

from wmbench.adapters.base import Adapter
from wmbench.adapters.registry import load_adapter
from wmbench.errors import Interrupted, MetricUnavailableWarning, WmbenchError
from wmbench.files import read_json, write_json
from wmbench.frames import as_float
from wmbench.metrics import build_metrics
from wmbench.metrics.base import check_metric_names, unavailable_metrics
from wmbench.metrics.references import ReferenceCache
from wmbench.run.checks import check_compatible
from wmbench.run.data import EpisodeDataModule, collate
from wmbench.run.harness import Harness
from wmbench.run.isolated import Hidden, IsolatedAdapter, start_isolated
from wmbench.run.loggers import RunLoggers, check_logger
from wmbench.run.module import EvaluationModule
from wmbench.run.saved import PredictionSaver
from wmbench.run.scoring_pool import ScoringPool
from wmbench.run.speed import measure_speed
from wmbench.run.writer import RUN_FILE, SPEED_DIR, RowWriter, completed, prepare_directory
from wmbench.tasks.catalog import get_task
from wmbench.tasks.schema import Task
from wmbench.tasks.seeds import split_seeds
from wmbench.worlds.cache import EpisodeCache, EpisodeSource
from wmbench.worlds.release import Release
from wmbench.worlds.scenes import check_task


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

    @classmethod
    def of_release(cls, release: Release, adapter: str, limit: int | None = None,
                   adapter_config: dict[str, Any] | None = None) -> RunSpec:
        """The run of ``release`` as it is: its tasks, split, suite and exact episodes."""
        suite = release.manifest["suite"] or {}
        return cls(adapter=adapter, tasks=tuple(t.name for t in release.tasks), split=release.split, limit=limit,
                   adapter_config=dict(adapter_config or {}), suite=suite.get("name"),
                   suite_version=suite.get("version"), data=release.manifest["release"])


@dataclass(frozen=True)
class Execution:
    """How it runs: passed through to Lightning's ``Trainer``; never changes the scores."""

    accelerator: str = "auto"
    devices: int | str | list[int] = "auto"
    strategy: str = "auto"
    num_nodes: int = 1
    precision: str | None = None
    batch_size: int = 4
    num_workers: int = 0
    on_error: str = "stop"
    progress: bool = True
    logger: str = "csv"
    #: Keep the predicted frames of the first N episodes of each task (see :mod:`wmbench.run.saved`).
    save_predictions: int = 0
    #: Seconds one adapter call may take before it is ended as a failure (None: no limit).
    timeout: float | None = 600.0
    #: Seconds the speed protocol may take per task (None: no budget).
    speed_budget: float | None = 180.0
    #: Metrics that must not be missing: the run stops before it starts if one would be.
    require: tuple[str, ...] = ()
    #: Run the adapter in a process of its own (:mod:`wmbench.run.isolated`); ``None``:
    #: on the test split only.
    isolate: bool | None = None
    #: Score in this many worker processes while the adapter predicts the next batch
    #: (:mod:`wmbench.run.scoring_pool`); 0: score in the run's process.
    scoring_workers: int = 0


@dataclass
class RunLog:
    """What a run did, for its result record (:func:`wmbench.results.write_result`).

    ``out``: the run directory; ``adapter``: the adapter that made the predictions
    (``None`` for predictions scored offline, named by ``spec.adapter``); ``seeds``: per
    task, the episodes asked for; ``missing_metrics``: per task, the metrics that could
    not run here, with the reason; ``execution``: how it ran; ``speed``: per task, the
    speed protocol's numbers (or why there are none); ``loggers``: the run's loggers,
    which :meth:`publish` hands the written record.
    """

    out: Path
    spec: RunSpec
    adapter: Adapter | None
    tasks: list[Task]
    seeds: dict[str, list[int]]
    missing_metrics: dict[str, dict[str, str]]
    execution: dict[str, Any]
    speed: dict[str, dict[str, Any]]
    loggers: RunLoggers | None = field(default=None, repr=False)

    def publish(self, record: dict[str, Any], cache: EpisodeCache) -> None:
        """Hand the run's written result record to its loggers (W&B: the headline per
        task, the summary table, the kept predictions' strips), which then close."""
        if self.loggers is not None:
            self.loggers.publish(record, self.out, cache)


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


def _check_selection(spec: RunSpec, tasks: list[Task], seeds: dict[str, list[int]]) -> None:
    """Refuse a run with nothing to evaluate: no task, a limit below 1, or a task
    without episodes in the split (it would be missing from the result without a word)."""
    if spec.limit is not None and spec.limit < 1:
        raise WmbenchError(f"--limit must be at least 1, got {spec.limit}")
    if not tasks:
        raise WmbenchError("nothing to run: no task selected")
    empty = [t.name for t in tasks if not seeds[t.name]]
    if empty:
        raise WmbenchError(f"nothing to run for task {', '.join(empty)}: it has no {spec.split} episodes")


def _announce_missing_metrics(tasks: list[Task], required: tuple[str, ...]) -> None:
    """One warning per metric that will be missing on this machine, with why and how to
    fix it; an error instead for a metric in ``required`` (``--require``)."""
    scored = [m for t in tasks for m in t.metrics]
    check_metric_names(tuple(required), "--require")
    for name in required:
        if name not in scored:
            raise WmbenchError(f"--require {name}: no task of this run scores it")
    for name, reason in unavailable_metrics(scored).items():
        if name in required:
            raise WmbenchError(f"metric '{name}' is required (--require) but cannot run here: {reason}")
        warnings.warn(f"metric '{name}' will be missing from this run: {reason}", MetricUnavailableWarning,
                      stacklevel=3)


def _trainer(execution: Execution, out: Path | None, logger: Logger | bool) -> pl.Trainer:
    """Lightning's ``Trainer`` for one task (``out`` None: only to check the settings)."""
    return pl.Trainer(
        accelerator=execution.accelerator, devices=execution.devices, strategy=execution.strategy,
        num_nodes=execution.num_nodes, precision=cast(Any, execution.precision),
        logger=logger, enable_checkpointing=False,
        enable_progress_bar=execution.progress, enable_model_summary=False,
        use_distributed_sampler=False, inference_mode=True, default_root_dir=out,
    )


def _check_execution(execution: Execution) -> None:
    """Refuse settings that cannot run, in one line, before anything runs: counts below
    their minimum, non-positive time limits, and whatever Lightning refuses
    (accelerator, devices, strategy, precision; a GPU asked for where there is none)."""
    for name, minimum in (("batch_size", 1), ("num_nodes", 1), ("num_workers", 0), ("save_predictions", 0),
                          ("scoring_workers", 0)):
        value = getattr(execution, name)
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            raise WmbenchError(f"--{name.replace('_', '-')} must be an integer >= {minimum}, got {value!r}")
    for name in ("timeout", "speed_budget"):
        value = getattr(execution, name)
        if value is not None and not 0 < value < float("inf"):
            raise WmbenchError(f"--{name.replace('_', '-')} must be a positive number of seconds, got {value!r}")
    check_logger(execution.logger)
    try:
        with _quiet_lightning():
            precision = str(_trainer(execution, None, False).precision)
    except (MisconfigurationException, ValueError, TypeError, RuntimeError) as exc:
        names = ("accelerator", "devices", "strategy", "precision")
        settings = ", ".join(f"--{k} {getattr(execution, k)}" for k in names if getattr(execution, k) is not None)
        raise WmbenchError(f"Lightning cannot run with {settings}: {' '.join(str(exc).split())}") from exc
    if precision not in MODEL_PRECISIONS:
        raise WmbenchError(f"--precision {execution.precision} would make Lightning convert the whole evaluation, "
                           "the scoring included; wmbench applies precision to the adapter's calls only: use one of "
                           f"{', '.join(MODEL_PRECISIONS)} (autocast around the model), or convert the model's weights "
                           "in its adapter's setup()")


#: Lightning precisions that reach the adapter's calls only (autocast); the "-true" ones
#: convert the LightningModule and its inputs, which would change the scoring.
MODEL_PRECISIONS = ("32-true", "16-mixed", "bf16-mixed")

LIGHTNING_LOGGERS = ("pytorch_lightning", "lightning.pytorch", "lightning_fabric")
#: Lightning's advice that does not apply to evaluating episodes.
LIGHTNING_WARNINGS = (".*does not have many workers.*", ".*LeafSpec.*",
                      ".*when logging on epoch level in distributed setting.*")


@contextmanager
def _quiet_lightning() -> Iterator[None]:
    """Lightning's info messages and irrelevant warnings silenced, for the run only."""
    loggers = [logging.getLogger(name) for name in LIGHTNING_LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():
            for message in LIGHTNING_WARNINGS:
                warnings.filterwarnings("ignore", message=message)
            yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


@contextmanager
def _interrupts(progress: Callable[[], str]) -> Iterator[None]:
    """Turn Ctrl-C and SIGTERM into :class:`Interrupted`. SIGTERM raises
    ``KeyboardInterrupt`` (which adapters' ``except Exception`` cannot swallow), so that
    Lightning, when it is running, tears down cleanly as for Ctrl-C and then exits."""
    main = threading.current_thread() is threading.main_thread()
    received: dict[str, Any] = {"name": "Ctrl-C", "code": 128 + signal.SIGINT}

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


def _measure_speed(trainer: pl.Trainer, harness: Harness, episodes: list, budget_s: float | None) -> dict[str, Any]:
    """The speed protocol on the device Lightning chose, with its precision context (in
    the adapter's own process when it is isolated)."""
    device = trainer.strategy.root_device
    batch = collate(episodes)
    actions = None if batch.actions is None else batch.actions.to(device)
    inputs = harness.inputs(as_float(batch.context.to(device)), actions)
    precision, context = str(trainer.precision), trainer.precision_plugin.forward_context
    if isinstance(harness.adapter, IsolatedAdapter):
        return harness.adapter.measure_speed(harness.task, inputs, precision, context, budget_s, harness.timeout)
    return measure_speed(harness, inputs, device, precision, context, budget_s=budget_s)


def _adapter(spec: RunSpec, execution: Execution, adapter: Adapter | None, hidden: Hidden) -> Adapter:
    """The adapter the run calls: ``adapter``, or ``spec.adapter`` loaded here or, with
    ``execution.isolate``, in a process of its own that is shown nothing ``hidden``."""
    if not execution.isolate:
        return adapter if adapter is not None else load_adapter(spec.adapter, spec.adapter_config)
    if adapter is not None:
        raise WmbenchError("an adapter given as an object runs in this process and cannot be isolated; give its "
                           "name or class path instead, or turn isolation off (isolate=False, --no-isolate)")
    return start_isolated(spec.adapter, spec.adapter_config, hidden)


def evaluate(spec: RunSpec, out: Path | str, cache: EpisodeCache, execution: Execution = Execution(),
             test_secret: str | None = None, *, release: Release | None = None,
             adapter: Adapter | None = None) -> RunLog | None:
    """Run ``spec`` into ``out``, resuming whatever is already there. Returns what ran on
    the main process (``None`` on the others), for :func:`wmbench.results.write_result`.
    Each task's speed is measured once, on the main process, after its episodes (see
    :mod:`wmbench.run.speed`).

    With a ``release`` (whose id ``spec.data`` names), its tasks and exact episodes are
    evaluated; nothing is generated. ``cache`` still keeps the reference scores.
    ``adapter``: an adapter object to run instead of loading ``spec.adapter`` (which
    then only names it in the result). With ``execution.isolate`` (the default on the
    test split) the adapter runs in a process of its own (:mod:`wmbench.run.isolated`)."""
    _check_execution(execution)
    if execution.isolate is None:
        execution = replace(execution, isolate=spec.split == "test")
    hidden = Hidden([cache.root, out, release.path if release else None], test_secret)
    adapter = _adapter(spec, execution, adapter, hidden)
    try:
        return _run(spec, Path(out), cache, execution, test_secret, release, adapter)
    finally:
        if isinstance(adapter, IsolatedAdapter):
            adapter.close()


def _run(spec: RunSpec, out: Path, cache: EpisodeCache, execution: Execution, test_secret: str | None,
         release: Release | None, adapter: Adapter) -> RunLog | None:
    """:func:`evaluate` with its adapter: each task resumed where it stopped."""
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
    _check_selection(spec, tasks, seeds)
    _announce_missing_metrics(tasks, execution.require)
    out = prepare_directory(out)
    _check_same_run(out, spec)
    total = sum(len(s) for s in seeds.values())
    progress = lambda: f"{len(completed(out))} of {total} episodes done, kept in {out}"  # noqa: E731
    rank, missing_metrics, references = 0, {}, ReferenceCache.alongside(cache)
    loggers = RunLoggers(execution.logger, out, f"{adapter.display_name()}-{spec.suite or '+'.join(spec.tasks)}",
                         {"run": asdict(spec), "execution": asdict(execution)})
    pool = ScoringPool(execution.scoring_workers) if execution.scoring_workers else None
    with _interrupts(progress), _quiet_lightning(), pool or nullcontext():
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
            trainer = _trainer(execution, out, loggers.for_task(task))
            rank = trainer.global_rank
            kept = seeds[task.name][: execution.save_predictions]
            module = EvaluationModule(adapter, task, metrics, RowWriter(out, rank), execution.on_error, references,
                                      PredictionSaver(out, set(kept)) if kept else None, execution.timeout, pool)
            data = EpisodeDataModule(task, spec.split, pending, episodes, execution.batch_size, execution.num_workers)
            trainer.test(module, datamodule=data, verbose=False)
            if trainer.is_global_zero and not speed_path.exists():
                write_json(speed_path, _measure_speed(trainer, module.harness, sample, execution.speed_budget))
            trainer.strategy.barrier()
    if rank != 0:
        return None
    return RunLog(out=out, spec=spec, adapter=adapter, tasks=tasks, seeds=seeds,
                  missing_metrics=missing_metrics, execution=asdict(execution),
                  speed={t.name: _read_speed(out, t) for t in tasks}, loggers=loggers)


def _read_speed(out: Path, task: Task) -> dict[str, Any]:
    path = _speed_path(out, task)
    if not path.exists():
        return {"measured": False, "reason": "the speed protocol did not run (no episode of this task was run)"}
    return json.loads(path.read_text(encoding="utf-8"))
