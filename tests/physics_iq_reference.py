"""An independent reference for the Physics-IQ scoring, written from the published
procedure one frame at a time with OpenCV, NumPy and pandas (no wmbench code): the
expected values of the motion and ``physics-iq`` tests and the baseline of the
scoring benchmarks. Masks keep the three channels of the decoded mask videos, as the
official scripts do.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

VIEWS = ("perspective-left", "perspective-center", "perspective-right")


def masks_per_frame(frames_bgr: list[np.ndarray]) -> list[np.ndarray]:
    """Physics-IQ motion masks (0/255 uint8) of BGR uint8 frames, frame by frame."""
    kernel = np.ones((5, 5), np.uint8)
    grey = cv2.GaussianBlur(cv2.cvtColor(frames_bgr[0], cv2.COLOR_BGR2GRAY), (5, 5), 0)
    background = grey.astype("float")
    masks = [np.zeros_like(grey)]
    for frame in frames_bgr[1:]:
        grey = cv2.GaussianBlur(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), (5, 5), 0)
        cv2.accumulateWeighted(grey, background, 0.3)
        difference = cv2.absdiff(grey, cv2.convertScaleAbs(background))
        _, mask = cv2.threshold(difference, 10, 255, cv2.THRESH_BINARY)
        mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, kernel)
        masks.append(cv2.morphologyEx(mask, cv2.MORPH_CLOSE, kernel))
    return masks


def read_frames(path: Path, stop: int, size: tuple[int, int] | None = None) -> list[np.ndarray]:
    """The first ``stop`` decoded BGR frames, resized to ``size`` (width, height) if given."""
    capture = cv2.VideoCapture(str(path))
    frames = []
    while len(frames) < stop:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(cv2.resize(frame, size) if size else frame)
    capture.release()
    return frames


def write_video(path: Path, frames: list[np.ndarray], fps: float, is_color: bool = True) -> None:
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h), isColor=is_color)
    for frame in frames:
        writer.write(frame)
    writer.release()


def mask_video_frames(video: Path, stop: int, size: tuple[int, int], through_codec: bool = True,
                      mask_file: Path | None = None) -> list[np.ndarray]:
    """Binary masks at ``size`` as the official scoring reads them: computed on the full
    video, written as an mp4v mask video, read back, resized and thresholded at 127.
    ``mask_file``: read this precomputed mask video instead."""
    if mask_file is None:
        fps = round(cv2.VideoCapture(str(video)).get(cv2.CAP_PROP_FPS))
        masks = masks_per_frame(read_frames(video, 10**9))
        if not through_codec:
            return [cv2.resize(cv2.merge([m, m, m]), size)[..., 0] > 127 for m in masks[:stop]]
        with tempfile.TemporaryDirectory() as tmp:
            mask_file = Path(tmp) / "masks.mp4"
            write_video(mask_file, masks, fps, is_color=False)
            return [f > 127 for f in read_frames(mask_file, stop, size)]
    return [f > 127 for f in read_frames(mask_file, stop, size)]


def iou_per_frame(a: list[np.ndarray], b: list[np.ndarray]) -> list[float]:
    out = []
    for m1, m2 in zip(a, b):
        union = np.logical_or(m1, m2).sum()
        out.append(1.0 if union == 0 else np.logical_and(m1, m2).sum() / union)
    return out


def spatial(a: list[np.ndarray], b: list[np.ndarray]) -> float:
    return iou_per_frame([np.max(a, axis=0)], [np.max(b, axis=0)])[0]


def weighted_spatial(a: list[np.ndarray], b: list[np.ndarray]) -> float:
    wa = np.sum(a, axis=0, dtype=np.uint16) / len(a)
    wb = np.sum(b, axis=0, dtype=np.uint16) / len(b)
    union = np.maximum(wa, wb)
    return 1.0 if union.sum() == 0 else np.minimum(wa, wb).sum() / union.sum()


def mse_per_frame(a: list[np.ndarray], b: list[np.ndarray]) -> list[float]:
    return [float(np.mean((x.astype(np.float32) - y.astype(np.float32)) ** 2)) for x, y in zip(a, b)]


def convert_fps(path: Path, fps_new: float) -> list[np.ndarray]:
    """A real take's first five seconds at ``fps_new``, linearly interpolated between
    neighbouring frames in float32 and truncated to uint8 (the official fps changer,
    without its H.264 encoding)."""
    capture = cv2.VideoCapture(str(path))
    fps_old, declared = capture.get(cv2.CAP_PROP_FPS), int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    capture.release()
    seconds = min(5, declared / fps_old)
    frames = read_frames(path, int(seconds * fps_old))
    wanted = int(seconds * fps_new)
    out = []
    for j in range(wanted):
        x = j * (len(frames) - 1) / (wanted - 1)
        k = int(x)
        weight = x - k
        left = frames[k].astype(np.float32)
        right = frames[min(k + 1, len(frames) - 1)].astype(np.float32)
        out.append(((1 - weight) * left + weight * right).astype(np.uint8))
    return out


def _floats(cell) -> list[float]:
    return [round(float(x), 4) for x in re.findall(r"[-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?", cell)]


def iq_score(csv_path: Path) -> tuple[float, float]:
    """(Physics-IQ score in percent, physical variance) of a per-scenario CSV, step by
    step as the official score computes them (per-frame values rounded to 4 decimals,
    the variance terms to 4, 5, 4 and 4)."""
    table = pd.read_csv(csv_path)
    lists = lambda key: {view: [_floats(c) for c in table[f"{key}_{view}"]] for view in VIEWS}  # noqa: E731
    scalars = lambda key: {view: list(table[f"{key}_{view}"]) for view in VIEWS}  # noqa: E731

    def per_row(by_view: dict) -> float:  # per scenario over its three views' frames, then over scenarios
        rows = len(table)
        return float(np.mean([np.mean(np.concatenate([by_view[v][r] for v in VIEWS])) for r in range(rows)]))

    def per_view_frames(by_view: dict) -> float:
        means = []
        for v in VIEWS:
            values = [x for row in by_view[v] for x in row]
            means.append(sum(values) / len(values))
        return float(np.mean(means))

    def per_view_scalars(by_view: dict) -> float:
        return float(np.mean([np.mean(by_view[v]) for v in VIEWS]))

    mse, st = per_row(lists("v1_mse")), per_row(lists("spatiotemporal_iou_v1"))
    sp, wsp = per_view_scalars(scalars("spatial_iou_v1")), per_view_scalars(scalars("weighted_spatial_iou_v1"))
    var_mse = round(np.float64(per_view_frames(lists("variance_mse"))), 4)
    var_st = round(np.float64(per_view_frames(lists("variance_spatiotemporal_iou"))), 4)
    var_sp = round(np.float64(per_view_scalars(scalars("variance_spatial"))), 5)
    var_wsp = round(np.float64(per_view_scalars(scalars("variance_weighted_spatial"))), 4)
    variance = round(var_st + var_sp + var_wsp - var_mse, 4)
    score = 100 * ((st / var_st + sp / var_sp + wsp / var_wsp) / 3 - (mse - var_mse))
    return float(round(max(min(score, 100.0), 0.0), 2)), float(variance)


def _load(path: Path, stop: int, size: tuple[int, int] | None = None, normalize: bool = True) -> list[np.ndarray]:
    """Frames ``0 .. stop - 1``, decoding the whole video as the official loader does."""
    capture = cv2.VideoCapture(str(path))
    frames = []
    index = 0
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        if index < stop:
            frame = cv2.resize(frame, size) if size else frame
            frames.append(frame / 255.0 if normalize else frame)
        index += 1
    capture.release()
    return frames


def write_mask_video(video: Path, out: Path) -> None:
    """The mask video of a whole video, at its rounded frame rate."""
    fps = round(cv2.VideoCapture(str(video)).get(cv2.CAP_PROP_FPS))
    write_video(out, masks_per_frame(read_frames(video, 10**9)), fps, is_color=False)


def score_directory(generated: Path, real: Path, masks: Path | None, work: Path) -> dict:
    """The official procedure end to end on a submission in the benchmark's layout (the
    generated videos already named ``ID_VIEW_SCENARIO``): mask videos of the real takes
    (unless ``masks`` has them) and of the generated videos, the per-view metrics of
    every scenario, the per-scenario CSV and its score."""
    takes = sorted(real.glob("*_testing-videos_*.mp4"))
    fps = cv2.VideoCapture(str(next(generated.glob("*.mp4")))).get(cv2.CAP_PROP_FPS)
    if masks is None:
        masks = work / "real-masks"
        masks.mkdir()
        for take in takes:
            write_mask_video(take, masks / take.name.replace("testing-videos", "video-masks"))
    generated_masks = work / "generated-masks"
    generated_masks.mkdir()
    for video in sorted(generated.glob("*.mp4")):
        write_mask_video(video, generated_masks / video.name)
    ids: dict[str, dict[tuple[str, str], str]] = {}
    for take in takes:
        parts = take.name.split("_")
        ids.setdefault(parts[5], {})[parts[3], parts[4]] = parts[0]
    stop = fps * 5
    rows = []
    for scenario, by_view in ids.items():
        row: dict = {"scenario": scenario}
        for view in VIEWS:
            first, second = by_view[view, "take-1"], by_view[view, "take-2"]
            name = lambda i, k: f"{i}_testing-videos_{int(fps)}FPS_{view}_take-{k}_{scenario}"  # noqa: E731
            sample = _load(real / name(first, 1), 1, normalize=False)[0]
            size = (sample.shape[1] // 4, sample.shape[0] // 4)
            v1, v2 = _load(real / name(first, 1), stop, size), _load(real / name(second, 2), stop, size)
            gen = _load(generated / f"{first}_{view}_{scenario}", stop, size)
            m1, m2 = ([f > 127 for f in _load(masks / name(i, k).replace("testing-videos", "video-masks"), stop, size,
                                             normalize=False)] for i, k in ((first, 1), (second, 2)))
            mg = [f > 127 for f in _load(generated_masks / f"{first}_{view}_{scenario}", stop, size, normalize=False)]
            row.update({
                f"v1_mse_{view}": mse_per_frame(v1, gen), f"v2_mse_{view}": mse_per_frame(v2, gen),
                f"variance_spatial_{view}": spatial(m1, m2), f"variance_weighted_spatial_{view}": weighted_spatial(m1, m2),
                f"variance_spatiotemporal_iou_{view}": iou_per_frame(m1, m2),
                f"variance_mse_{view}": mse_per_frame(v1, v2),
                f"spatiotemporal_iou_v1_{view}": iou_per_frame(m1, mg),
                f"spatiotemporal_iou_v2_{view}": iou_per_frame(m2, mg),
                f"spatial_iou_v1_{view}": spatial(m1, mg), f"spatial_iou_v2_{view}": spatial(m2, mg),
                f"weighted_spatial_iou_v1_{view}": weighted_spatial(m1, mg),
                f"weighted_spatial_iou_v2_{view}": weighted_spatial(m2, mg),
            })
        rows.append({k: ([float(x) for x in v] if isinstance(v, list) else v) for k, v in row.items()})
    csv = work / "scores.csv"
    pd.DataFrame(rows).to_csv(csv, index=False)
    score, variance = iq_score(csv)
    return {"physics_iq_score": score, "physical_variance": variance}


if __name__ == "__main__":  # python -m tests.physics_iq_reference GENERATED REAL [MASKS]
    import json
    import sys

    with tempfile.TemporaryDirectory() as tmp:
        given = Path(sys.argv[3]) if len(sys.argv) > 3 else None
        print(json.dumps(score_directory(Path(sys.argv[1]), Path(sys.argv[2]), given, Path(tmp))))
