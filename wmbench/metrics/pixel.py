"""Pixel metrics on frames in ``[0, 1]`` (data range 1.0), per episode over the horizon.

* ``mse``: mean over frames, pixels and channels of ``(pred - true)^2``; unit: squared
  intensity on a 0-1 scale; lower is better.
* ``psnr``: ``10 * log10(1 / max(mse, 1e-10))`` of the episode's ``mse``; dB; higher
  is better; at most 100 dB (a perfect prediction).
* ``ssim``: mean over frames of the structural similarity (Gaussian window 11,
  sigma 1.5, K1 0.01, K2 0.03, data range 1.0, borders reflect-padded by 5 pixels,
  averaged over channels and pixels); unitless in ``[-1, 1]``; higher is
  better; 1 for identical frames (within 1e-6: float32 rounding). Same definition as torchmetrics'
  ``structural_similarity_index_measure`` (matches it within 1e-5), computed with
  separable filters.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from wmbench.metrics.base import EpisodeMetric, Truth, register

MSE_FLOOR = 1e-10
SSIM_WINDOW, SSIM_SIGMA, SSIM_K1, SSIM_K2 = 11, 1.5, 0.01, 0.03


def _gaussian_blur(x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Separable Gaussian filter over ``(N, C, H, W)``, borders reflect-padded."""
    c, pad = x.shape[1], (kernel.numel() - 1) // 2
    x = F.pad(x, (pad, pad, pad, pad), mode="reflect")
    x = F.conv2d(x, kernel.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)
    return F.conv2d(x, kernel.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)


def ssim_per_image(x: torch.Tensor, y: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """SSIM of each image pair ``(N, C, H, W)`` -> ``(N,)`` (see the module docstring)."""
    coords = torch.arange(SSIM_WINDOW, dtype=x.dtype, device=x.device) - (SSIM_WINDOW - 1) / 2
    kernel = torch.exp(-(coords**2) / (2 * SSIM_SIGMA**2))
    kernel = kernel / kernel.sum()
    mu_x, mu_y = _gaussian_blur(x, kernel), _gaussian_blur(y, kernel)
    var_x = (_gaussian_blur(x * x, kernel) - mu_x * mu_x).clamp_min(0)
    var_y = (_gaussian_blur(y * y, kernel) - mu_y * mu_y).clamp_min(0)
    cov = _gaussian_blur(x * y, kernel) - mu_x * mu_y
    c1, c2 = (SSIM_K1 * data_range) ** 2, (SSIM_K2 * data_range) ** 2
    ssim = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x * mu_x + mu_y * mu_y + c1) * (var_x + var_y + c2))
    return ssim.flatten(1).mean(1)


def episode_mse(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return (pred.double() - target.double()).pow(2).flatten(1).mean(1)


@register
class MSE(EpisodeMetric):
    name, unit, higher_is_better = "mse", "intensity^2 (0-1 scale)", False

    def score(self, pred: torch.Tensor, truth: Truth) -> torch.Tensor:
        return episode_mse(pred, truth.frames)


@register
class PSNR(EpisodeMetric):
    name, unit, higher_is_better = "psnr", "dB", True

    def score(self, pred: torch.Tensor, truth: Truth) -> torch.Tensor:
        return 10 * torch.log10(1.0 / episode_mse(pred, truth.frames).clamp_min(MSE_FLOOR))


@register
class SSIM(EpisodeMetric):
    name, unit, higher_is_better = "ssim", "unitless", True

    def score(self, pred: torch.Tensor, truth: Truth) -> torch.Tensor:
        b, t = pred.shape[:2]
        per_frame = ssim_per_image(pred.flatten(0, 1).float(), truth.frames.flatten(0, 1).float())
        return per_frame.view(b, t).double().mean(1)
