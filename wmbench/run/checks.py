"""Adapting inputs to an adapter's requirements and validating what it returns."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from wmbench.adapters.base import Adapter, ContextBatch
from wmbench.errors import AdapterError
from wmbench.metrics.base import METRICS
from wmbench.tasks.schema import Task

#: Predictions may exceed [0, 1] by this much (rounding); they are then clamped.
RANGE_TOLERANCE = 1e-3


def resize(frames: torch.Tensor, size: int) -> torch.Tensor:
    """Resize ``(B, T, 3, H, W)`` frames to ``size`` square (area when shrinking)."""
    if frames.shape[-1] == size and frames.shape[-2] == size:
        return frames
    b, t = frames.shape[:2]
    flat = frames.flatten(0, 1)
    mode = "area" if size < frames.shape[-1] else "bilinear"
    out = F.interpolate(flat, size=(size, size), mode=mode, **({} if mode == "area" else {"align_corners": False}))
    return out.view(b, t, *out.shape[1:])


def check_compatible(adapter: Adapter, task: Task, has_actions: bool) -> None:
    """Refuse a task the adapter cannot take (or requirements that make no sense), naming why."""
    req, label = adapter.requirements, adapter.display_name()
    for field in ("context", "resolution", "max_batch_size"):
        value = getattr(req, field)
        if value is not None and (not isinstance(value, int) or value < 1):
            raise AdapterError(label, f"requirements.{field} must be a positive integer or None, got {value!r}",
                               task.name)
    if req.context is not None and req.context > task.context:
        raise AdapterError(label, f"needs {req.context} context frames but the task gives {task.context}", task.name)
    if req.uses_actions and not has_actions:
        raise AdapterError(label, "conditions on actions but the task has none", task.name)
    on_frames = [m for m in task.metrics if m in METRICS and METRICS[m].scores_frames]
    if not req.predicts_frames and on_frames:
        raise AdapterError(label, f"predicts no frames, and the task scores predicted frames "
                           f"({', '.join(on_frames)}); a latent model is scored on violation-of-expectation "
                           "tasks (suite 'surprise')", task.name)


def adapter_inputs(adapter: Adapter, context: torch.Tensor, actions: torch.Tensor | None,
                   horizon: int, fps: float) -> ContextBatch:
    """The isolated input: context frames (cropped and resized as required), the actions
    (only for adapters that use them), the horizon and the fps. Nothing else."""
    req = adapter.requirements
    if req.context is not None:
        context = context[:, -req.context :]
        if actions is not None:
            actions = actions[:, -(req.context + horizon - 1) :]
    if req.resolution is not None:
        context = resize(context, req.resolution)
    return ContextBatch(frames=context.contiguous(), horizon=horizon, fps=fps,
                        actions=actions if req.uses_actions else None)


def check_prediction(pred: object, expected: tuple[int, ...], device: torch.device, adapter: str, task: str,
                     episodes: str) -> torch.Tensor:
    """Validate an adapter's output against ``expected`` = ``(B, T, 3, H, W)`` on
    ``device`` (the context's: type, device, dtype, shape, frame count, NaN/Inf, value
    range); returns it as float32 clamped to [0, 1]."""
    def fail(problem: str) -> AdapterError:
        return AdapterError(adapter, problem, task, episodes)

    if not isinstance(pred, torch.Tensor):
        raise fail(f"predict() returned {type(pred).__name__}, expected a torch.Tensor")
    if pred.device != device:
        raise fail(f"predicted frames are on {pred.device}, expected {device} (the device of the context frames)")
    if not pred.is_floating_point():
        raise fail(f"predicted frames have dtype {pred.dtype}, expected a floating dtype in [0, 1]")
    b, t, c, h, w = expected
    if pred.ndim != 5 or pred.shape[0] != b or pred.shape[2] != c:
        raise fail(f"predicted frames have shape {tuple(pred.shape)}, expected ({b}, {t}, {c}, {h}, {w})")
    if pred.shape[1] != t:
        raise fail(f"predicted {pred.shape[1]} frames, expected {t} (the horizon)")
    if tuple(pred.shape[-2:]) != (h, w):
        raise fail(f"predicted frames are {pred.shape[-2]}x{pred.shape[-1]} pixels, expected {h}x{w}")
    bad = ~torch.isfinite(pred)
    if bad.any():
        raise fail(f"predicted frames contain {int(bad.sum())} NaN/Inf values")
    low, high = float(pred.min()), float(pred.max())
    if low < -RANGE_TOLERANCE or high > 1 + RANGE_TOLERANCE:
        raise fail(f"predicted values span [{low:.4g}, {high:.4g}], expected [0, 1]")
    return pred.float().clamp(0, 1)
