"""period_error: the rate of a swing read from a whole track, whatever its phase has become."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from wmbench.metrics import METRICS, Truth
from wmbench.metrics.periodic import PERIOD_ERROR_CAP, dominant_rate
from wmbench.metrics.tracks import LEAD
from wmbench.tasks import get_task, split_seeds
from wmbench.validation.corruptions import CORRUPTIONS
from wmbench.worlds import generate_episode

STEPS = np.arange(200.0)


def swing(rate: float, amplitude: float = 8.0, phase: float = 0.3) -> np.ndarray:
    """``(T, 2)``: a pendulum's bob seen from the front, ``rate`` cycles per frame."""
    angle = 2 * np.pi * rate * STEPS + phase
    return np.stack([32 + amplitude * np.sin(angle), 20 + 0.1 * amplitude * np.cos(2 * angle)], 1)


def score(true: np.ndarray, pred: np.ndarray, seen: np.ndarray | None = None) -> float:
    """``period_error`` of one episode with one object (tracks led by ``LEAD`` context frames)."""
    seen = np.ones(len(true), bool) if seen is None else seen
    lead = lambda a: np.concatenate([np.repeat(a[:1], LEAD, 0), a])[None, :, None]  # noqa: E731
    tracks = SimpleNamespace(
        true_xy=lead(true), pred_xy=lead(pred), measured=lead(seen[:, None])[..., 0], valid=np.ones((1, 1), bool)
    )
    return float(METRICS["period_error"]().from_tracks(tracks, None)[0])


def test_dominant_rate_reads_a_swing_through_gaps():
    seen = np.ones(200, bool)
    seen[50:90] = False  # hidden for 40 frames
    rate, amplitude = dominant_rate(swing(0.0613), seen)
    assert rate == pytest.approx(0.0613, rel=1e-3) and amplitude == pytest.approx(8.0, rel=0.05)
    assert dominant_rate(swing(0.0613), np.zeros(200, bool)) == (pytest.approx(math.nan, nan_ok=True), 0.0)
    assert dominant_rate(np.full((200, 2), 5.0), seen)[1] == 0.0  # nothing moves


def test_period_error_is_the_log_ratio_of_the_rates():
    true = swing(0.06)
    assert score(true, true) == pytest.approx(0.0, abs=1e-3)
    assert score(true, swing(0.06, phase=2.0)) == pytest.approx(0.0, abs=1e-3)  # the phase is not the period
    assert score(true, swing(0.066)) == pytest.approx(math.log(1.1), abs=1e-3)
    assert score(true, swing(0.06 / 1.1)) == pytest.approx(math.log(1.1), abs=1e-3)  # either way alike
    assert score(true, swing(0.06, amplitude=4.0)) == pytest.approx(0.0, abs=1e-3)  # damping is energy's
    assert score(true, swing(0.2)) == PERIOD_ERROR_CAP  # off by more than a factor of two


def test_no_swing_reads_the_cap_and_no_true_swing_is_missing():
    true = swing(0.06)
    assert score(true, np.repeat(true[:1], 200, 0)) == PERIOD_ERROR_CAP  # frozen
    assert score(true, swing(0.06, amplitude=1.5)) == PERIOD_ERROR_CAP  # less than a quarter of the swing
    lost = np.arange(200) < 90
    assert score(true, true, seen=lost) == PERIOD_ERROR_CAP  # seen on fewer than half the frames
    assert score(true, true, seen=~lost) == pytest.approx(0.0, abs=1e-3)
    assert math.isnan(score(swing(0.06, amplitude=1.0), true))  # within the reading's jitter
    assert math.isnan(score(swing(0.008), true))  # fewer than two cycles
    sliding = np.stack([10 + 0.3 * STEPS, 0 * STEPS + 40], 1)
    assert math.isnan(score(sliding, true))


@pytest.mark.slow
def test_period_error_reads_gravity_on_pendulums_whatever_their_phase():
    """A period off by ``p`` reads ``|ln p|`` (``T ~ g^-1/2``); the frozen world ``ln 2``."""
    task = get_task("pendulum_long")
    episode = generate_episode(task, "dev", split_seeds(task, "dev", 1, None)[0])
    frames = lambda a: torch.from_numpy(np.ascontiguousarray(a)).permute(0, 3, 1, 2).float().div(255)[None]  # noqa: E731
    truth = Truth(frames=frames(episode.future_frames), context=frames(episode.context_frames), episodes=[episode])
    metric = METRICS["period_error"]()
    assert float(metric.score(truth.frames, truth)[0]) < 0.005
    assert float(metric.score(truth.context[:, -1:].expand_as(truth.frames), truth)[0]) == PERIOD_ERROR_CAP
    for step in (0.05, 0.5):
        heavier = frames(CORRUPTIONS[f"gravity_+{step:.0%}"].make(task, episode))
        assert float(metric.score(heavier, truth)[0]) == pytest.approx(0.5 * math.log(1 + step), abs=0.003)
