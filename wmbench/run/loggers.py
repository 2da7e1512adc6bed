"""Lightning loggers for a run: per-task metrics under ``<out>/logs``.

``csv`` (default) and ``tensorboard`` write one log per task; ``wandb`` (Weights &
Biases, through Lightning's ``WandbLogger``) keeps one W&B run for the whole
evaluation: each task's metric means as ``<task>/<metric>``, then, once the result is
written and handed over (:meth:`wmbench.run.evaluate.RunLog.publish`), each task's area
indices (``<task>/<area>``), the per-task summary table (``summary``) and the strips of
the predictions kept with ``--save-predictions`` (``predictions/<task>``). W&B reads its usual
environment: ``WANDB_PROJECT`` (default ``wmbench``), ``WANDB_MODE=offline`` to log
without a network (``wandb sync`` uploads later), ``WANDB_DIR``.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytorch_lightning.loggers import CSVLogger, Logger, TensorBoardLogger

from wmbench.errors import WmbenchError
from wmbench.tasks.schema import Task
from wmbench.worlds.cache import EpisodeCache

if TYPE_CHECKING:
    from pytorch_lightning.loggers import WandbLogger

LOGGERS = ("csv", "tensorboard", "wandb", "none")
_PACKAGES = {
    "tensorboard": (("tensorboard", "tensorboardX"), "pip install tensorboard"),
    "wandb": (("wandb",), "pip install wandb"),
}


def check_logger(kind: str) -> None:
    """A one-line error for an unknown logger or one whose package is missing."""
    if kind not in LOGGERS:
        raise WmbenchError(f"unknown logger '{kind}' (known: {', '.join(LOGGERS)})")
    if kind in _PACKAGES:
        modules, install = _PACKAGES[kind]
        if not any(importlib.util.find_spec(m) for m in modules):
            raise WmbenchError(f"logger '{kind}' needs the {modules[0]} package: {install}")


class RunLoggers:
    """The logger each task's ``Trainer`` gets; one shared W&B run for ``wandb``."""

    def __init__(self, kind: str, out: Path, name: str, config: dict[str, Any]):
        self.kind, self.out, self.name, self.config = kind, out, name, config
        self._wandb: WandbLogger | None = None

    def for_task(self, task: Task) -> Logger | bool:
        if self.kind == "csv":
            return CSVLogger(self.out / "logs", name=task.name, version=0)
        if self.kind == "tensorboard":
            return TensorBoardLogger(self.out / "logs", name=task.name, version=0, default_hp_metric=False)
        if self.kind == "wandb":
            return self.wandb()
        return False

    def wandb(self) -> WandbLogger:
        if self._wandb is None:
            from pytorch_lightning.loggers import WandbLogger

            (self.out / "logs").mkdir(parents=True, exist_ok=True)
            self._wandb = WandbLogger(
                name=self.name,
                project=os.environ.get("WANDB_PROJECT", "wmbench"),
                save_dir=str(self.out / "logs"),
                config=self.config,
            )
        return self._wandb

    def publish(self, record: dict[str, Any], out: Path, cache: EpisodeCache) -> None:
        """W&B: log the written result's area indices per task, the summary table and the
        strips of the kept predictions (drawn into ``out/pictures``), then close the run."""
        if self._wandb is None:
            return
        from wmbench.run.pictures import draw_result
        from wmbench.run.saved import saved_predictions
        from wmbench.run.summary import summary_rows

        areas = record["headline"]["task_areas"]
        self._wandb.log_metrics(
            {f"{task}/{area}": value for task, scores in areas.items() for area, value in scores.items()}
        )
        summary = summary_rows(record)
        columns = list(dict.fromkeys(key for row in summary for key in row))
        self._wandb.log_table(key="summary", columns=columns, data=[[row.get(c) for c in columns] for row in summary])
        if saved_predictions(out):
            for drawn in draw_result(out, record, out / "pictures", cache):
                paths = list(drawn.strips.values())
                self._wandb.log_image(
                    key=f"predictions/{drawn.task}", images=[str(p) for p in paths], caption=[p.stem for p in paths]
                )
        self._wandb.experiment.finish()
