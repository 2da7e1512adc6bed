"""Stage 4: the LightningModule and DataModule, the harness around the adapter, the resumable run.

The names below are imported on first use, so that the light modules of this stage (the
isolated adapter process, :mod:`wmbench.run.child`) load without the episodes' stage."""

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

from wmbench._lazy import lazy_names

if TYPE_CHECKING:  # what the names are, for type checkers
    from wmbench.run.data import EpisodeBatch, EpisodeDataModule
    from wmbench.run.evaluate import Execution, RunLog, RunSpec, evaluate
    from wmbench.run.module import EvaluationModule
    from wmbench.run.speed import SpeedProtocol, measure_speed

#: Each name imported on first use and the submodule it comes from (``evaluate``: below).
_LAZY = {
    **dict.fromkeys(["EpisodeBatch", "EpisodeDataModule"], "data"),
    **dict.fromkeys(["Execution", "RunLog", "RunSpec"], "evaluate"),
    "EvaluationModule": "module",
    **dict.fromkeys(["SpeedProtocol", "measure_speed"], "speed"),
}

__all__ = [
    "EpisodeBatch",
    "EpisodeDataModule",
    "EvaluationModule",
    "Execution",
    "RunLog",
    "RunSpec",
    "SpeedProtocol",
    "evaluate",
    "measure_speed",
]


__getattr__, __dir__ = lazy_names(__name__, _LAZY)


class _Stage(types.ModuleType):
    """``wmbench.run.evaluate`` is the function, as it was when imported eagerly, even
    after its module of the same name is imported (which sets the attribute)."""

    @property
    def evaluate(self) -> Any:
        return importlib.import_module("wmbench.run.evaluate").evaluate

    @evaluate.setter
    def evaluate(self, module: object) -> None:
        pass  # the module stays in sys.modules["wmbench.run.evaluate"]


sys.modules[__name__].__class__ = _Stage
