"""Reading a Physics-IQ view's videos as the official scripts do: frames at the working
size, motion masks computed on the full-size frames (and passed through an mp4v mask
video), and precomputed mask videos. Decoding goes through :mod:`wmbench.media`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from wmbench.errors import PhysicsIQError, UnreadableMedia
from wmbench.media import video_chunks
from wmbench.metrics.motion import motion_masks, shrink_masks


def _chunks(path: Path, stop: int) -> Iterator[np.ndarray]:
    """The first ``stop`` decoded BGR frames, ``uint8 (n, H, W, 3)`` a few at a time;
    a video that ends early gives every frame it has."""
    try:
        yield from video_chunks(path, stop, rgb=False)
    except UnreadableMedia as exc:
        raise PhysicsIQError(f"{path}: {exc}") from None


def _capture(path: Path) -> cv2.VideoCapture:
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise PhysicsIQError(f"{path}: cannot be read as a video")
    return capture


def video_fps(path: Path) -> float:
    """The frame rate a video's container declares."""
    capture = _capture(path)
    try:
        return float(capture.get(cv2.CAP_PROP_FPS))
    finally:
        capture.release()


def frame_size(path: Path) -> tuple[int, int]:
    """A video's ``(height, width)`` from its first frame."""
    for chunk in _chunks(path, 1):
        return chunk.shape[1], chunk.shape[2]
    raise PhysicsIQError(f"{path}: has no frames")


class _MaskVideo:
    """Masks written as the official scripts write them: a grey mp4v video at the
    source's rounded frame rate and even size, read back as 3-channel frames."""

    def __init__(self, source: Path, folder: Path, height: int, width: int):
        if height % 2 or width % 2:
            raise PhysicsIQError(
                f"{source}: {width}x{height}: mask videos need an even width and height (or pass --no-mask-video)"
            )
        self.path = folder / f"{source.stem}-masks.mp4"
        fourcc = cv2.VideoWriter_fourcc(*"mp4v")
        self.writer = cv2.VideoWriter(str(self.path), fourcc, round(video_fps(source)), (width, height), isColor=False)
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
class Scan:
    """One video read for scoring."""

    frames: torch.Tensor  # uint8 (T, h, w, 3) BGR at the working size
    masks: torch.Tensor | None  # bool (T, h, w) at the working size

    @property
    def motion(self) -> torch.Tensor:
        """The motion masks of a video scanned with ``masks=True``."""
        if self.masks is None:
            raise ValueError("the video was scanned without its motion masks")
        return self.masks


def scan_video(
    path: Path, stop: int, size: tuple[int, int], device: torch.device, masks: bool, mask_video: bool, workdir: Path
) -> Scan:
    """One decoding pass: frames at the working ``size`` (h, w) and, if asked, motion masks."""
    small: list[np.ndarray] = []
    parts: list[torch.Tensor] = []
    background: torch.Tensor | None = None
    writer: _MaskVideo | None = None
    for chunk in _chunks(path, stop):
        small.append(np.stack([cv2.resize(f, size[::-1]) for f in chunk]))
        if not masks:
            continue
        rgb = cv2.cvtColor(chunk.reshape(-1, *chunk.shape[2:]), cv2.COLOR_BGR2RGB).reshape(chunk.shape)
        frames = torch.from_numpy(rgb).to(device).permute(0, 3, 1, 2)
        chunk_masks, background = motion_masks(frames[None], background)
        if mask_video:
            writer = writer or _MaskVideo(path, workdir, *chunk.shape[1:3])
            writer.write(chunk_masks[0])
        else:
            parts.append(shrink_masks(chunk_masks[0], size))
    if not small:
        raise PhysicsIQError(f"{path}: has no frames")
    scanned = torch.from_numpy(np.concatenate(small)).to(device)
    if not masks:
        return Scan(scanned, None)
    found = read_mask_video(writer.close(), stop, size, device) if writer is not None else torch.cat(parts)
    return Scan(scanned, found)
