"""Pooled metric states are gathered across processes: two gloo processes, each scoring
half of the episodes, compute the same pooled AUROC and mean curve as one process."""

from __future__ import annotations

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from wmbench.metrics import METRICS

from ..metrics.test_surprise import T, voe_episode
from ..synthetic import HORIZON, truth_of

pytestmark = pytest.mark.slow
EPISODES = 12


def scored(shard: range) -> tuple[float, torch.Tensor, float]:
    """Pooled AUROC, mean PSNR curve and mean coherent horizon over a shard of the
    episodes, scored two per update; the predictions degrade at a different rate each."""
    generator = torch.Generator().manual_seed(3)
    surprise = [torch.rand(3, T, generator=generator) for _ in range(EPISODES)]
    auroc, horizon = METRICS["voe_auroc"](), METRICS["coherent_horizon"]()
    for first in range(0, len(shard), 2):
        part = list(shard[first : first + 2])
        truth = truth_of([voe_episode(i % 3, onsets=(6 + i % 4, 9)) for i in part],
                         {"surprise": [surprise[i] for i in part]})
        rate = torch.tensor([0.01 * (i + 1) for i in part]).view(-1, 1, 1, 1, 1)
        pred = (truth.frames + rate * torch.arange(HORIZON).view(1, -1, 1, 1, 1)).clamp(0, 1)
        auroc.update(pred, truth)
        horizon.update(pred, truth)
    return float(auroc.compute()), horizon.mean_curve(), float(horizon.compute())


def worker(rank: int, init_file: str, expected: tuple[float, torch.Tensor, float], shards: list[range]) -> None:
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=2)
    try:
        auroc, curve, horizon = scored(shards[rank])
        assert auroc == pytest.approx(expected[0], abs=1e-12)
        assert horizon == pytest.approx(expected[2], abs=1e-12)
        assert torch.allclose(curve, expected[1], atol=1e-9)
    finally:
        dist.destroy_process_group()


def test_two_processes_pool_like_one(tmp_path):
    expected = scored(range(EPISODES))
    alone = scored(range(0, EPISODES, 2))
    assert alone[0] != pytest.approx(expected[0]) and not torch.allclose(alone[1], expected[1])
    shards = [range(0, EPISODES, 2), range(1, EPISODES, 2)]
    mp.spawn(worker, args=(str(tmp_path / "init"), expected, shards), nprocs=2, join=True)


def test_a_process_without_items_still_pools(tmp_path):
    """A process whose shard is empty (a resumed run) joins the gather with no items."""
    expected = scored(range(EPISODES))
    shards = [range(EPISODES), range(0)]
    mp.spawn(worker, args=(str(tmp_path / "init"), expected, shards), nprocs=2, join=True)
