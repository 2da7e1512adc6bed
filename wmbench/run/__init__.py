"""Stage 4: the LightningModule and DataModule, the resumable run and its result writer."""

from wmbench.run.data import EpisodeBatch, EpisodeDataModule
from wmbench.run.evaluate import Execution, RunSpec, evaluate
from wmbench.run.module import EvaluationModule
from wmbench.run.speed import SpeedProtocol, measure_speed

__all__ = ["EpisodeBatch", "EpisodeDataModule", "EvaluationModule", "Execution", "RunSpec", "SpeedProtocol",
           "evaluate", "measure_speed"]
