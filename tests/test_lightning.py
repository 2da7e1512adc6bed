"""WmbenchCallback: indices logged during a user's own fit, stopping on a plateau."""

from __future__ import annotations

import pandas as pd
import pytest
import pytorch_lightning as pl
import torch
from pytorch_lightning.loggers import CSVLogger
from torch.utils.data import DataLoader, TensorDataset

from wmbench.errors import WmbenchError
from wmbench.lightning import WmbenchCallback

SMALL = {"tasks": ["drop_single"], "limit": 1, "resolution": 64}


class Dimmer(pl.LightningModule):
    """Predicts the last frame times a learned gain; trained towards a gain of 1."""

    def __init__(self, lr: float):
        super().__init__()
        self.gain, self.lr = torch.nn.Parameter(torch.tensor(0.2)), lr
        self.modes_seen: list[bool] = []

    def forward(self, frames: torch.Tensor, horizon: int) -> torch.Tensor:
        self.modes_seen.append(self.training)
        return (frames[:, -1:] * self.gain).clamp(0, 1).expand(-1, horizon, -1, -1, -1)

    def training_step(self, batch, batch_idx):
        assert self.training  # the callback gives the module back in train mode
        (x,) = batch
        return ((x * self.gain - x) ** 2).mean()

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.lr)


def _fit(tmp_path, module: Dimmer, callback: WmbenchCallback, max_epochs: int) -> pl.Trainer:
    trainer = pl.Trainer(
        max_epochs=max_epochs,
        accelerator="cpu",
        logger=CSVLogger(tmp_path / "logs"),
        callbacks=[callback],
        enable_progress_bar=False,
        enable_checkpointing=False,
        enable_model_summary=False,
        log_every_n_steps=1,
    )
    data = DataLoader(TensorDataset(torch.rand(4, 3, 8, 8)), batch_size=2)
    trainer.fit(module, data)
    return trainer


def test_indices_are_logged_during_the_fit(tmp_path, cache):
    callback = WmbenchCallback(**SMALL, every_n_epochs=2, cache=cache, out=tmp_path / "evals")
    module = Dimmer(lr=0.5)
    trainer = _fit(tmp_path, module, callback, max_epochs=4)
    assert [(h["epoch"], h["step"]) for h in callback.history] == [(1, 4), (3, 8)]
    logged = pd.read_csv(tmp_path / "logs" / "lightning_logs" / "version_0" / "metrics.csv")
    physics = logged["wmbench/area/physics"].dropna()
    assert len(physics) == 2
    assert physics.iloc[-1] == pytest.approx(callback.last_result.indices["physics"], rel=1e-6)
    assert set(callback.history[-1]["indices"]) >= {"wmbench/area/fidelity", "wmbench/family/dropping_objects"}
    kept = sorted(p.name for p in (tmp_path / "evals").iterdir())
    assert kept == ["epoch=1-step=4", "epoch=3-step=8"]
    assert callback.last_result.record["adapter"]["name"] == "Dimmer"
    assert module.modes_seen and not any(module.modes_seen)  # evaluated in eval mode
    assert trainer.callback_metrics["wmbench/area/physics"] == pytest.approx(physics.iloc[-1])


def test_training_stops_on_a_plateau(tmp_path, cache):
    callback = WmbenchCallback(**SMALL, every_n_train_steps=1, patience=1, monitor="area/physics", cache=cache)
    trainer = _fit(tmp_path, Dimmer(lr=0.0), callback, max_epochs=10)  # lr 0: nothing ever improves
    assert len(callback.history) == 2 and callback.wait == 1
    assert trainer.global_step == 2  # of the 20 that 10 epochs would take
    assert callback.state_dict()["best"] == callback.history[0]["indices"]["wmbench/area/physics"]


def test_bad_settings_are_refused():
    with pytest.raises(WmbenchError, match="every_n_epochs must be a positive integer"):
        WmbenchCallback(every_n_epochs=0)
    with pytest.raises(WmbenchError, match="give every_n_epochs or every_n_train_steps"):
        WmbenchCallback(every_n_epochs=None)
    with pytest.raises(WmbenchError, match="mode must be"):
        WmbenchCallback(mode="up")
