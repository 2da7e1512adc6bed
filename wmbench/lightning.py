"""Evaluation during training: a Lightning callback that scores the model being trained.

::

    from wmbench.lightning import WmbenchCallback

    trainer = pl.Trainer(callbacks=[WmbenchCallback(suite="smoke", every_n_epochs=5, patience=3)])
    trainer.fit(model, datamodule)

Every ``every_n_epochs`` epochs (or ``every_n_train_steps`` steps) the callback runs
:func:`wmbench.evaluate` on the module being trained, on the device it trains on and
with the trainer's precision, logs each area index as ``wmbench/area/<area>`` and each
family index as ``wmbench/family/<family>`` to the trainer's loggers (and to
``trainer.callback_metrics``, so ``ModelCheckpoint`` and ``EarlyStopping`` can monitor
them), and stops training when the ``monitor``-ed index has not improved by more than
``min_delta`` for ``patience`` evaluations. Under several processes the main process
evaluates and the others receive its indices, so every process logs and stops alike.

The module is called as :mod:`wmbench.adapters.wrap` documents (``module(frames,
horizon)``), or through ``adapter``: a function from the module to a
:class:`~wmbench.Adapter`. It is put in eval mode for the evaluation and back in the
mode it was in afterwards.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Callable

import pytorch_lightning as pl
import torch
from pytorch_lightning.utilities import rank_zero_warn

from wmbench.adapters.base import Adapter, Requirements
from wmbench.adapters.wrap import as_adapter
from wmbench.api import evaluate
from wmbench.errors import WmbenchError
from wmbench.results.io import Result
from wmbench.worlds.cache import EpisodeCache

MODES = {"max": 1.0, "min": -1.0}


def indices(result: Result, prefix: str = "wmbench/") -> dict[str, float]:
    """A result's area and family indices as flat metric names; missing ones left out."""
    headline = result.headline
    flat = {f"{prefix}area/{area}": entry["score"] for area, entry in headline["areas"].items()}
    flat.update({f"{prefix}family/{family}": entry["score"] for family, entry in headline["families"].items()})
    return {name: float(value) for name, value in flat.items() if value is not None}


def _execution_device(device: torch.device) -> tuple[str, int | list[int]]:
    """Lightning's accelerator and devices for evaluating on ``device`` alone."""
    if device.type == "cuda":
        return "cuda", [device.index or 0]
    return device.type, 1


class WmbenchCallback(pl.Callback):
    """Evaluate the module being trained on a wmbench suite (see the module docstring).

    ``suite``/``tasks``/``split``/``limit``/``resolution``: what is evaluated, as for
    :func:`wmbench.evaluate`. ``every_n_epochs``, or ``every_n_train_steps`` (which
    replaces it when given): when. ``adapter``: how the module becomes an adapter (default: called directly,
    with ``requirements``). ``monitor``: the logged index that decides a plateau (without
    the prefix, e.g. ``area/physics``), improved in the direction ``mode``; ``patience``:
    evaluations without improvement before training stops (``None``: never stops).
    ``out``: keep each evaluation's result under ``out/epoch=E-step=S`` (default: kept in
    memory only, the latest in :attr:`last_result`).
    """

    def __init__(
        self,
        suite: str | None = "smoke",
        *,
        tasks: list[str] | str | None = None,
        split: str | None = None,
        limit: int | None = None,
        resolution: int | None = None,
        every_n_epochs: int | None = 1,
        every_n_train_steps: int | None = None,
        adapter: Callable[[pl.LightningModule], Adapter] | None = None,
        requirements: Requirements | None = None,
        monitor: str = "area/physics",
        mode: str = "max",
        patience: int | None = None,
        min_delta: float = 0.0,
        out: Path | str | None = None,
        cache: EpisodeCache | Path | str | None = None,
        batch_size: int = 4,
        prefix: str = "wmbench/",
    ):
        if every_n_epochs is None and every_n_train_steps is None:
            raise WmbenchError("WmbenchCallback: give every_n_epochs or every_n_train_steps")
        for label, value in (
            ("every_n_epochs", every_n_epochs),
            ("every_n_train_steps", every_n_train_steps),
            ("patience", patience),
        ):
            if value is not None and (not isinstance(value, int) or value < 1):
                raise WmbenchError(f"WmbenchCallback: {label} must be a positive integer or None, got {value!r}")
        if mode not in MODES:
            raise WmbenchError(f"WmbenchCallback: mode must be 'max' or 'min', got {mode!r}")
        self.suite, self.tasks, self.split, self.limit, self.resolution = suite, tasks, split, limit, resolution
        self.every_n_epochs = None if every_n_train_steps is not None else every_n_epochs
        self.every_n_train_steps = every_n_train_steps
        self.make_adapter, self.requirements = adapter, requirements
        self.monitor, self.mode, self.patience, self.min_delta = monitor, mode, patience, min_delta
        self.out = None if out is None else Path(out)
        self.cache, self.batch_size, self.prefix = cache, batch_size, prefix
        self.best: float | None = None
        self.wait = 0
        self.history: list[dict[str, Any]] = []
        self.last_result: Result | None = None

    # -- when ------------------------------------------------------------------------------

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.every_n_epochs is not None and (trainer.current_epoch + 1) % self.every_n_epochs == 0:
            self._evaluate_and_log(trainer, pl_module, on_step=False)

    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        if self.every_n_train_steps is not None and trainer.global_step % self.every_n_train_steps == 0:
            self._evaluate_and_log(trainer, pl_module, on_step=True)

    # -- what ------------------------------------------------------------------------------

    def _evaluate(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> Result | None:
        adapter = (
            self.make_adapter(pl_module) if self.make_adapter is not None else as_adapter(pl_module, self.requirements)
        )
        out = None
        if self.out is not None:
            out = self.out / f"epoch={trainer.current_epoch}-step={trainer.global_step}"
        was_training = pl_module.training
        try:
            accelerator, devices = _execution_device(pl_module.device)
            return evaluate(
                adapter,
                self.suite,
                tasks=self.tasks,
                split=self.split,
                limit=self.limit,
                resolution=self.resolution,
                out=out,
                cache=self.cache,
                batch_size=self.batch_size,
                precision=str(trainer.precision),
                accelerator=accelerator,
                devices=devices,
                isolate=False,  # the model being trained lives in this process
            )
        finally:
            pl_module.train(was_training)

    def _evaluate_and_log(self, trainer: pl.Trainer, pl_module: pl.LightningModule, on_step: bool) -> None:
        values: dict[str, float] = {}
        if trainer.is_global_zero:
            self.last_result = self._evaluate(trainer, pl_module)
            values = {} if self.last_result is None else indices(self.last_result, self.prefix)
        values = trainer.strategy.broadcast(values, src=0)
        self.history.append({"epoch": trainer.current_epoch, "step": trainer.global_step, "indices": values})
        if values:
            pl_module.log_dict(values, on_step=on_step, on_epoch=not on_step, sync_dist=False)
        self._check_plateau(trainer, values.get(self.prefix + self.monitor))

    def _check_plateau(self, trainer: pl.Trainer, value: float | None) -> None:
        if value is None or math.isnan(value):
            rank_zero_warn(
                f"WmbenchCallback: the monitored index '{self.monitor}' is missing from this "
                "evaluation; it counts as no improvement"
            )
            improved = False
        else:
            improved = self.best is None or (value - self.best) * MODES[self.mode] > self.min_delta
        if improved:
            self.best, self.wait = value, 0
        else:
            self.wait += 1
        if self.patience is not None and self.wait >= self.patience:
            trainer.should_stop = True

    # -- checkpoints -----------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "wait": self.wait, "history": self.history}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.best, self.wait, self.history = state_dict["best"], state_dict["wait"], list(state_dict["history"])
