"""Stage 3 (beside adapters): metrics, each a torchmetrics ``Metric`` scored per episode.

Every module of this package is imported on the first lookup in :data:`METRICS`, and
registers its metrics itself (``@register``); installed packages add metrics through
the ``wmbench.metrics`` entry-point group.
"""

from wmbench.metrics.base import METRICS, EpisodeMetric, MetricUnavailable, Truth, build_metrics, register
from wmbench.metrics.needs import NEEDS, Need

__all__ = ["METRICS", "NEEDS", "EpisodeMetric", "MetricUnavailable", "Need", "Truth", "build_metrics", "register"]
