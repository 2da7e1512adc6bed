"""Pixel metrics: SSIM against torchmetrics on random and structured images, MSE and PSNR by hand."""

from __future__ import annotations

import math

import pytest
import torch
from torchmetrics.functional.image import structural_similarity_index_measure as torchmetrics_ssim

from wmbench.metrics.base import Truth
from wmbench.metrics.pixel import MSE, PSNR, SSIM, _blur_opencv, _blur_torch, gaussian_window, ssim_per_image


def _structured(n: int, h: int, w: int) -> torch.Tensor:
    """Gradients, a checkerboard, discs, a constant image and a step edge."""
    yy, xx = torch.meshgrid(torch.linspace(0, 1, h), torch.linspace(0, 1, w), indexing="ij")
    images = [
        torch.stack([xx, yy, (xx + yy) / 2]),
        ((torch.arange(h)[:, None] // 4 + torch.arange(w)[None] // 4) % 2).float().expand(3, h, w),
        (((xx - 0.4) ** 2 + (yy - 0.6) ** 2) < 0.05).float() * torch.tensor([0.9, 0.2, 0.5])[:, None, None],
        torch.full((3, h, w), 0.37),
        (xx > 0.5).float().expand(3, h, w),
    ]
    return torch.stack([images[i % len(images)] for i in range(n)])


@pytest.mark.parametrize("size", [(48, 48), (21, 34)])
def test_ssim_matches_torchmetrics_on_random_images(size):
    gen = torch.Generator().manual_seed(sum(size))
    x = torch.rand(3, 3, *size, generator=gen)
    for noise in (0.02, 0.2, 1.0):
        y = (x + noise * torch.randn(x.shape, generator=gen)).clamp(0, 1)
        got = ssim_per_image(x, y)
        for dtype in (torch.float32, torch.float64):
            expected = torchmetrics_ssim(x.to(dtype), y.to(dtype), data_range=1.0, reduction="none")
            assert torch.allclose(got.to(dtype), expected, atol=1e-5, rtol=0)


def test_ssim_matches_torchmetrics_on_structured_images():
    x = _structured(5, 32, 40)
    variants = [x.roll(3, dims=-1), x.flip(-2), (x * 0.6 + 0.2), 1 - x, torch.zeros_like(x)]
    for y in variants:
        # in float64: torchmetrics' own float32 result is off by up to 1.5e-4 on flat images
        expected = torchmetrics_ssim(x.double(), y.double(), data_range=1.0, reduction="none")
        got = ssim_per_image(x, y)
        assert torch.allclose(got.double(), expected, atol=1e-5, rtol=0)
    assert torch.allclose(ssim_per_image(x, x), torch.ones(5), atol=1e-6)


def test_opencv_and_torch_filters_agree():
    """The CPU path (OpenCV) and the path used on other devices (torch) give one result."""
    maps = torch.rand(7, 23, 31, generator=torch.Generator().manual_seed(3))
    kernel = gaussian_window()
    assert torch.allclose(_blur_opencv(maps, kernel), _blur_torch(maps, kernel), atol=1e-6, rtol=0)


def test_mse_psnr_ssim_per_episode():
    truth_frames = torch.zeros(2, 3, 3, 8, 8)
    pred = truth_frames.clone()
    pred[1] += 0.1  # every pixel of episode 1 off by 0.1
    truth = Truth(frames=truth_frames, context=truth_frames[:, :1], episodes=[])
    mse = MSE().score(pred, truth)
    psnr = PSNR().score(pred, truth)
    assert mse.dtype == torch.float64 and mse.tolist() == pytest.approx([0.0, 0.01])
    assert psnr.tolist() == pytest.approx([100.0, 20.0])
    ssim = SSIM().score(pred, truth)
    assert ssim[0] == pytest.approx(1.0, abs=1e-6) and ssim[1] < 1.0
    assert not math.isnan(float(ssim[1]))
