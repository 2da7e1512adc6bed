"""Cache directories: where they are, atomic writes into them, and the warning for an
unusable entry. Light to import (no generation, no torch)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from wmbench.errors import CacheError

CACHE_ENV = "WMBENCH_CACHE"


class CacheWarning(UserWarning):
    """A cache entry was unusable (corrupt, truncated, another episode) and is regenerated."""


def default_cache_dir() -> Path:
    """``$WMBENCH_CACHE``, else ``$XDG_CACHE_HOME/wmbench``, else ``~/.cache/wmbench``."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "wmbench"


def unwritable(root: Path, exc: OSError) -> CacheError:
    """The error for a cache directory ``root`` that cannot be written."""
    return CacheError(
        f"cache directory {root} is not writable ({exc.strerror or exc}); choose another with --cache or $WMBENCH_CACHE"
    )


def write_atomically(path: Path, data: bytes, root: Path) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same directory and a
    rename: readers, in any process, see the old file or the new one, never part of one.
    Raises :class:`CacheError` naming the cache directory ``root`` if it cannot."""
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except OSError as exc:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
        raise unwritable(root, exc) from exc
