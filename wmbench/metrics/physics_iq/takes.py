"""The real takes' side of a view, read once and kept across runs.

What a view's score needs from its two real takes, their frames at the working size
and their motion masks (computed, or read from the given mask videos), does not depend
on the generated video, yet reading it is most of a view's work: two of the three
videos, and two of the three mask videos. Every submission scored against the same real
takes needs the same arrays, so :class:`TakesCache` keeps them, one compressed NumPy
file per view::

    <root>/physics-iq/<key>.npz   key; frames1, frames2: uint8 (T, h, w, 3) BGR;
                                  masks1, masks2: bool (T, h, w)

The key is a SHA-256 over the takes' bytes (and the given mask videos'), the frame rate,
the number of frames scored, whether masks pass through a mask video, the device that
computes them, wmbench's version, the source of the code that reads videos and computes
masks, and OpenCV's and NumPy's versions: any of these changes the arrays. A corrupt or
mismatched entry is read again from the videos and overwritten, with a
:class:`~wmbench.cache_files.CacheWarning`; a directory that cannot be written raises
:class:`~wmbench.errors.CacheError`.
"""

from __future__ import annotations

import hashlib
import io
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from wmbench._version import __version__
from wmbench.cache_files import CacheWarning, write_atomically
from wmbench.metrics.physics_iq.files import ViewFiles

CACHE_DIR = "physics-iq"
#: The code that turns the takes into the kept arrays (read, not imported: the torch
#: path's module imports torch).
SOURCES = tuple(Path(__file__).parents[1] / name for name in ("physics_iq/video.py", "motion_opencv.py", "motion.py"))


@dataclass
class RealSide:
    """The two real takes of a view: frames ``uint8 (T, h, w, 3)`` BGR at the working
    size and motion masks ``bool (T, h, w)``."""

    frames: tuple[np.ndarray, np.ndarray]
    masks: tuple[np.ndarray, np.ndarray]


def _file_digest(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


class TakesCache:
    """Real sides of views under ``root`` (see the module docstring)."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def key(self, files: ViewFiles, fps: float, stop: int, mask_video: bool, device: str) -> str:
        """What the view's real side depends on, as a SHA-256 hex digest."""
        digest = hashlib.sha256()
        named = [*zip(("take1", "take2"), files.takes), *zip(("masks1", "masks2"), files.masks)]
        inputs = [f"{name} {'computed' if path is None else _file_digest(path)}" for name, path in named]
        settings = [
            f"wmbench {__version__}",
            f"opencv {cv2.__version__}",
            f"numpy {np.__version__}",
            f"fps {fps!r} takes_fps {files.takes_fps} frames {stop} mask_video {mask_video} device {device}",
        ]
        digest.update("\n".join(inputs + settings).encode())
        for path in SOURCES:
            digest.update(path.read_bytes())
        return digest.hexdigest()

    def path(self, key: str) -> Path:
        return self.root / CACHE_DIR / f"{key}.npz"

    def get(self, key: str) -> RealSide | None:
        """The kept real side, or ``None`` when there is none or it is unusable (warned)."""
        path = self.path(key)
        if not path.exists():
            return None
        problem: str | None
        try:
            with np.load(path, allow_pickle=False) as entry:
                arrays = {name: entry[name] for name in ("key", "frames1", "frames2", "masks1", "masks2")}
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as exc:
            problem = f"cannot be read ({type(exc).__name__}: {exc})"
        else:
            problem = _problem(arrays, key)
            if problem is None:
                return RealSide((arrays["frames1"], arrays["frames2"]), (arrays["masks1"], arrays["masks2"]))
        warnings.warn(f"physics-iq cache entry {path} {problem}; reading the takes again", CacheWarning, stacklevel=2)
        return None

    def put(self, key: str, side: RealSide) -> None:
        buffer = io.BytesIO()
        np.savez_compressed(
            buffer,
            key=np.array(key),
            frames1=side.frames[0],
            frames2=side.frames[1],
            masks1=side.masks[0],
            masks2=side.masks[1],
        )
        write_atomically(self.path(key), buffer.getvalue(), self.root)


def _problem(arrays: dict[str, np.ndarray], key: str) -> str | None:
    """Why the arrays read from an entry are not a real side for ``key``, or ``None``."""
    if str(arrays["key"]) != key:
        return "belongs to other takes"
    frames, masks = (arrays["frames1"], arrays["frames2"]), (arrays["masks1"], arrays["masks2"])
    if (
        any(f.dtype != np.uint8 or f.ndim != 4 or f.shape[-1] != 3 for f in frames)
        or any(m.dtype != np.bool_ or m.shape != frames[0].shape[:3] for m in masks)
        or frames[0].shape != frames[1].shape
    ):
        return "holds arrays of the wrong type or shape"
    return None
