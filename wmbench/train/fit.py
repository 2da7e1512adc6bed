"""``wmbench train``: fit a video predictor on a suite's train split with Lightning.

The run directory holds ``train.json`` (what was asked: a rerun into the same
directory must ask for the same, and resumes from ``checkpoints/last.ckpt``),
``checkpoints/`` (Lightning's ``best.ckpt`` by ``val/mse`` on the dev windows and
``last.ckpt``), ``logs/`` (the logger's metrics) and, at the end, ``model.pt``: the best
weights as a checkpoint the adapter loads (:mod:`wmbench.adapters.learned`), with the
training record (data, steps, time, hardware, curves), and ``model.md``, its model card.
"""

from __future__ import annotations

import json
import logging
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import Callback, EarlyStopping, ModelCheckpoint, Timer
from pytorch_lightning.loggers import CSVLogger, Logger, TensorBoardLogger

from wmbench._version import __version__
from wmbench.adapters.learned import CHECKPOINT_FORMAT, FORMAT_VERSION
from wmbench.errors import OutputError, WmbenchError
from wmbench.files import read_json, write_json
from wmbench.run import provenance
from wmbench.tasks.catalog import get_task
from wmbench.train.card import write_card
from wmbench.train.data import Selection, WindowDataModule
from wmbench.train.module import VideoPredictionModule, predictor_class
from wmbench.worlds.cache import EpisodeCache
from wmbench.worlds.release import Release

#: Family whose tasks train the action-conditioned variants.
CONTROL_FAMILY = "action_conditioned"
SPEC_FILE, MODEL_FILE, CARD_FILE = "train.json", "model.pt", "model.md"


@dataclass(frozen=True)
class TrainSpec:
    """What is trained, on what: a rerun into the same directory must ask for the same."""

    model: str
    tasks: tuple[str, ...]
    suite: str | None = None
    data: str | None = None  # the release of the train episodes (else the cache)
    val_data: str | None = None  # the release of the dev episodes (else the cache)
    preset: str = "smoke"
    config: dict[str, Any] = field(default_factory=dict)
    train_limit: int | None = None
    val_limit: int | None = None
    horizon: int = 8
    windows: int = 4
    batch_size: int = 16
    lr: float = 1e-3
    sampling_steps: int | None = None
    patience: int = 5
    seed: int = 0


@dataclass(frozen=True)
class Budget:
    """How it runs and for how long: passed to Lightning's ``Trainer``."""

    accelerator: str = "auto"
    devices: int | str = "auto"
    strategy: str = "auto"
    num_nodes: int = 1
    precision: str | None = None
    max_steps: int = -1
    max_time: str | None = None
    max_epochs: int | None = None
    num_workers: int = 0
    logger: str = "csv"
    progress: bool = True


class Curves(Callback):
    """Collects the training and validation curves for the model card and its picture;
    they are saved in Lightning's checkpoints, so a resumed run keeps them."""

    def __init__(self, every: int):
        self.every = max(1, every)
        self.train: list[list[float]] = []  # [step, train/mse]
        self.val: list[list[float]] = []  # [step, val/mse, val/mse_copy_last]

    def state_dict(self) -> dict[str, Any]:
        return {"train": self.train, "val": self.val}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.train, self.val = list(state["train"]), list(state["val"])

    def on_train_batch_end(self, trainer: pl.Trainer, module: pl.LightningModule, *args: Any) -> None:
        step = trainer.global_step
        if step % self.every == 0 and "train/mse" in trainer.callback_metrics:
            self.train.append([step, float(trainer.callback_metrics["train/mse"])])

    def on_validation_epoch_end(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        metrics = trainer.callback_metrics
        if not trainer.sanity_checking and "val/mse" in metrics:
            self.val.append([trainer.global_step, float(metrics["val/mse"]), float(metrics["val/mse_copy_last"])])


def _logger(kind: str, out: Path) -> Logger | bool:
    if kind == "csv":  # a resumed run logs into the next version_N
        return CSVLogger(out / "logs", name="")
    if kind == "tensorboard":
        return TensorBoardLogger(out / "logs", name="", default_hp_metric=False)
    if kind == "none":
        return False
    raise WmbenchError(f"unknown logger '{kind}' (known: csv, tensorboard, none)")


def _check_same(out: Path, spec: TrainSpec) -> None:
    path, wanted = out / SPEC_FILE, json.loads(json.dumps(asdict(spec)))
    if path.exists():
        before = read_json(path, WmbenchError)
        if before != wanted:
            changed = sorted(k for k in wanted if before.get(k) != wanted[k])
            raise WmbenchError(
                f"{out} holds another training run (differs in: {', '.join(changed)}); use another --out or remove it"
            )
    else:
        write_json(path, wanted)


def _action_dim(data: WindowDataModule) -> int:
    selection = data.selection
    if not selection.uses_actions:
        return 0
    task = selection.tasks[0]
    actions = data.source("train").get(task, "train", selection.seeds(task, "train")[0]).truth.actions
    if actions is None:
        raise WmbenchError(f"task '{task.name}' has no actions to condition on")
    return int(actions.shape[1])


def train(
    spec: TrainSpec,
    out: Path | str,
    cache: EpisodeCache,
    budget: Budget = Budget(),
    workers: int = 1,
    test_secret: str | None = None,
    releases: dict[str, Release] | None = None,
) -> dict[str, Any] | None:
    """Train ``spec`` into ``out`` (resuming what is there) under ``budget``; the episodes
    of a split come from ``releases[split]`` when given, else from ``cache``. Returns the
    saved checkpoint (weights and training record) on the main process, else ``None``."""
    for name in ("pytorch_lightning", "lightning.pytorch", "lightning_fabric"):
        logging.getLogger(name).setLevel(logging.WARNING)
    cls = predictor_class(spec.model)
    if spec.preset not in cls.presets:
        raise WmbenchError(f"{cls.display_name()}: unknown preset '{spec.preset}' (known: {', '.join(cls.presets)})")
    config = {**cls.presets[spec.preset], **spec.config}
    req = cls.requirements
    if req.context is None or req.resolution is None:
        raise WmbenchError(f"{cls.display_name()}: a trainable adapter declares the context and resolution it takes")
    releases = releases or {}
    for split, release in releases.items():
        if release.split != split:
            raise WmbenchError(
                f"release {release.path} holds the {release.split} split; {split} episodes were asked for"
            )
    known = {t.name: t for r in releases.values() for t in r.tasks}
    tasks = tuple(known[t] if t in known else get_task(t) for t in spec.tasks)
    if req.uses_actions:
        tasks = tuple(t for t in tasks if t.family == CONTROL_FAMILY)
        if not tasks:
            raise WmbenchError(
                f"{cls.display_name()} conditions on actions: it trains on the {CONTROL_FAMILY} "
                f"tasks, and none of {', '.join(spec.tasks)} is one"
            )
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"training directory {out} is not writable: {exc.strerror or exc}") from exc
    _check_same(out, spec)
    selection = Selection(
        tasks=tasks,
        context=req.context,
        horizon=spec.horizon,
        resolution=req.resolution,
        uses_actions=req.uses_actions,
        train_limit=spec.train_limit,
        val_limit=spec.val_limit,
        windows=spec.windows,
        test_secret=test_secret,
        releases=tuple(releases.items()),
    )
    pl.seed_everything(spec.seed, workers=True, verbose=False)
    data = WindowDataModule(selection, cache, spec.batch_size, budget.num_workers, workers, budget.progress)
    total = budget.max_steps if budget.max_steps > 0 else None
    sampling = spec.sampling_steps if spec.sampling_steps is not None else (total // 2 if total else 1000)
    module = VideoPredictionModule(
        spec.model,
        config,
        _action_dim(data),
        req.context,
        spec.horizon,
        lr=spec.lr,
        warmup=min(100, (total or 400) // 4),
        total_steps=total,
        sampling_steps=sampling,
    )
    best = ModelCheckpoint(
        dirpath=out / "checkpoints",
        filename="best",
        monitor="val/mse",
        mode="min",
        save_last=True,
        save_top_k=1,
        enable_version_counter=False,
        save_on_train_epoch_end=False,
    )
    stop = EarlyStopping(monitor="val/mse", mode="min", patience=spec.patience, check_on_train_epoch_end=False)
    curves = Curves(every=10)
    timer = Timer(duration=budget.max_time, interval="step")  # its time is kept in checkpoints: it resumes
    trainer = pl.Trainer(
        accelerator=budget.accelerator,
        devices=budget.devices,
        strategy=budget.strategy,
        num_nodes=budget.num_nodes,
        precision=budget.precision,  # type: ignore[arg-type]  # Lightning checks the name
        max_steps=budget.max_steps,
        max_epochs=budget.max_epochs,
        logger=_logger(budget.logger, out),
        callbacks=[best, stop, curves, timer],
        enable_progress_bar=budget.progress,
        enable_model_summary=False,
        default_root_dir=out,
        log_every_n_steps=10,
        num_sanity_val_steps=0,
    )
    last = out / "checkpoints" / "last.ckpt"
    with warnings.catch_warnings():
        for message in (
            "does not have many workers",
            "smaller than the logging interval",
            "LeafSpec",
            "Checkpoint directory .* exists and is not empty",
        ):  # the last: resuming
            warnings.filterwarnings("ignore", message=f".*{message}.*")
        trainer.fit(module, datamodule=data, ckpt_path=last if last.exists() else None)
    if not trainer.is_global_zero:
        return None
    record = {
        "preset": spec.preset,
        "suite": spec.suite,
        "data": spec.data,
        "val_data": spec.val_data,
        "tasks": [t.id for t in tasks],
        "train_episodes": {t.id: len(selection.seeds(t, "train")) for t in tasks},
        "val_episodes": {t.id: len(selection.seeds(t, "dev")) for t in tasks},
        "windows": {"context": req.context, "horizon": spec.horizon, "per_episode": spec.windows},
        "batch_size": spec.batch_size,
        "lr": spec.lr,
        "seed": spec.seed,
        "sampling_steps": sampling,
        "steps": trainer.global_step,
        "epochs": trainer.current_epoch,
        "stopped": _why_stopped(trainer, stop, timer, budget),
        "seconds": round(timer.time_elapsed("train"), 1),
        "precision": str(trainer.precision),
        "accelerator": type(trainer.accelerator).__name__,
        "devices": trainer.num_devices,
        "strategy": type(trainer.strategy).__name__,
        "environment": provenance.environment(),
        "best_val_mse": None if best.best_model_score is None else float(best.best_model_score),
        "val_mse_copy_last": curves.val[-1][2] if curves.val else None,
        "curves": {"train": curves.train, "val": curves.val},
        "wmbench": {"version": __version__, "git_revision": provenance.git_revision()},
        "created": provenance.now(),
    }
    weights = _best_weights(best, module)
    saved = {
        "format": CHECKPOINT_FORMAT,
        "format_version": FORMAT_VERSION,
        "model": cls.display_name(),
        "config": config,
        "action_dim": module.action_dim,
        "context": req.context,
        "resolution": req.resolution,
        "state_dict": weights,
        "training": record,
    }
    torch.save(saved, out / MODEL_FILE)
    write_card(out / MODEL_FILE, saved)
    return saved


def _why_stopped(trainer: pl.Trainer, stop: EarlyStopping, timer: Timer, budget: Budget) -> str:
    if trainer.interrupted:
        return "interrupted"
    if stop.stopped_epoch:
        return "early stopping on val/mse"
    if budget.max_steps > 0 and trainer.global_step >= budget.max_steps:
        return "max_steps"
    if budget.max_time is not None and (timer.time_remaining() or 0) <= 0:
        return "max_time"
    return "max_epochs"


def _best_weights(best: ModelCheckpoint, module: VideoPredictionModule) -> dict[str, torch.Tensor]:
    """The network's weights at the best validation (the current ones if none was saved)."""
    if best.best_model_path and Path(best.best_model_path).is_file():
        state = torch.load(best.best_model_path, map_location="cpu", weights_only=True)["state_dict"]
        return {k.removeprefix("net."): v for k, v in state.items() if k.startswith("net.")}
    return {k: v.detach().cpu() for k, v in module.net.state_dict().items()}
