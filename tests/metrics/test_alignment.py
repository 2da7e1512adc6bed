"""Geometric calibration: a prediction's global translation found on the static scene and undone."""

from __future__ import annotations

import pytest
import torch

from wmbench.metrics import METRICS, Truth
from wmbench.metrics.alignment import REACH, aligned, static_edges, translate, translations
from wmbench.metrics.references import frozen_prediction
from wmbench.run.data import collate
from wmbench.tasks import get_task


def truth_of(cache, task: str) -> Truth:
    episodes = [cache.get(get_task(task), "dev", s) for s in (11, 12)]
    batch = collate(episodes)
    return Truth(frames=batch.future.float() / 255, context=batch.context.float() / 255, episodes=episodes)


@pytest.fixture
def truth(cache):
    return truth_of(cache, "collide_elastic")  # a table walled on every side


def moved(frames: torch.Tensor, dx: int, dy: int) -> torch.Tensor:
    """The picture's content moved by ``(dx, dy)`` pixels (right, down), borders replicated."""
    return translate(frames, [(-dx, -dy)] * frames.shape[0])


@pytest.mark.parametrize("dx, dy", [(1, 0), (0, -1), (1, 1), (-2, 1)])
def test_a_moved_picture_is_moved_back(truth, dx, dy):
    pred = moved(truth.frames, dx, dy)
    assert translations(pred, static_edges(truth.frames, truth.episodes)) == [(dx, dy)] * 2
    back = aligned(pred, truth)
    inner = (slice(None),) * 3 + (slice(REACH, -REACH),) * 2
    torch.testing.assert_close(back[inner], truth.frames[inner], rtol=0, atol=0)


def test_a_moved_picture_costs_the_physics_metrics_nothing(truth):
    pred = moved(truth.frames, 1, -1)
    for name in ("trajectory_ade", "motion_spatial_iou", "permanence"):
        metric = METRICS[name]()
        torch.testing.assert_close(metric.score(pred, truth), metric.score(truth.frames.clone(), truth))


def test_a_world_whose_scenery_stays_is_left_as_it_is(truth):
    frozen = frozen_prediction(truth)  # the objects stop; the table and its walls stay
    assert translations(frozen, static_edges(truth.frames, truth.episodes)) == [(0, 0)] * 2
    assert aligned(frozen, truth) is frozen  # bit for bit: the very same tensor


def test_without_static_pixels_nothing_is_moved(truth):
    changing = truth.frames + torch.linspace(0, 0.2, truth.frames.shape[1])[None, :, None, None, None]
    pred = moved(changing, 1, 0)
    # every pixel changes in the reference
    assert translations(pred, static_edges(changing, truth.episodes)) == [(0, 0)] * 2


def test_a_floor_alone_tells_up_from_down_but_not_sideways(cache):
    """``drop_single``'s one static edge is its floor: the resting ball is no reference."""
    truth = truth_of(cache, "drop_single")
    reference = static_edges(truth.frames, truth.episodes)
    assert translations(moved(truth.frames, 0, 1), reference) == [(0, 1)] * 2
    assert translations(moved(truth.frames, 1, 0), reference) == [(0, 0)] * 2
