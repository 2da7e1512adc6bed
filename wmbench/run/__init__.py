"""Stage 4: the LightningModule and DataModule, the harness around the adapter, the resumable run."""

from wmbench.run.data import EpisodeBatch, EpisodeDataModule
from wmbench.run.evaluate import Execution, RunLog, RunSpec, evaluate
from wmbench.run.module import EvaluationModule
from wmbench.run.speed import SpeedProtocol, measure_speed

__all__ = ["EpisodeBatch", "EpisodeDataModule", "EvaluationModule", "Execution", "RunLog", "RunSpec",
           "SpeedProtocol", "evaluate", "measure_speed"]
