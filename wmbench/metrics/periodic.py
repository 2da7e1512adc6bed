"""Periodic motion: how fast each object swings, read from its track.

Over a long horizon a phase error grows until the predicted and the true pendulum are
anywhere in their swings, and every position error reads the same whether the period
is 2% or 40% off. The rate of the swing does not saturate: it is read from the whole
track at once, as the peak of its periodogram.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.signal import lombscargle

from wmbench.metrics.base import Truth, register
from wmbench.metrics.physics import PhysicsMetric
from wmbench.metrics.tracks import LEAD, Tracks

#: A true track oscillates when its periodogram peaks at an amplitude of at least this
#: many pixels (beyond the reading's jitter) ...
OSCILLATION_AMPLITUDE = 1.5
#: ... and at least this many cycles over the horizon.
OSCILLATION_CYCLES = 2.0
#: A predicted swing below this fraction of the true amplitude is too small to time.
SWING_FRACTION = 0.25
#: Rates are searched on a grid this many times finer than the periodogram's resolution
#: (one cycle per track) ...
RATE_OVERSAMPLING = 5
#: ... and the peak refined on one this many times finer still, a step of 1 / (100 T):
#: 0.07% of a rate of 0.07 cycles per frame over 220 frames.
RATE_REFINEMENT = 20
#: A rate off by a factor of two or more, or none, reads as this (ln 2).
PERIOD_ERROR_CAP = math.log(2.0)


def dominant_rate(xy: np.ndarray, ok: np.ndarray) -> tuple[float, float]:
    """The rate (cycles per frame) and amplitude (pixels) of a track's strongest periodic
    motion: the peak of the sum of the Lomb-Scargle periodograms of its coordinates
    ``xy`` ``(T, 2)`` over the frames ``ok`` ``(T,)`` (gaps allowed), on rates from one
    cycle per ``T`` frames to one per two frames. ``(nan, 0.0)`` on fewer than 3 frames."""
    steps = np.flatnonzero(ok)
    if len(steps) < 3:
        return float("nan"), 0.0
    t = len(xy)
    centred = xy[steps] - xy[steps].mean(axis=0)

    def power(rates: np.ndarray) -> np.ndarray:
        return sum(lombscargle(steps.astype(float), centred[:, axis], 2 * np.pi * rates) for axis in (0, 1))

    step = 1 / (RATE_OVERSAMPLING * t)
    coarse = np.arange(RATE_OVERSAMPLING, RATE_OVERSAMPLING * t // 2 + 1) * step
    near = coarse[int(np.argmax(power(coarse)))] + np.linspace(-step, step, 2 * RATE_REFINEMENT + 1)
    fine = near[(near >= coarse[0]) & (near <= coarse[-1])]
    peak = power(fine)
    best = int(np.argmax(peak))
    return float(fine[best]), float(np.sqrt(4 * peak[best] / len(steps)))


@register
class PeriodError(PhysicsMetric):
    """Period of oscillation: for each object whose true track over the horizon
    oscillates (:func:`dominant_rate` of its true centres: an amplitude of at least
    :data:`OSCILLATION_AMPLITUDE` px, at least :data:`OSCILLATION_CYCLES` cycles),
    ``min(|ln(f_pred / f_true)|, ln 2)`` with ``f`` the rate of the predicted centroids
    where the object is seen; ``ln 2`` where it is seen on fewer than half the horizon's
    frames or swings less than :data:`SWING_FRACTION` of the true amplitude (a frozen
    world). Mean over those objects. A period off by a factor ``p`` reads ``|ln p|``
    whatever the phase has become. Unit: log ratio of periods; lower is better."""

    name, unit, higher_is_better = "period_error", "log ratio of periods", False
    catches = ("frozen", "slow_motion", "fast_motion", "gravity_halved", "gravity_doubled")
    margin = 0.02
    log_floor = 0.005

    def from_tracks(self, tr: Tracks, truth: Truth) -> np.ndarray:
        out = np.full(len(tr.valid), np.nan)
        for b in range(len(out)):
            errors = [
                error
                for k in np.flatnonzero(tr.valid[b])
                if (error := self._object(tr.pred_xy[b, LEAD:, k], tr.measured[b, LEAD:, k], tr.true_xy[b, LEAD:, k]))
                is not None
            ]
            if errors:
                out[b] = float(np.mean(errors))
        return out

    @staticmethod
    def _object(pred: np.ndarray, seen: np.ndarray, true: np.ndarray) -> float | None:
        """One object's error; ``None`` where its true track does not oscillate."""
        horizon = len(true)
        true_rate, true_amplitude = dominant_rate(true, ~np.isnan(true[:, 0]))
        if true_amplitude < OSCILLATION_AMPLITUDE or true_rate * horizon < OSCILLATION_CYCLES:
            return None
        if seen.sum() < horizon / 2:
            return PERIOD_ERROR_CAP
        rate, amplitude = dominant_rate(pred, seen)
        if amplitude < SWING_FRACTION * true_amplitude:
            return PERIOD_ERROR_CAP
        return min(abs(math.log(rate / true_rate)), PERIOD_ERROR_CAP)
