"""Stage 6 (beside the leaderboard): training video predictors on a suite's train split
with Lightning (``wmbench train``), their model cards and training curves."""

from wmbench.train.card import plot_curves, write_card
from wmbench.train.data import Selection, WindowDataModule
from wmbench.train.fit import Budget, TrainSpec, train
from wmbench.train.module import VideoPredictionModule

__all__ = [
    "Budget",
    "Selection",
    "TrainSpec",
    "VideoPredictionModule",
    "WindowDataModule",
    "plot_curves",
    "train",
    "write_card",
]
