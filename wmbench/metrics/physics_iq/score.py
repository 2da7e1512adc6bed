"""Scoring a Physics-IQ submission: the official per-view metrics
(``calculate_and_write_metrics_to_csv``) and the Physics-IQ score and physical
variance of ``calculate_iq_score`` (see the package's docstring for the procedure).
NumPy and OpenCV only; torch is imported only to compute masks on another device."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from wmbench.errors import PhysicsIQError
from wmbench.metrics.physics_iq.files import VIEWS, ViewFiles, find_views, generated_videos
from wmbench.metrics.physics_iq.takes import RealSide, TakesCache
from wmbench.metrics.physics_iq.video import (
    Scan,
    converted_frames,
    decoded,
    frame_size,
    frames_scored,
    read_masks,
    scan_video,
    video_fps,
)
from wmbench.workers import map_in_threads

#: The per-frame metrics (lists in the CSV); the others are one number per view.
LIST_KEYS = (
    "v1_mse",
    "v2_mse",
    "variance_spatiotemporal_iou",
    "variance_mse",
    "spatiotemporal_iou_v1",
    "spatiotemporal_iou_v2",
)
#: Decimals to which ``calculate_iq_score`` rounds each physical-variance term.
VARIANCE_DECIMALS = {"spatiotemporal_iou": 4, "spatial_iou": 5, "weighted_spatial_iou": 4, "mse": 4}


def iou_per_frame(a: np.ndarray, b: np.ndarray) -> list[float]:
    """``|A_t & B_t| / |A_t | B_t|`` of ``bool (T, h, w)`` masks, 1 where the union is empty."""
    n = min(len(a), len(b))
    a, b = a[:n].reshape(n, -1), b[:n].reshape(n, -1)
    intersection, union = (a & b).sum(1), (a | b).sum(1)
    return [float(i / u) if u else 1.0 for i, u in zip(intersection, union)]


def spatial_iou(a: np.ndarray, b: np.ndarray) -> float:
    """The IoU of the masks collapsed over time (moving in any frame)."""
    return iou_per_frame(np.asarray(a.any(0))[None], np.asarray(b.any(0))[None])[0]


def weighted_spatial_iou(a: np.ndarray, b: np.ndarray) -> float:
    """``sum min(w_A, w_B) / sum max(w_A, w_B)`` of the fractions of frames in which each
    pixel moves, 1 where both are empty."""
    wa, wb = a.sum(0, dtype=np.uint16) / len(a), b.sum(0, dtype=np.uint16) / len(b)
    union = np.maximum(wa, wb).sum()
    return float(np.minimum(wa, wb).sum() / union) if union else 1.0


#: ``float32(level / 255.0)`` of every 8-bit level: the official frames' values.
_LEVELS = (np.arange(256) / 255.0).astype(np.float32)


def levels(frames: np.ndarray) -> np.ndarray:
    """``uint8`` frames as the official float32 values (:data:`_LEVELS`), by OpenCV's table
    lookup (several times faster than NumPy's indexing; the same values)."""
    return cv2.LUT(frames.reshape(len(frames), -1), _LEVELS).reshape(frames.shape)


def mse_per_frame(x: np.ndarray, y: np.ndarray) -> list[float]:
    """Per-frame MSE of frames ``(T, h, w, 3)`` on a 0-1 scale, in float32 as the official
    ``mse_per_frame`` computes it: ``uint8`` frames are divided by 255 in float64 and
    cast to float32 first (pass them through :func:`levels` once to reuse them)."""
    a, b = (levels(f) if f.dtype == np.uint8 else f for f in (x, y))
    return [float(np.mean((p - q) ** 2)) for p, q in zip(a, b)]


def _real_side(
    files: ViewFiles, stop: int, size: tuple[int, int], scan: Callable[[Path, bool, bool], Scan]
) -> RealSide:
    """The takes' frames at the working ``size`` and their masks, computed or read from the given ones."""
    takes = [scan(path, given is None, True) for path, given in zip(files.takes, files.masks)]
    masks = [_masks(s) if given is None else read_masks(given, stop, size) for s, given in zip(takes, files.masks)]
    return RealSide((takes[0].frames, takes[1].frames), (masks[0], masks[1]))


def _masks(scan: Scan) -> np.ndarray:
    if scan.masks is None:
        raise ValueError("the video was scanned without its masks")
    return scan.masks


def score_view(
    files: ViewFiles, fps: float, device: str = "cpu", mask_video: bool = True, cache: TakesCache | None = None
) -> dict[str, Any]:
    """The official per-view metrics: ``{name: float or per-frame list}``. ``cache``: where
    the real takes' side is kept across runs (``None``: read every time)."""
    stop = frames_scored(fps)
    key = cache.key(files, fps, stop, mask_video, device) if cache is not None else None
    side = cache.get(key) if cache is not None and key is not None else None
    if side is None:
        height, width = frame_size(files.takes[0])
        size = (height // 4, width // 4)
    else:
        size = side.frames[0].shape[1:3]
    convert = files.takes_fps != int(fps)
    with tempfile.TemporaryDirectory(prefix="wmbench-physics-iq-") as tmp:

        def scan(path: Path, masks: bool, real: bool) -> Scan:
            frames = converted_frames(path, fps)[:stop] if real and convert else decoded(path, stop)
            rate = fps if real and convert else video_fps(path)
            through = Path(tmp) / f"{path.stem}-masks.mp4" if mask_video else None
            return scan_video(frames, size, str(path), masks, device, through, rate)

        if side is None:
            side = _real_side(files, stop, size, scan)
            if cache is not None and key is not None:
                cache.put(key, side)
        generated = scan(files.generated, True, False)
    lengths = {p.name: len(f) for p, f in zip((*files.takes, files.generated), (*side.frames, generated.frames))}
    if len(set(lengths.values())) != 1:
        raise PhysicsIQError(
            f"{files.scenario}, {files.view}: videos must have the same number of frames "
            f"(first {stop} scored): {lengths}"
        )
    first, second = side.masks
    ours = _masks(generated)
    take1, take2, frames = (levels(f) for f in (*side.frames, generated.frames))
    return {
        "v1_mse": mse_per_frame(take1, frames),
        "v2_mse": mse_per_frame(take2, frames),
        "variance_spatial": spatial_iou(first, second),
        "variance_weighted_spatial": weighted_spatial_iou(first, second),
        "variance_spatiotemporal_iou": iou_per_frame(first, second),
        "variance_mse": mse_per_frame(take1, take2),
        "spatiotemporal_iou_v1": iou_per_frame(first, ours),
        "spatiotemporal_iou_v2": iou_per_frame(second, ours),
        "spatial_iou_v1": spatial_iou(first, ours),
        "spatial_iou_v2": spatial_iou(second, ours),
        "weighted_spatial_iou_v1": weighted_spatial_iou(first, ours),
        "weighted_spatial_iou_v2": weighted_spatial_iou(second, ours),
    }


def physics_iq_score(per_view: dict[tuple[str, str], dict[str, Any]]) -> dict[str, Any]:
    """The official ``calculate_iq_score`` of per-view metrics keyed by (scenario, view).

    Per-frame values are rounded to 4 decimals (as its CSV reading does). The
    submission's means: for the per-frame metrics, per scenario over the frames of its
    three views, then over scenarios; for the others, per view over scenarios, then over
    views. The physical variance terms (take 1 against take 2): per view over every
    frame (or scenario), then over views, rounded to 4 decimals (5 for the spatial IoU);
    ``physical_variance = round(st + sp + wsp - mse, 4)`` of them. Score, in percent:
    ``100 ((st / st_var + sp / sp_var + wsp / wsp_var) / 3 - (mse - mse_var))``,
    clipped to ``[0, 100]`` and rounded to 2 decimals.
    """
    scenarios = sorted({s for s, _ in per_view})
    rounded = {k: {key: [round(float(x), 4) for x in v[key]] for key in LIST_KEYS} for k, v in per_view.items()}

    def by_scenario(key: str) -> float:
        return float(np.mean([np.mean(np.concatenate([rounded[s, v][key] for v in VIEWS])) for s in scenarios]))

    def by_view(key: str) -> float:
        if key not in LIST_KEYS:
            return float(np.mean([np.mean([per_view[s, v][key] for s in scenarios]) for v in VIEWS]))
        frames = [[x for s in scenarios for x in rounded[s, v][key]] for v in VIEWS]
        return float(np.mean([sum(values) / len(values) for values in frames]))  # summed in order

    means = {
        "spatiotemporal_iou": by_scenario("spatiotemporal_iou_v1"),
        "spatial_iou": by_view("spatial_iou_v1"),
        "weighted_spatial_iou": by_view("weighted_spatial_iou_v1"),
        "mse": by_scenario("v1_mse"),
    }
    variance_keys = {
        "spatiotemporal_iou": "variance_spatiotemporal_iou",
        "spatial_iou": "variance_spatial",
        "weighted_spatial_iou": "variance_weighted_spatial",
        "mse": "variance_mse",
    }
    terms = {name: float(np.round(by_view(key), VARIANCE_DECIMALS[name])) for name, key in variance_keys.items()}
    ious = ("spatiotemporal_iou", "spatial_iou", "weighted_spatial_iou")
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = {name: float(np.float64(means[name]) / terms[name]) for name in ious}
    unclipped = 100 * (sum(ratios.values()) / 3 - (means["mse"] - terms["mse"]))
    variance = float(np.round(sum(terms[name] for name in ious) - terms["mse"], 4))
    return {
        "physics_iq_score": float(np.round(min(max(unclipped, 0.0), 100.0), 2)),
        "physical_variance": variance,
        "physical_variance_terms": terms,
        "means": means,
        "ratios": {**ratios, "mse_excess": means["mse"] - terms["mse"]},
        "unclipped": unclipped,
    }


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
    device: str = "cpu",
    mask_video: bool = True,
    progress: bool = False,
    workers: int = 1,
    cache: TakesCache | None = None,
) -> tuple[dict[str, Any], dict[tuple[str, str], dict[str, Any]]]:
    """Score a submission: ``(summary, per-view metrics with per-frame lists)``.

    ``fps``: default the generated videos' frame rate. ``device``: where the motion
    masks are computed (``"cpu"``: OpenCV; any other torch device: torch, the same
    masks). ``mask_video=False`` uses the computed masks directly instead of passing
    them through an mp4v video (faster; a deliberate deviation from the official
    numbers, documented in docs/metrics.md). ``workers``: views scored on that many
    threads (same numbers). ``cache``: where the real takes' side of each view is kept
    across runs (same numbers; ``None``: read every time).
    """
    real_dir = real_dir or generated_dir
    if fps is None:
        fps = submission_fps(generated_videos(generated_dir))
    views = find_views(generated_dir, real_dir, masks_dir, int(fps))
    score = partial(score_view, fps=fps, device=str(device), mask_video=mask_video, cache=cache)
    scores = map_in_threads(score, views, workers, progress, "physics-iq", "view")
    per_view = {(v.scenario, v.view): s for v, s in zip(views, scores)}
    height, width = frame_size(views[0].takes[0])
    summary = {
        "fps": fps,
        "real_fps": views[0].takes_fps,
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
