"""Reading a Physics-IQ view's videos as the official scripts do, with OpenCV and NumPy
(torch only for masks computed on another device): frames at the working size,
motion masks computed on the full-size frames and passed through an mp4v mask video,
precomputed mask videos, and real takes converted to the submission's frame rate.

Every video is decoded once, on one FFmpeg thread (views run in parallel instead)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from wmbench.errors import PhysicsIQError, UnreadableMedia
from wmbench.media import open_video
from wmbench.metrics.motion_opencv import MotionMasks

SECONDS_SCORED = 5  # the official scripts score (and convert) the first five seconds
DEVICE_CHUNK = 16  # frames sent to another device at a time for their masks


def _open(path: Path) -> cv2.VideoCapture:
    try:
        return open_video(path, threads=1)
    except UnreadableMedia:
        raise PhysicsIQError(f"{path}: cannot be read as a video") from None


def decoded(path: Path, stop: int | None = None) -> Iterator[np.ndarray]:
    """The first ``stop`` (default: all) decoded ``uint8 (H, W, 3)`` BGR frames; a video
    that ends early gives every frame it has."""
    capture = _open(path)
    try:
        read = 0
        while stop is None or read < stop:
            ok, frame = capture.read()
            if not ok:
                return
            yield frame
            read += 1
    finally:
        capture.release()


def video_fps(path: Path) -> float:
    """The frame rate a video's container declares."""
    capture = _open(path)
    try:
        return float(capture.get(cv2.CAP_PROP_FPS))
    finally:
        capture.release()


def frame_size(path: Path) -> tuple[int, int]:
    """A video's ``(height, width)`` from its first frame."""
    for frame in decoded(path, 1):
        return frame.shape[0], frame.shape[1]
    raise PhysicsIQError(f"{path}: has no frames")


def converted_frames(path: Path, fps: float) -> list[np.ndarray]:
    """The first five seconds of a video at ``fps``, as the official ``change_video_fps``
    converts the real takes: with ``n`` frames read (the declared duration, at most five
    seconds) and ``m = int(duration * fps)``, frame ``j`` is ``(1 - a) f_i + a f_{i+1}``
    in float32, truncated to ``uint8``, where ``i + a = j (n - 1) / (m - 1)``.

    (The official scripts then encode the result as H.264 and read it back; here the
    frames are used as they are.)"""
    capture = _open(path)
    try:
        source_fps = capture.get(cv2.CAP_PROP_FPS)
        declared = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    finally:
        capture.release()
    if not source_fps > 0:
        raise PhysicsIQError(f"{path}: declares no frame rate, cannot convert it to {fps:g} FPS")
    duration = min(SECONDS_SCORED, declared / source_fps)
    frames = list(decoded(path, int(duration * source_fps)))
    count = int(duration * fps)
    if len(frames) < 2 or count < 2:
        raise PhysicsIQError(f"{path}: too few frames ({len(frames)}) to convert to {fps:g} FPS")
    out = []
    for j in range(count):
        position = j * (len(frames) - 1) / (count - 1)
        i = int(position)
        a = position - i
        after = frames[min(i + 1, len(frames) - 1)]
        mixed = np.float32(1 - a) * frames[i].astype(np.float32) + np.float32(a) * after.astype(np.float32)
        out.append(mixed.astype(np.uint8))
    return out


class MaskVideo:
    """Masks written as the official scripts write them: a grey mp4v video at the given
    (rounded) frame rate, then read back by :func:`read_masks`."""

    def __init__(self, path: Path, fps: float, height: int, width: int):
        if height % 2 or width % 2:
            raise PhysicsIQError(
                f"{path.name}: {width}x{height}: mask videos need an even width and height (or pass --no-mask-video)"
            )
        self.path = path
        fourcc = cv2.VideoWriter_fourcc(*"mp4v")
        self.writer = cv2.VideoWriter(str(path), fourcc, round(fps), (width, height), isColor=False)
        if not self.writer.isOpened():
            raise PhysicsIQError(f"{path}: OpenCV cannot write mp4v videos here (or pass --no-mask-video)")

    def write(self, mask: np.ndarray) -> None:
        self.writer.write(mask)

    def close(self) -> Path:
        self.writer.release()
        return self.path


def shrink_mask(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A 0/255 ``uint8 (H, W)`` mask to ``bool`` at ``size`` (h, w): OpenCV's bilinear
    resize, kept above 127."""
    return cv2.resize(mask, size[::-1]) > 127


def read_masks(path: Path, stop: int, size: tuple[int, int]) -> np.ndarray:
    """Masks ``bool (T, h, w)`` from a mask video: resized to ``size`` (h, w), kept above
    127. The official scripts keep all three channels of the decoded frames; a grey
    video decodes to three equal channels, so the first one is read."""
    masks = [shrink_mask(cv2.extractChannel(frame, 0), size) for frame in decoded(path, stop)]
    if not masks:
        raise PhysicsIQError(f"{path}: has no frames")
    return np.stack(masks)


def _device_masks(frames: Iterable[np.ndarray], device: str) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """``(frame, 0/255 mask)`` with the masks computed by torch on ``device``, a few
    frames at a time (the same masks as on the CPU, bit for bit)."""
    import torch

    from wmbench.metrics.motion import motion_masks

    background = None
    iterator = iter(frames)
    while True:
        chunk = [frame for _, frame in zip(range(DEVICE_CHUNK), iterator)]
        if not chunk:
            return
        rgb = torch.from_numpy(np.stack(chunk)[..., ::-1].copy()).to(device).permute(0, 3, 1, 2)
        masks, background = motion_masks(rgb[None], background)
        yield from zip(chunk, (masks[0].to(torch.uint8) * 255).cpu().numpy())


def _with_masks(frames: Iterable[np.ndarray], device: str) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    if device != "cpu":
        yield from _device_masks(frames, device)
        return
    stream = MotionMasks()
    for frame in frames:
        yield frame, stream.push(frame)


@dataclass
class Scan:
    """One video read for scoring."""

    frames: np.ndarray  # uint8 (T, h, w, 3) BGR at the working size
    masks: np.ndarray | None  # bool (T, h, w) at the working size, if asked for


def scan_video(
    frames: Iterable[np.ndarray],
    size: tuple[int, int],
    name: str,
    masks: bool = False,
    device: str = "cpu",
    mask_video: Path | None = None,
    fps: float = 30.0,
) -> Scan:
    """One pass over a video's full-size BGR ``frames``: the frames at the working
    ``size`` (h, w) and, with ``masks``, their motion masks, passed through an mp4v
    video at ``mask_video`` (at ``fps``) when given, as the official scripts do."""
    small: list[np.ndarray] = []
    kept: list[np.ndarray] = []
    writer: MaskVideo | None = None
    pairs = _with_masks(frames, device) if masks else ((f, None) for f in frames)
    for frame, mask in pairs:
        small.append(cv2.resize(frame, size[::-1]))
        if mask is None:
            continue
        if mask_video is None:
            kept.append(shrink_mask(mask, size))
            continue
        writer = writer or MaskVideo(mask_video, fps, *mask.shape)
        writer.write(mask)
    if not small:
        raise PhysicsIQError(f"{name}: has no frames")
    if not masks:
        return Scan(np.stack(small), None)
    found = read_masks(writer.close(), len(small), size) if writer is not None else np.stack(kept)
    return Scan(np.stack(small), found)


def frames_scored(fps: float) -> int:
    """The official ``fps * 5`` first frames: frame ``i`` is scored while ``i < fps * 5``."""
    return math.ceil(fps * SECONDS_SCORED)
