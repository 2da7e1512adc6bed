"""The on-disk episode cache: lossless, keyed by the task's full definition and the seed.

Layout: ``<root>/<task>@<version>/<definition>/<res>px-<fps>fps/<seed>.episode.zst`` (see
:meth:`Episode.to_bytes`), where ``<definition>`` is the first 16 hex digits of the
task's definition hash as written in its file, so an edited task file never reads the
episodes of its earlier definition. Two definitions under one ``name@version`` are
refused: a changed task needs a new version. Every read and write first checks the
task (:func:`~wmbench.worlds.scenes.check_task`), cache hit or not. Entries are written atomically (a temporary file in the
same directory, then a rename), so concurrent writers of one entry never leave a
partial file. Every read checks the entry's content hash and that it holds the
episode asked for (task, version, split, seed, fps, resolution); a corrupt, truncated
or misplaced entry is regenerated with a :class:`CacheWarning`, never returned. An
entry of the former format (``<seed>.npz``, a compressed ``.npz``) is read, verified
alike, and rewritten in the current format in its place.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import warnings
from pathlib import Path
from typing import Protocol

from wmbench.cache_files import CacheWarning, unwritable, write_atomically
from wmbench.errors import CacheError, TaskFileError
from wmbench.tasks.schema import Task
from wmbench.worlds.episode import Episode
from wmbench.worlds.generate import generate_episode
from wmbench.worlds.scenes import check_task

DEFINITION_DIGITS = 16
_DEFINITION_DIR = re.compile(rf"^[0-9a-f]{{{DEFINITION_DIGITS}}}$")
SUFFIX, FORMER_SUFFIX = ".episode.zst", ".npz"


class EpisodeSource(Protocol):
    """Where a run reads episodes: the cache (which generates what it lacks) or a release."""

    def get(self, task: Task, split: str, seed: int) -> Episode: ...


def _identity_problem(episode: Episode, task: Task, split: str, seed: int) -> str | None:
    """Why ``episode`` is not the episode ``task``/``split``/``seed`` asks for, or ``None``."""
    wanted = {"task": task.name, "version": task.version, "split": split, "seed": seed, "fps": task.fps,
              "resolution": (task.resolution, task.resolution)}
    found = {"task": episode.task, "version": episode.version, "split": episode.split, "seed": episode.seed,
             "fps": episode.fps, "resolution": tuple(episode.resolution)}
    wrong = [f"{k} {found[k]} (expected {wanted[k]})" for k in wanted if found[k] != wanted[k]]
    return f"holds another episode: {', '.join(wrong)}" if wrong else None


class EpisodeCache:
    """Episodes on disk under ``root``; ``None`` as root disables caching."""

    def __init__(self, root: Path | str | None):
        self.root = Path(root) if root is not None else None

    def path(self, task: Task, seed: int) -> Path:
        """Where the episode of ``task`` (at its resolution and fps) with ``seed`` is stored."""
        if self.root is None:
            raise CacheError("caching is disabled: no cache directory")
        fps = f"{task.fps:g}".replace(".", "p")
        return self._definition_dir(task) / f"{task.resolution}px-{fps}fps" / f"{seed}{SUFFIX}"

    def _definition_dir(self, task: Task) -> Path:
        assert self.root is not None
        return self.root / task.id / task.definition_hash(as_written=True)[:DEFINITION_DIGITS]

    def check_definition(self, task: Task) -> None:
        """Raise :class:`TaskFileError` if the cache holds episodes of another definition
        of ``task.id``: the task was edited without a new version."""
        mine = self._definition_dir(task)
        if not mine.parent.is_dir():
            return
        others = sorted(p.name for p in mine.parent.iterdir()
                        if p.name != mine.name and p.is_dir() and _DEFINITION_DIR.match(p.name))
        if others:
            raise TaskFileError(
                task.source, "version",
                f"the cache holds episodes of another definition of {task.id} ({mine.parent / others[0]}): "
                "a changed task needs a new version; bump 'version' and add a changelog line "
                "(or delete that directory if its episodes were never used)")

    def check_writable(self) -> None:
        """Raise :class:`CacheError` naming the directory unless entries can be written there."""
        if self.root is None:
            return
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            fd, probe = tempfile.mkstemp(dir=self.root, suffix=".probe")
            os.close(fd)
            os.unlink(probe)
        except OSError as exc:
            raise unwritable(self.root, exc) from exc

    def get(self, task: Task, split: str, seed: int) -> Episode:
        """The cached episode, generating (and storing) it when absent or unusable."""
        if self.root is None:
            return generate_episode(task, split, seed)
        check_task(task)
        self.check_definition(task)
        path = self.path(task, seed)
        former = path.with_name(f"{seed}{FORMER_SUFFIX}")
        if path.exists():
            episode = self._read(path, task, split, seed)
            if episode is not None:
                return episode
        elif former.exists():  # the former format: read (and verified), rewritten in the current one
            episode = self._read(former, task, split, seed)
            if episode is not None:
                self._write(path, episode.to_bytes())
                _remove(former)
                return episode
        episode = generate_episode(task, split, seed)
        self._write(path, episode.to_bytes())
        _remove(former)
        return episode

    def _read(self, path: Path, task: Task, split: str, seed: int) -> Episode | None:
        try:
            episode = Episode.load(path)
            problem = _identity_problem(episode, task, split, seed)
        except Exception as exc:  # any damage: empty, truncated, not a zip, bad header, hash mismatch
            problem = f"is corrupt ({type(exc).__name__}: {exc})"
        if problem is None:
            return episode
        warnings.warn(f"cache entry {path} {problem}; regenerating", CacheWarning, stacklevel=3)
        return None

    def _write(self, path: Path, data: bytes) -> None:
        write_atomically(path, data, self.root)


def _remove(path: Path) -> None:
    """Delete a superseded entry if it is there (another process may have deleted it)."""
    with contextlib.suppress(OSError):
        path.unlink()
