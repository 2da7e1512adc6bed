"""The LightningModule that trains a video predictor's network on windows of episodes."""

from __future__ import annotations

import math
from typing import Any

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from pytorch_lightning.utilities.types import OptimizerLRSchedulerConfig

from wmbench.adapters.learned import VideoPredictor
from wmbench.adapters.registry import resolve
from wmbench.errors import WmbenchError


def predictor_class(model: str) -> type[VideoPredictor]:
    """The :class:`VideoPredictor` adapter class named by ``model`` (any adapter spec)."""
    cls = resolve(model)
    if not issubclass(cls, VideoPredictor):
        raise WmbenchError(
            f"adapter '{model}' is not a trainable video predictor "
            "(a subclass of wmbench.adapters.learned.VideoPredictor)"
        )
    return cls


class VideoPredictionModule(pl.LightningModule):
    """Trains the network of adapter ``model`` with configuration ``config``.

    Loss: the mean squared error of the predicted ``horizon`` frames (pixels in
    ``[0, 1]``) plus the network's regulariser. Scheduled sampling: at step ``s`` each
    predicted step is fed the true frame with probability ``max(0, 1 - s /
    sampling_steps)``. AdamW; the learning rate warms up linearly over ``warmup`` steps,
    then follows a cosine to 0 at ``total_steps`` (constant when ``total_steps`` is
    unknown, e.g. training for a time budget). Logged: ``train/mse``, ``train/loss``,
    ``train/teacher``, ``val/mse`` and ``val/mse_copy_last`` (a frozen world's error on
    the same windows, for scale).
    """

    def __init__(
        self,
        model: str,
        config: dict[str, Any],
        action_dim: int,
        context: int,
        horizon: int,
        lr: float = 1e-3,
        weight_decay: float = 1e-2,
        warmup: int = 100,
        total_steps: int | None = None,
        sampling_steps: int = 0,
    ):
        super().__init__()
        self.save_hyperparameters()
        self.net = predictor_class(model).network(action_dim, **config)
        self.action_dim, self.context, self.horizon = action_dim, context, horizon
        self.lr, self.weight_decay, self.warmup, self.total_steps = lr, weight_decay, warmup, total_steps
        self.sampling_steps = sampling_steps

    def _inputs(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        frames = batch["frames"].float() / 255.0
        c = self.context
        return frames[:, :c], frames[:, c:], batch.get("actions")

    def teacher(self) -> float:
        steps = self.sampling_steps
        return max(0.0, 1.0 - self.global_step / steps) if steps else 0.0

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        context, future, actions = self._inputs(batch)
        teacher = self.teacher()
        pred = self.net(context, self.horizon, actions, future, teacher)
        mse = F.mse_loss(pred, future)
        loss = mse + self.net.regulariser()
        size = context.shape[0]
        self.log("train/mse", mse, prog_bar=True, batch_size=size)
        self.log("train/loss", loss, batch_size=size)
        self.log("train/teacher", teacher, batch_size=size)
        return loss

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        context, future, actions = self._inputs(batch)
        pred = self.net(context, self.horizon, actions)
        size = context.shape[0]
        self.log("val/mse", F.mse_loss(pred, future), prog_bar=True, sync_dist=True, batch_size=size)
        frozen = context[:, -1:].expand_as(future)
        self.log("val/mse_copy_last", F.mse_loss(frozen, future), sync_dist=True, batch_size=size)

    def configure_optimizers(self) -> OptimizerLRSchedulerConfig:
        optimizer = torch.optim.AdamW(self.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        warmup, total = max(1, self.warmup), self.total_steps

        def scale(step: int) -> float:
            if step < warmup:
                return (step + 1) / warmup
            if not total or total <= warmup:
                return 1.0
            return 0.5 * (1.0 + math.cos(math.pi * min(1.0, (step - warmup) / (total - warmup))))

        schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, scale)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}
