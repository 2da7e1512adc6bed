"""Stage 5: metrics, each a torchmetrics ``Metric`` scored per episode."""

from wmbench.metrics import physics, pixel  # noqa: F401  (registers the metrics)
from wmbench.metrics.base import METRICS, EpisodeMetric, MetricUnavailable, Truth, build_metrics, register

__all__ = ["METRICS", "EpisodeMetric", "MetricUnavailable", "Truth", "build_metrics", "register"]
