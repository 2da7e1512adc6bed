"""The on-disk episode cache: lossless, keyed by task, version, resolution, fps and seed.

Entries are written atomically (temporary file, then rename) and verified against
their content hash on every read; a corrupt or truncated entry is regenerated with a
warning, never returned.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path

from wmbench.errors import CacheError
from wmbench.tasks.schema import Task
from wmbench.worlds.episode import Episode
from wmbench.worlds.generate import generate_episode

CACHE_ENV = "WMBENCH_CACHE"


def default_cache_dir() -> Path:
    """``$WMBENCH_CACHE``, else ``$XDG_CACHE_HOME/wmbench``, else ``~/.cache/wmbench``."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "wmbench"


class EpisodeCache:
    """Episodes on disk under ``root``; ``None`` as root disables caching."""

    def __init__(self, root: Path | str | None):
        self.root = Path(root) if root is not None else None

    def path(self, task: Task, seed: int) -> Path:
        assert self.root is not None
        fps = f"{task.fps:g}".replace(".", "p")
        return self.root / f"{task.name}@{task.version}" / f"{task.resolution}px-{fps}fps" / f"{seed}.npz"

    def get(self, task: Task, split: str, seed: int) -> Episode:
        """The cached episode, generating (and storing) it when absent or corrupt."""
        if self.root is None:
            return generate_episode(task, split, seed)
        path = self.path(task, seed)
        if path.exists():
            try:
                episode = Episode.load(path)
                if episode.split == split:
                    return episode
            except Exception as exc:  # any damage: truncated zip, bad header, hash mismatch
                warnings.warn(f"cache entry {path} is corrupt ({type(exc).__name__}: {exc}); regenerating",
                              stacklevel=2)
        episode = generate_episode(task, split, seed)
        self._write(path, episode.to_bytes())
        return episode

    def _write(self, path: Path, data: bytes) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, path)
        except OSError as exc:
            raise CacheError(f"cache directory {self.root} is not writable: {exc.strerror or exc}") from exc
