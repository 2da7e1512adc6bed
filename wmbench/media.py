"""Frames on disk: numbered PNG files and video files, read and written with OpenCV.

Frames are ``uint8 (T, H, W, 3)`` RGB arrays, as in :class:`~wmbench.worlds.Episode`.
PNG frames are lossless. Exported videos use FFV1 in Matroska (``.mkv``), which is
lossless too: decoding gives back the exact bytes. Any video OpenCV decodes is read,
all at once (:func:`read_video`) or a few frames at a time (:func:`video_chunks`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from wmbench.errors import OutputError, UnreadableMedia

#: Frame ``i`` of a directory of frames is ``FRAME_NAME.format(i)``: ``0000.png``, ``0001.png``, ...
FRAME_NAME = "{:04d}.png"
#: The video written by :func:`write_video`: FFV1 in Matroska, lossless.
VIDEO_SUFFIX, VIDEO_CODEC = ".mkv", "FFV1"
#: Video files accepted as predictions (any codec OpenCV's FFmpeg decodes).
VIDEO_SUFFIXES = (".mkv", ".avi", ".mp4", ".mov", ".webm")

#: Frames decoded at a time by :func:`video_chunks`.
CHUNK_FRAMES = 16
_FFMPEG_LOGLEVEL = "OPENCV_FFMPEG_LOGLEVEL"


@contextmanager
def _quiet_ffmpeg() -> Iterator[None]:
    """FFmpeg's own messages about a damaged file would repeat, unasked, what the error
    names: silence them while decoding (OpenCV reads the level when it first loads
    FFmpeg), unless the user set a level."""
    if _FFMPEG_LOGLEVEL in os.environ:
        yield
        return
    os.environ[_FFMPEG_LOGLEVEL] = "-8"
    try:
        yield
    finally:
        os.environ.pop(_FFMPEG_LOGLEVEL, None)


def frame_number(path: Path) -> int | None:
    """The number of a file named like :data:`FRAME_NAME` (``0007.png``: 7), else ``None``."""
    stem = path.name.removesuffix(".png")
    if stem == path.name or not stem.isdigit() or FRAME_NAME.format(int(stem)) != path.name:
        return None
    return int(stem)


def write_frames(directory: Path, frames: np.ndarray) -> list[Path]:
    """Write ``uint8 (T, H, W, 3)`` RGB frames as ``directory/0000.png``, ...; returns the paths."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = [directory / FRAME_NAME.format(i) for i in range(len(frames))]
    for path, frame in zip(paths, frames):
        if not cv2.imwrite(str(path), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)):
            raise OutputError(f"cannot write {path}")
    return paths


def write_video(path: Path, frames: np.ndarray, fps: float, codec: str = VIDEO_CODEC) -> Path:
    """Write ``uint8 (T, H, W, 3)`` RGB frames as a video at ``fps`` (default: lossless FFV1)."""
    height, width = frames.shape[1:3]
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*codec), float(fps), (width, height))
    if not writer.isOpened():
        raise OutputError(f"cannot write {path}: OpenCV has no {codec} encoder here")
    try:
        for frame in frames:
            writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    finally:
        writer.release()
    return path


def read_image(path: Path) -> np.ndarray:
    """One 8-bit image as ``uint8 (H, W, 3)`` RGB (greyscale is expanded, alpha dropped)."""
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise UnreadableMedia("cannot be decoded as an image")
    if image.dtype != np.uint8:
        raise UnreadableMedia(f"has {image.dtype} pixels, expected 8-bit")
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    code = {3: cv2.COLOR_BGR2RGB, 4: cv2.COLOR_BGRA2RGB}.get(image.shape[2])
    if code is None:
        raise UnreadableMedia(f"has {image.shape[2]} channels, expected 3 (RGB)")
    return cv2.cvtColor(image, code)


def read_frames(paths: list[Path]) -> np.ndarray:
    """Images in the given order as ``uint8 (T, H, W, 3)`` RGB; they must share one size."""
    frames = [read_image(p) for p in paths]
    sizes = {f.shape for f in frames}
    if len(sizes) > 1:
        raise UnreadableMedia(f"frames differ in size: {', '.join(f'{s[1]}x{s[0]}' for s in sorted(sizes))}")
    return np.stack(frames)


def open_video(path: Path, threads: int | None = None) -> cv2.VideoCapture:
    """An open ``cv2.VideoCapture`` of ``path`` (FFmpeg's own messages silenced), decoding
    with ``threads`` threads (default: FFmpeg's choice); :class:`UnreadableMedia` if it
    cannot be opened."""
    options = [] if threads is None else [cv2.CAP_PROP_N_THREADS, threads]
    with _quiet_ffmpeg():
        capture = cv2.VideoCapture(str(path), cv2.CAP_ANY, options)
    if not capture.isOpened():
        capture.release()
        raise UnreadableMedia("cannot be opened as a video")
    return capture


def video_chunks(
    path: Path, stop: int | None = None, rgb: bool = True, size: int = CHUNK_FRAMES
) -> Iterator[np.ndarray]:
    """The first ``stop`` frames (default: all) of a video, ``uint8 (n, H, W, 3)`` RGB
    (BGR, as OpenCV decodes them, with ``rgb=False``), ``size`` frames at a time."""
    capture = open_video(path)
    try:
        read = 0
        while stop is None or read < stop:
            frames: list[np.ndarray] = []
            while len(frames) < size and (stop is None or read < stop):
                ok, frame = capture.read()
                if not ok:
                    break
                frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB) if rgb else frame)
                read += 1
            if not frames:
                return
            yield np.stack(frames)
            if len(frames) < size:
                return
    finally:
        capture.release()


def pyplot() -> Any:
    """matplotlib's pyplot on its file-only backend (Agg)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    return plt


def save_figure(figure: Any, out: Path, **options: Any) -> Path:
    """Write a matplotlib figure (format from the suffix; ``options`` for ``savefig``,
    e.g. ``dpi``) and close it: the same bytes for the same figure (no date, a fixed
    SVG id salt)."""
    import matplotlib

    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with matplotlib.rc_context({"svg.hashsalt": "wmbench"}):
            figure.savefig(out, metadata={"Date": None}, **options)
    except OSError as exc:
        raise OutputError(f"cannot write {out}: {exc.strerror or exc}") from exc
    finally:
        pyplot().close(figure)
    return out


def read_video(path: Path) -> np.ndarray:
    """Every frame of a video as ``uint8 (T, H, W, 3)`` RGB."""
    chunks = list(video_chunks(path))
    if not chunks:
        raise UnreadableMedia("holds no decodable frame")
    return np.concatenate(chunks)
