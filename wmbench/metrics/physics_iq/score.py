"""Scoring a Physics-IQ submission: the official per-view metrics and the Physics-IQ
score of ``IQTable`` (see the package's docstring for the procedure)."""

from __future__ import annotations

import math
import tempfile
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch

from wmbench.errors import PhysicsIQError
from wmbench.metrics.motion import SECONDS_SCORED, frame_mse, spatial_iou, spatiotemporal_iou, weighted_spatial_iou
from wmbench.metrics.physics_iq.files import VIEWS, ViewFiles, find_views, generated_videos
from wmbench.metrics.physics_iq.video import frame_size, read_mask_video, scan_video, video_fps
from wmbench.workers import map_in_workers

RATIO_EPS = 1e-8  # the official score's guard against dividing by a zero variance
LIST_KEYS = (
    "v1_mse",
    "v2_mse",
    "variance_spatiotemporal_iou",
    "variance_mse",
    "spatiotemporal_iou_v1",
    "spatiotemporal_iou_v2",
)


def score_view(files: ViewFiles, fps: float, device: torch.device, mask_video: bool = True) -> dict[str, Any]:
    """The official per-view metrics: ``{name: float or per-frame list}``."""
    stop = math.ceil(fps * SECONDS_SCORED)
    height, width = frame_size(files.takes[0])
    size = (height // 4, width // 4)
    with tempfile.TemporaryDirectory(prefix="wmbench-physics-iq-") as tmp:
        scan = lambda path, masks: scan_video(path, stop, size, device, masks, mask_video, Path(tmp))  # noqa: E731
        real = [scan(path, given is None) for path, given in zip(files.takes, files.masks)]
        generated = scan(files.generated, True)
    real_masks = [
        r.motion if given is None else read_mask_video(given, stop, size, device) for r, given in zip(real, files.masks)
    ]
    lengths = {p.name: len(s.frames) for p, s in zip((*files.takes, files.generated), (*real, generated))}
    if len(set(lengths.values())) != 1:
        raise PhysicsIQError(
            f"{files.scenario}, {files.view}: videos must have the same number of frames "
            f"(first {stop} scored): {lengths}"
        )
    frames = [s.frames.double() / 255 for s in (*real, generated)]
    ours = generated.motion

    def per_frame(a: torch.Tensor, b: torch.Tensor) -> list[float]:
        n = min(len(a), len(b))
        return spatiotemporal_iou(a[:n], b[:n]).tolist()

    return {
        "v1_mse": frame_mse(frames[0], frames[2]).tolist(),
        "v2_mse": frame_mse(frames[1], frames[2]).tolist(),
        "variance_spatial": spatial_iou(*real_masks).item(),
        "variance_weighted_spatial": weighted_spatial_iou(*real_masks).item(),
        "variance_spatiotemporal_iou": per_frame(*real_masks),
        "variance_mse": frame_mse(frames[0], frames[1]).tolist(),
        "spatiotemporal_iou_v1": per_frame(real_masks[0], ours),
        "spatiotemporal_iou_v2": per_frame(real_masks[1], ours),
        "spatial_iou_v1": spatial_iou(real_masks[0], ours).item(),
        "spatial_iou_v2": spatial_iou(real_masks[1], ours).item(),
        "weighted_spatial_iou_v1": weighted_spatial_iou(real_masks[0], ours).item(),
        "weighted_spatial_iou_v2": weighted_spatial_iou(real_masks[1], ours).item(),
    }


def _clip(x: float) -> float:
    return min(max(x, 0.0), 1.0)


def physics_iq_score(per_view: dict[tuple[str, str], dict[str, Any]]) -> dict[str, float]:
    """The official ``IQTable.get_output_dict`` of per-view metrics keyed by (scenario, view).

    Per scenario, per-frame lists (rounded to 4 decimals) are averaged over the frames
    of all three views, scalars over the views. ``score_X = mean(X) / mean(variance)``
    for the IoUs and ``mean(mse) - mean(variance_mse)`` for the MSE;
    ``final_score_orig = clip((st + sp + wsp) / 3 - mse)`` to ``[0, 1]``;
    ``final_score_stable`` clips each term first; ``final_score_view`` averages over
    scenarios and views the mean of the four clipped per-view ratios (the MSE's
    inverted). ``physics_iq_score`` and ``physics_iq_score_view`` are the last two in
    percent, as the official scripts print them.
    """
    scenarios = sorted({s for s, _ in per_view})
    rounded = {
        k: {key: ([round(float(x), 4) for x in value] if key in LIST_KEYS else value) for key, value in v.items()}
        for k, v in per_view.items()
    }
    pairs = {
        "spatial_iou_v1": "variance_spatial",
        "weighted_spatial_iou_v1": "variance_weighted_spatial",
        "spatiotemporal_iou_v1": "variance_spatiotemporal_iou",
        "v1_mse": "variance_mse",
    }

    def per_scenario(key: str) -> np.ndarray:
        if key in LIST_KEYS:
            return np.array([np.mean(np.concatenate([rounded[s, v][key] for v in VIEWS])) for s in scenarios])
        return np.array([np.mean([rounded[s, v][key] for v in VIEWS]) for s in scenarios])

    def per_view_mean(key: str) -> np.ndarray:  # (scenarios, views)
        return np.array([[np.mean(rounded[s, v][key]) for v in VIEWS] for s in scenarios])

    means = {key: per_scenario(key).mean() for pair in pairs.items() for key in pair}
    with np.errstate(divide="ignore", invalid="ignore"):
        score = {
            metric: (means[metric] - means[variance] if metric == "v1_mse" else means[metric] / means[variance])
            for metric, variance in pairs.items()
        }
    st, sp, wsp, mse = (
        score[k] for k in ("spatiotemporal_iou_v1", "spatial_iou_v1", "weighted_spatial_iou_v1", "v1_mse")
    )
    raw = (st + sp + wsp) / 3 - mse
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = {
            metric: per_view_mean(metric) / (per_view_mean(variance) + RATIO_EPS) for metric, variance in pairs.items()
        }
        ratios["v1_mse"] = 1.0 / ratios["v1_mse"]
    clipped = {metric: np.clip(r, 0.0, 1.0) for metric, r in ratios.items()}
    final_view = np.mean(np.stack(list(clipped.values())), axis=0)
    out = {
        "score_spatiotemporal": st,
        "score_spatial": sp,
        "score_weighted_spatial": wsp,
        "score_mse": mse,
        "final_score_raw": raw,
        "final_score_stable": _clip((_clip(st) + _clip(sp) + _clip(wsp)) / 3 - _clip(mse)),
        "final_score_orig": _clip(raw),
        "variance_mse": means["variance_mse"],
        "variance_spatiotemporal_iou": means["variance_spatiotemporal_iou"],
        "variance_spatial": means["variance_spatial"],
        "variance_weighted_spatial": means["variance_weighted_spatial"],
        "final_score_view": final_view.mean(),
        "score_spatiotemporal_view": clipped["spatiotemporal_iou_v1"].mean(),
        "score_spatial_view": clipped["spatial_iou_v1"].mean(),
        "score_weighted_spatial_view": clipped["weighted_spatial_iou_v1"].mean(),
        "score_mse_view": clipped["v1_mse"].mean(),
    }
    out = {k: float(v) for k, v in out.items()}
    out["physics_iq_score"] = round(100 * out["final_score_orig"], 2)
    out["physics_iq_score_view"] = round(100 * out["final_score_view"], 2)
    return out


def submission_fps(generated: list[Path]) -> float:
    """The generated videos' common frame rate (as the official scripts read it)."""
    rates = {video_fps(p) for p in generated}
    if len(rates) != 1:
        raise PhysicsIQError(f"generated videos have different frame rates: {sorted(rates)}")
    return rates.pop()


def score_submission(
    generated_dir: Path,
    real_dir: Path | None = None,
    masks_dir: Path | None = None,
    fps: float | None = None,
    device: str | torch.device = "cpu",
    mask_video: bool = True,
    progress: bool = False,
    workers: int = 1,
) -> tuple[dict[str, Any], dict[tuple[str, str], dict[str, Any]]]:
    """Score a submission: ``(summary, per-view metrics with per-frame lists)``.

    ``fps``: default the generated videos' frame rate. ``mask_video=False`` uses the
    computed masks directly instead of passing them through an mp4v video (faster; a
    deliberate deviation from the official numbers, documented in docs/metrics.md).
    ``workers``: views scored in that many processes, one core each (same numbers).
    """
    real_dir = real_dir or generated_dir
    if fps is None:
        fps = submission_fps(generated_videos(generated_dir))
    views = find_views(generated_dir, real_dir, masks_dir, int(fps))
    device = torch.device(device)
    scores = map_in_workers(
        partial(score_view, fps=fps, device=device, mask_video=mask_video),
        views,
        workers,
        progress,
        "physics-iq",
        "view",
    )
    per_view = {(v.scenario, v.view): score for v, score in zip(views, scores)}
    height, width = frame_size(views[0].takes[0])
    summary = {
        "fps": fps,
        "frames": max(len(v["v1_mse"]) for v in per_view.values()),
        "working_resolution": [width // 4, height // 4],
        "mask_video": mask_video,
        "device": str(device),
        "scenarios": {
            s: {
                v: {k: (float(np.mean(x)) if isinstance(x, list) else x) for k, x in per_view[s, v].items()}
                for v in VIEWS
            }
            for s in sorted({s for s, _ in per_view})
        },
        "scores": physics_iq_score(per_view),
    }
    return summary, per_view


def write_csv(per_view: dict[tuple[str, str], dict[str, Any]], path: Path) -> None:
    """The official per-scenario CSV: one row per scenario, ``{metric}_{view}`` columns."""
    import pandas as pd

    rows = []
    for scenario in sorted({s for s, _ in per_view}):
        row: dict[str, Any] = {"scenario": scenario}
        for view in VIEWS:
            row.update({f"{key}_{view}": value for key, value in per_view[scenario, view].items()})
        rows.append(row)
    pd.DataFrame(rows).to_csv(path, index=False)
