"""Stage 5: metrics, each a torchmetrics ``Metric`` scored per episode."""

from wmbench.metrics import coherence, control, motion, perceptual, physics, pixel, surprise  # noqa: F401  (register the metrics)
from wmbench.metrics.base import METRICS, EpisodeMetric, MetricUnavailable, Truth, build_metrics, register
from wmbench.metrics.probes import Probes

__all__ = ["METRICS", "EpisodeMetric", "MetricUnavailable", "Probes", "Truth", "build_metrics", "register"]
