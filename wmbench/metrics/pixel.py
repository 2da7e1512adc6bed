"""Pixel metrics on frames in ``[0, 1]`` (data range 1.0), per episode over the horizon.

* ``mse``: mean over frames, pixels and channels of ``(pred - true)^2``; unit: squared
  intensity on a 0-1 scale; lower is better.
* ``psnr``: ``10 * log10(1 / max(mse, 1e-10))`` of the episode's ``mse``; dB; higher
  is better; at most 100 dB (a perfect prediction).
* ``ssim``: mean over frames of the structural similarity (Gaussian window 11,
  sigma 1.5, K1 0.01, K2 0.03, data range 1.0, borders reflect-padded by 5 pixels
  without repeating the edge pixel, averaged over channels and pixels); unitless in
  ``[-1, 1]``; higher is better; exactly 1 for identical frames. Same definition as torchmetrics' ``structural_similarity_index_measure``
  (matches it within 1e-5; on flat images within 1e-5 of its float64 result, which its
  own float32 result misses by up to 1.5e-4), computed in float32 with separable
  filters: OpenCV's on the CPU, torch convolutions on other devices.
* ``coherent_horizon``: the number of predicted frames before the per-step PSNR
  (``10 * log10(1 / max(mse_t, 1e-10))`` of frame ``t``) first falls below 30 dB, i.e. the
  0-based index of the first step under the threshold; ``T`` when it never does (a
  lower bound). Frames; higher is better. Every episode's per-step PSNR curve is
  pooled: :meth:`CoherentHorizon.mean_curve` (a result stores the mean curve per task,
  from its rows' curves).
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from wmbench.metrics.base import EpisodeMetric, Truth, register
from wmbench.metrics.pooled import Items, PooledEpisodeMetric
from wmbench.metrics.sums import float64_sum

MSE_FLOOR = 1e-10
#: The per-step PSNR below which a predicted frame is no longer accurate (``coherent_horizon``).
COHERENT_PSNR_DB = 30.0
SSIM_WINDOW, SSIM_SIGMA, SSIM_K1, SSIM_K2 = 11, 1.5, 0.01, 0.03
SSIM_PAD = (SSIM_WINDOW - 1) // 2
SSIM_CHUNK_VALUES = 1 << 16  # input values per chunk: four filtered maps of them stay in cache


def gaussian_window(size: int = SSIM_WINDOW, sigma: float = SSIM_SIGMA) -> torch.Tensor:
    """The normalised 1-D Gaussian window ``float32 (size,)``, centred on the middle tap."""
    coords = torch.arange(size, dtype=torch.float32) - (size - 1) / 2
    kernel = torch.exp(-(coords**2) / (2 * sigma**2))
    return kernel / kernel.sum()


def _blur_torch(maps: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Separable Gaussian filter over ``(M, H, W)`` with torch (any device)."""
    x = F.pad(maps.unsqueeze(1), (SSIM_PAD,) * 4, mode="reflect")
    x = F.conv2d(x, kernel.view(1, 1, -1, 1))
    return F.conv2d(x, kernel.view(1, 1, 1, -1)).squeeze(1)


def _blur_opencv(maps: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """The same filter with one OpenCV call on the CPU: the maps are stacked into one
    tall image, each padded above and below by its own reflected rows so that the
    vertical pass never mixes two maps (the horizontal pass works row by row)."""
    m, h, w = maps.shape
    padded = np.empty((m, h + 2 * SSIM_PAD, w), np.float32)
    padded[:, SSIM_PAD:SSIM_PAD + h] = maps.numpy()
    for k in range(1, SSIM_PAD + 1):
        padded[:, SSIM_PAD - k] = padded[:, SSIM_PAD + k]
        padded[:, SSIM_PAD + h - 1 + k] = padded[:, SSIM_PAD + h - 1 - k]
    taps = kernel.numpy()
    tall = cv2.sepFilter2D(padded.reshape(-1, w), cv2.CV_32F, taps, taps, borderType=cv2.BORDER_REFLECT_101)
    return torch.from_numpy(tall.reshape(m, h + 2 * SSIM_PAD, w)[:, SSIM_PAD:SSIM_PAD + h])


def ssim_per_image(x: torch.Tensor, y: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """SSIM of each image pair ``(N, C, H, W)`` -> ``float32 (N,)`` (see the module docstring),
    a few images at a time so that the filtered maps stay in the CPU's cache."""
    n, c, h, w = x.shape
    step = max(1, SSIM_CHUNK_VALUES // (c * h * w))
    return torch.cat([_ssim(x[i:i + step], y[i:i + step], data_range) for i in range(0, n, step)])


def _ssim(x: torch.Tensor, y: torch.Tensor, data_range: float) -> torch.Tensor:
    """Four filtered maps, ``x``, ``y``, ``x^2 + y^2`` and ``xy``: the denominator needs
    only the sum of the variances. Values are centred on each image's mean first (the
    variances do not depend on the centre), which keeps float32 cancellation on flat
    regions below 1e-6. Where rounding leaves the summed variance at or below 0 both
    variances vanish, and so does the covariance (Cauchy-Schwarz); for identical images
    every step is the same on both sides (doubling is exact), so they score exactly 1."""
    n, c, h, w = x.shape
    # contiguous: the per-image means below must be reduced in the same order for both
    x, y = x.float().reshape(n * c, h, w).contiguous(), y.float().reshape(n * c, h, w).contiguous()
    mean_x, mean_y = x.mean((1, 2), keepdim=True), y.mean((1, 2), keepdim=True)
    x, y = x - mean_x, y - mean_y
    maps = torch.cat([x, y, x * x + y * y, x * y])
    kernel = gaussian_window()
    blurred = _blur_opencv(maps, kernel) if x.device.type == "cpu" else _blur_torch(maps, kernel.to(x.device))
    dx, dy, e_sum, e_xy = blurred.chunk(4)
    c1, c2 = (SSIM_K1 * data_range) ** 2, (SSIM_K2 * data_range) ** 2
    variances = e_sum.sub_(dx * dx + dy * dy)
    flat = variances <= 0
    cov = e_xy.sub_(dx * dy).masked_fill_(flat, 0.0)
    mu_x, mu_y = dx.add_(mean_x), dy.add_(mean_y)
    numerator = (cov.mul_(2).add_(c2)).mul_(mu_x * mu_y * 2 + c1)
    denominator = (variances.clamp_min_(0).add_(c2)).mul_(mu_x.square_().add_(mu_y.square_()).add_(c1))
    return numerator.div_(denominator).reshape(n, -1).mean(1)


def frame_errors(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-frame MSE ``float64 (B, T)``: float32 differences, squares summed as :func:`float64_sum`."""
    squares = (pred.float() - target.float()).square_()
    return float64_sum(squares, keep=2) / squares[0, 0].numel()


def step_mse(pred: torch.Tensor, truth: Truth) -> torch.Tensor:
    """:func:`frame_errors` of a prediction against the true future, once per batch."""
    return truth.memo("step_mse", pred, lambda: frame_errors(pred, truth.frames))


@register
class MSE(EpisodeMetric):
    name, unit, higher_is_better = "mse", "intensity^2 (0-1 scale)", False

    def score(self, pred: torch.Tensor, truth: Truth) -> torch.Tensor:
        return step_mse(pred, truth).mean(1)


@register
class PSNR(EpisodeMetric):
    name, unit, higher_is_better = "psnr", "dB", True

    def score(self, pred: torch.Tensor, truth: Truth) -> torch.Tensor:
        return 10 * torch.log10(1.0 / step_mse(pred, truth).mean(1).clamp_min(MSE_FLOOR))


@register
class SSIM(EpisodeMetric):
    name, unit, higher_is_better = "ssim", "unitless", True

    def score(self, pred: torch.Tensor, truth: Truth) -> torch.Tensor:
        b, t = pred.shape[:2]
        per_frame = ssim_per_image(pred.flatten(0, 1), truth.frames.flatten(0, 1))
        return per_frame.view(b, t).double().mean(1)


def psnr_per_step(pred: torch.Tensor, truth: Truth) -> torch.Tensor:
    """PSNR of each predicted frame, ``float64 (B, T)`` in dB (data range 1, at most 100)."""
    return 10 * torch.log10(1.0 / step_mse(pred, truth).clamp_min(MSE_FLOOR))


def coherent_steps(curve: torch.Tensor, threshold: float = COHERENT_PSNR_DB) -> torch.Tensor:
    """Steps before ``curve`` ``(B, T)`` first falls below ``threshold`` (``T`` if never)."""
    below = curve < threshold
    first = below.to(torch.int64).argmax(dim=1)
    return torch.where(below.any(dim=1), first, curve.shape[1]).double()


@register
class CoherentHorizon(PooledEpisodeMetric):
    """Fidelity over the horizon: the steps before the per-step PSNR first falls below
    30 dB (see docs/metrics.md); its per-step PSNR curves are pooled."""

    name, unit, higher_is_better = "coherent_horizon", "frames", True
    pooled_states = ("curves",)

    def score(self, pred: torch.Tensor, truth: Truth) -> torch.Tensor:
        return coherent_steps(psnr_per_step(pred, truth))

    def items(self, pred: torch.Tensor, truth: Truth) -> Items:
        """Each episode's per-step PSNR curve, ``(1, T)``."""
        return {"curves": list(psnr_per_step(pred, truth)[:, None])}

    @classmethod
    def summarise(cls, items: dict[str, torch.Tensor]) -> dict[str, Any]:
        """``{"mean_psnr_db_per_step": the mean curve, "episodes": their number}``."""
        curves = items["curves"]
        return {"mean_psnr_db_per_step": curves.double().mean(0).tolist(), "episodes": len(curves)}

    def mean_curve(self) -> torch.Tensor | None:
        """Mean per-step PSNR over every episode scored (all processes), ``(T,)`` dB."""
        summary = self.pooled_summary()
        return None if summary is None else torch.tensor(summary["mean_psnr_db_per_step"], dtype=torch.float64)
