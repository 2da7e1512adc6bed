"""Training speed of the learned baselines: one optimisation step per preset.

Run: ``python -m pytest benchmarks/test_training.py --benchmark-enable --benchmark-only``.
A step is what ``wmbench train`` does per batch: the forward pass over 4 context and 8
predicted frames at 64x64 pixels with scheduled sampling, the mean squared error (and
PredRNN's decoupling loss), the backward pass and an AdamW update, at batch 16 (the
default). ``extra_info`` holds the parameters, the training frames per second (batch x
12 / step time) and the steps one would get in 15 minutes. On a GPU (when one is
available) the ``full`` presets are timed too: the target is under 15 minutes per
model there.
"""

from __future__ import annotations

import pytest
import torch

from wmbench.adapters import resolve

BATCH, CONTEXT, HORIZON, SIZE = 16, 4, 8, 64
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("preset", ["smoke", "cpu", "full"])
@pytest.mark.parametrize("model", ["convlstm", "predrnn", "simvp"])
def test_training_step(benchmark, model, preset, device):
    if preset == "full" and device == "cpu":
        pytest.skip("the full presets are sized for a GPU")
    torch.manual_seed(0)
    net = resolve(model).network(0, **resolve(model).presets[preset]).to(device)
    optimiser = torch.optim.AdamW(net.parameters(), lr=1e-3)
    frames = torch.rand(BATCH, CONTEXT + HORIZON, 3, SIZE, SIZE, device=device)

    def step() -> None:
        pred = net(frames[:, :CONTEXT], HORIZON, None, frames[:, CONTEXT:], teacher=0.5)
        loss = ((pred - frames[:, CONTEXT:]) ** 2).mean() + net.regulariser()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        if device == "cuda":
            torch.cuda.synchronize()

    step()  # warm-up
    benchmark.pedantic(step, rounds=3, iterations=1)
    seconds = benchmark.stats.stats.median if benchmark.stats else None
    benchmark.extra_info.update(
        parameters=sum(p.numel() for p in net.parameters()), batch=BATCH, frames_per_step=BATCH * (CONTEXT + HORIZON)
    )
    if seconds:
        benchmark.extra_info.update(
            training_frames_per_s=BATCH * (CONTEXT + HORIZON) / seconds, steps_in_15_min=int(900 / seconds)
        )
