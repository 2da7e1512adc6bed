"""Stage 5: metrics, each a torchmetrics ``Metric`` scored per episode."""

from wmbench.metrics import motion, perceptual, pixel  # noqa: F401  (register their metrics)
from wmbench.metrics.base import METRICS, EpisodeMetric, MetricUnavailable, Truth, build_metrics, register

__all__ = ["METRICS", "EpisodeMetric", "MetricUnavailable", "Truth", "build_metrics", "register"]
