"""Score a Physics-IQ submission (Motamed et al. 2025) the way the official scripts do.

Layout (the benchmark's file naming; ``ID`` is four digits, ``SCENARIO`` ends in
``.mp4`` and has no underscore):

* real videos: ``ID_testing-videos_{fps}FPS_{view}_take-{1,2}_SCENARIO`` for the
  views ``perspective-left``, ``-center`` and ``-right``, each take with its own ID;
* generated videos: ``ID_...mp4`` named by the ID of the real take 1 they continue
  (the official renaming gives ``ID_{view}_SCENARIO``);
* optional precomputed real masks: ``ID_video-masks_{fps}FPS_{view}_take-{1,2}_SCENARIO``.

Per view, as the official ``calculate_and_write_metrics_to_csv``: the first
``fps * 5`` frames of every video, resized with OpenCV (bilinear) to a quarter of
the real take 1's width and height; motion masks (:mod:`wmbench.metrics.motion`)
computed on the full-size frames, written to an mp4v mask video and read back as the
official scripts do, resized and thresholded at 127; then the take-1 and take-2
scores of the generated video and the physical variance between the two takes. The
Physics-IQ score follows the official ``IQTable`` (per-frame values rounded to 4
decimals, as its CSV reading does).
"""

from __future__ import annotations

import math
import re
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Iterator

import cv2
import numpy as np
import torch

from wmbench.errors import PhysicsIQError
from wmbench.metrics.motion import (
    SECONDS_SCORED,
    frame_mse,
    motion_masks,
    shrink_masks,
    spatial_iou,
    spatiotemporal_iou,
    weighted_spatial_iou,
)
from wmbench.workers import map_in_workers

VIEWS = ("perspective-left", "perspective-center", "perspective-right")
REAL_NAME = re.compile(r"^(?P<id>\d{4})_testing-videos_(?P<fps>\d+)FPS_(?P<view>perspective-[a-z]+)"
                       r"_take-(?P<take>[12])_(?P<scenario>[^_]+\.mp4)$")
MASK_KIND = "video-masks"
CHUNK_FRAMES = 16
RATIO_EPS = 1e-8  # the official score's guard against dividing by a zero variance
LIST_KEYS = ("v1_mse", "v2_mse", "variance_spatiotemporal_iou", "variance_mse",
             "spatiotemporal_iou_v1", "spatiotemporal_iou_v2")


@dataclass(frozen=True)
class ViewFiles:
    """The files of one view of one scenario."""

    scenario: str
    view: str
    generated: Path
    takes: tuple[Path, Path]
    masks: tuple[Path | None, Path | None]


def _real_videos(real_dir: Path, fps: int) -> dict[str, dict[str, dict[int, tuple[str, Path]]]]:
    found: dict[str, dict[str, dict[int, tuple[str, Path]]]] = defaultdict(lambda: defaultdict(dict))
    for path in sorted(real_dir.glob("*.mp4")):
        match = REAL_NAME.match(path.name)
        if match and int(match["fps"]) == fps:
            found[match["scenario"]][match["view"]][int(match["take"])] = (match["id"], path)
    if not found:
        raise PhysicsIQError(f"{real_dir}: no real videos named ID_testing-videos_{fps}FPS_VIEW_take-N_SCENARIO.mp4")
    return found


def _generated_video(generated_dir: Path, video_id: str, scenario: str, view: str) -> Path:
    candidates = [p for p in sorted(generated_dir.glob(f"{video_id}_*.mp4"))
                  if "_testing-videos_" not in p.name and f"_{MASK_KIND}_" not in p.name]
    if len(candidates) != 1:
        problem = "no generated video" if not candidates else f"{len(candidates)} generated videos"
        raise PhysicsIQError(f"{generated_dir}: {problem} named {video_id}_*.mp4 for {scenario}, {view}")
    return candidates[0]


def find_views(generated_dir: Path, real_dir: Path, masks_dir: Path | None, fps: int) -> list[ViewFiles]:
    """Every view of every scenario with real takes in ``real_dir``, in name order."""
    for folder in (generated_dir, real_dir, masks_dir):
        if folder is not None and not folder.is_dir():
            raise PhysicsIQError(f"{folder}: not a directory")
    views = []
    for scenario, by_view in sorted(_real_videos(real_dir, fps).items()):
        for view in VIEWS:
            takes = by_view.get(view, {})
            if set(takes) != {1, 2}:
                missing = ", ".join(f"take-{k}" for k in (1, 2) if k not in takes)
                raise PhysicsIQError(f"{real_dir}: scenario {scenario}, {view}: no real {missing} at {fps} FPS")
            masks: tuple[Path | None, Path | None] = (None, None)
            if masks_dir is not None:
                masks = tuple(masks_dir / f"{takes[k][0]}_{MASK_KIND}_{fps}FPS_{view}_take-{k}_{scenario}"
                              for k in (1, 2))
                for path in masks:
                    if not path.is_file():
                        raise PhysicsIQError(f"{masks_dir}: missing mask video {path.name}")
            views.append(ViewFiles(scenario, view, _generated_video(generated_dir, takes[1][0], scenario, view),
                                   (takes[1][1], takes[2][1]), masks))
    return views


def _open(path: Path) -> cv2.VideoCapture:
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise PhysicsIQError(f"{path}: cannot be read as a video")
    return capture


def _chunks(path: Path, stop: int) -> Iterator[np.ndarray]:
    """The first ``stop`` decoded BGR frames, ``uint8 (n, H, W, 3)`` at a time."""
    capture, read = _open(path), 0
    try:
        while read < stop:
            frames = []
            while len(frames) < CHUNK_FRAMES and read < stop:
                ok, frame = capture.read()
                if not ok:
                    return
                frames.append(frame)
                read += 1
            if frames:
                yield np.stack(frames)
    finally:
        capture.release()


def video_fps(path: Path) -> float:
    capture = _open(path)
    fps = capture.get(cv2.CAP_PROP_FPS)
    capture.release()
    return fps


def _frame_size(path: Path) -> tuple[int, int]:
    capture = _open(path)
    ok, frame = capture.read()
    capture.release()
    if not ok:
        raise PhysicsIQError(f"{path}: has no frames")
    return frame.shape[0], frame.shape[1]


class _MaskVideo:
    """Masks written as the official scripts write them: a grey mp4v video at the
    source's rounded frame rate and even size, read back as 3-channel frames."""

    def __init__(self, source: Path, folder: Path, height: int, width: int):
        if height % 2 or width % 2:
            raise PhysicsIQError(f"{source}: {width}x{height}: mask videos need an even width and height "
                                 "(or pass --no-mask-video)")
        self.path = folder / f"{source.stem}-masks.mp4"
        self.writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*"mp4v"), round(video_fps(source)),
                                      (width, height), isColor=False)
        if not self.writer.isOpened():
            raise PhysicsIQError(f"{self.path}: OpenCV cannot write mp4v videos here (or pass --no-mask-video)")

    def write(self, masks: torch.Tensor) -> None:
        for mask in (masks.to(torch.uint8) * 255).cpu().numpy():
            self.writer.write(mask)

    def close(self) -> Path:
        self.writer.release()
        return self.path


def read_mask_video(path: Path, stop: int, size: tuple[int, int], device: torch.device) -> torch.Tensor:
    """Masks ``bool (T, h, w)`` from a mask video: resized to ``size`` (h, w), kept above 127."""
    masks = [np.stack([cv2.resize(f, size[::-1])[..., 0] > 127 for f in chunk]) for chunk in _chunks(path, stop)]
    if not masks:
        raise PhysicsIQError(f"{path}: has no frames")
    return torch.from_numpy(np.concatenate(masks)).to(device)


@dataclass
class _Scan:
    frames: torch.Tensor  # uint8 (T, h, w, 3) BGR at the working size
    masks: torch.Tensor | None  # bool (T, h, w) at the working size


def scan_video(path: Path, stop: int, size: tuple[int, int], device: torch.device, masks: bool,
               mask_video: bool, workdir: Path) -> _Scan:
    """One decoding pass: frames at the working ``size`` (h, w) and, if asked, motion masks."""
    small, parts, background, writer = [], [], None, None
    for chunk in _chunks(path, stop):
        small.append(np.stack([cv2.resize(f, size[::-1]) for f in chunk]))
        if not masks:
            continue
        rgb = cv2.cvtColor(chunk.reshape(-1, *chunk.shape[2:]), cv2.COLOR_BGR2RGB).reshape(chunk.shape)
        rgb = torch.from_numpy(rgb).to(device).permute(0, 3, 1, 2)
        chunk_masks, background = motion_masks(rgb[None], background)
        if mask_video:
            writer = writer or _MaskVideo(path, workdir, *chunk.shape[1:3])
            writer.write(chunk_masks[0])
        else:
            parts.append(shrink_masks(chunk_masks[0], size))
    if not small:
        raise PhysicsIQError(f"{path}: has no frames")
    frames = torch.from_numpy(np.concatenate(small)).to(device)
    if not masks:
        return _Scan(frames, None)
    found = read_mask_video(writer.close(), stop, size, device) if mask_video else torch.cat(parts)
    return _Scan(frames, found)


def score_view(files: ViewFiles, fps: float, device: torch.device, mask_video: bool = True) -> dict[str, Any]:
    """The official per-view metrics: ``{name: float or per-frame list}``."""
    stop = math.ceil(fps * SECONDS_SCORED)
    height, width = _frame_size(files.takes[0])
    size = (height // 4, width // 4)
    with tempfile.TemporaryDirectory(prefix="wmbench-physics-iq-") as tmp:
        scan = lambda path, masks: scan_video(path, stop, size, device, masks, mask_video, Path(tmp))  # noqa: E731
        real = [scan(path, given is None) for path, given in zip(files.takes, files.masks)]
        generated = scan(files.generated, True)
    real_masks = [r.masks if r.masks is not None else read_mask_video(given, stop, size, device)
                  for r, given in zip(real, files.masks)]
    lengths = {p.name: len(s.frames) for p, s in zip((*files.takes, files.generated), (*real, generated))}
    if len(set(lengths.values())) != 1:
        raise PhysicsIQError(f"{files.scenario}, {files.view}: videos must have the same number of frames "
                             f"(first {stop} scored): {lengths}")
    frames = [s.frames.double() / 255 for s in (*real, generated)]
    ours = generated.masks

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


def _clip(x: np.ndarray | float) -> np.ndarray | float:
    return np.clip(x, 0.0, 1.0)


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
    rounded = {k: {key: ([round(float(x), 4) for x in value] if key in LIST_KEYS else value)
                   for key, value in v.items()} for k, v in per_view.items()}
    pairs = {"spatial_iou_v1": "variance_spatial", "weighted_spatial_iou_v1": "variance_weighted_spatial",
             "spatiotemporal_iou_v1": "variance_spatiotemporal_iou", "v1_mse": "variance_mse"}

    def per_scenario(key: str) -> np.ndarray:
        if key in LIST_KEYS:
            return np.array([np.mean(np.concatenate([rounded[s, v][key] for v in VIEWS])) for s in scenarios])
        return np.array([np.mean([rounded[s, v][key] for v in VIEWS]) for s in scenarios])

    def per_view_mean(key: str) -> np.ndarray:  # (scenarios, views)
        return np.array([[np.mean(rounded[s, v][key]) for v in VIEWS] for s in scenarios])

    means = {key: per_scenario(key).mean() for pair in pairs.items() for key in pair}
    with np.errstate(divide="ignore", invalid="ignore"):
        score = {metric: (means[metric] - means[variance] if metric == "v1_mse" else means[metric] / means[variance])
                 for metric, variance in pairs.items()}
    st, sp, wsp, mse = (score[k] for k in ("spatiotemporal_iou_v1", "spatial_iou_v1", "weighted_spatial_iou_v1",
                                           "v1_mse"))
    raw = (st + sp + wsp) / 3 - mse
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = {metric: per_view_mean(metric) / (per_view_mean(variance) + RATIO_EPS)
                  for metric, variance in pairs.items()}
        ratios["v1_mse"] = 1.0 / ratios["v1_mse"]
    clipped = {metric: _clip(r) for metric, r in ratios.items()}
    final_view = np.mean(np.stack(list(clipped.values())), axis=0)
    out = {
        "score_spatiotemporal": st, "score_spatial": sp, "score_weighted_spatial": wsp, "score_mse": mse,
        "final_score_raw": raw,
        "final_score_stable": _clip((_clip(st) + _clip(sp) + _clip(wsp)) / 3 - _clip(mse)),
        "final_score_orig": _clip(raw),
        "variance_mse": means["variance_mse"], "variance_spatiotemporal_iou": means["variance_spatiotemporal_iou"],
        "variance_spatial": means["variance_spatial"], "variance_weighted_spatial": means["variance_weighted_spatial"],
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


def score_submission(generated_dir: Path, real_dir: Path | None = None, masks_dir: Path | None = None,
                     fps: float | None = None, device: str | torch.device = "cpu", mask_video: bool = True,
                     progress: bool = False, workers: int = 1
                     ) -> tuple[dict[str, Any], dict[tuple[str, str], dict[str, Any]]]:
    """Score a submission: ``(summary, per-view metrics with per-frame lists)``.

    ``fps``: default the generated videos' frame rate. ``mask_video=False`` uses the
    computed masks directly instead of passing them through an mp4v video (faster; a
    deliberate deviation from the official numbers, documented in docs/metrics.md).
    ``workers``: views scored in that many processes, one core each (same numbers).
    """
    real_dir = real_dir or generated_dir
    if fps is None:
        if not generated_dir.is_dir():
            raise PhysicsIQError(f"{generated_dir}: not a directory")
        candidates = [p for p in sorted(generated_dir.glob("[0-9][0-9][0-9][0-9]_*.mp4"))
                      if not REAL_NAME.match(p.name) and f"_{MASK_KIND}_" not in p.name]
        if not candidates:
            raise PhysicsIQError(f"{generated_dir}: no generated videos named ID_*.mp4")
        fps = submission_fps(candidates)
    views = find_views(generated_dir, real_dir, masks_dir, int(fps))
    device = torch.device(device)
    scores = map_in_workers(partial(score_view, fps=fps, device=device, mask_video=mask_video), views, workers,
                            progress, "physics-iq", "view")
    per_view = {(v.scenario, v.view): score for v, score in zip(views, scores)}
    height, width = _frame_size(views[0].takes[0])
    summary = {
        "fps": fps, "frames": math.ceil(fps * SECONDS_SCORED), "working_resolution": [width // 4, height // 4],
        "mask_video": mask_video, "device": str(device),
        "scenarios": {s: {v: {k: (float(np.mean(x)) if isinstance(x, list) else x) for k, x in per_view[s, v].items()}
                          for v in VIEWS} for s in sorted({s for s, _ in per_view})},
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
