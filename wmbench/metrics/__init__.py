"""Stage 3 (beside adapters): metrics, each a torchmetrics ``Metric`` scored per episode.

Every module of this package is imported on the first lookup in :data:`METRICS`, and
registers its metrics itself (``@register``); installed packages add metrics through
the ``wmbench.metrics`` entry-point group. The names below are imported on first use
(PEP 562), so that the torch-free modules of the package (:mod:`.motion_opencv`,
:mod:`.physics_iq` on the CPU) load without torch and torchmetrics.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wmbench._lazy import lazy_names

if TYPE_CHECKING:
    from wmbench.metrics.base import METRICS, EpisodeMetric, MetricUnavailable, Truth, build_metrics, register
    from wmbench.metrics.needs import NEEDS, Need

_LAZY = {
    **dict.fromkeys(["METRICS", "EpisodeMetric", "MetricUnavailable", "Truth", "build_metrics", "register"], "base"),
    **dict.fromkeys(["NEEDS", "Need"], "needs"),
}

__all__ = ["METRICS", "NEEDS", "EpisodeMetric", "MetricUnavailable", "Need", "Truth", "build_metrics", "register"]

__getattr__, __dir__ = lazy_names(__name__, _LAZY)
