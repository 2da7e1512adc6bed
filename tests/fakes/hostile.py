"""An adapter that searches its whole process for what it must not see.

It is told only digests of what it hunts (SHA-256 of the seeds' decimal text, of the
secret and of each true future frame's bytes, as float32 ``(3, H, W)`` and as uint8
``(H, W, 3)``), so the hunt itself carries nothing to find. On its first ``predict`` it
searches the objects of the garbage collector, its call stack's frames, ``sys.argv``,
``os.environ``, the episode cache (wherever the run's arguments, environment or objects
say it is) and its working directory; :meth:`describe` reports what it found.
"""

from __future__ import annotations

import gc
import hashlib
import inspect
import os
import re
import sys
import warnings
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import torch

from wmbench import Adapter, ContextBatch

#: How the test secret begins (the rest is random): where to start reading one.
SECRET_PREFIX = "hunted-secret-"


def digest(data: bytes | str) -> str:
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()


class Hostile(Adapter):
    """Repeats the last context frame; hunts once (see the module docstring)."""

    def __init__(self, seeds: list[str], secret: str, frames: list[str], secret_length: int):
        super().__init__()
        self.hunted = {"seed": set(seeds), "secret": {secret}, "future frame": set(frames)}
        self.secret_length = secret_length
        self.found: dict[str, list[str]] = {}
        #: wmbench's modules that load episodes, imported before this adapter was constructed
        self.episode_modules = sorted(m for m in sys.modules if m.startswith(("wmbench.worlds", "wmbench.run.data")))

    def describe(self) -> dict[str, Any]:
        return {
            "found": {where: sorted(set(what)) for where, what in self.found.items()},
            "episode_modules": self.episode_modules,
        }

    def predict(self, batch: ContextBatch) -> torch.Tensor:
        if not self.found:
            self.hunt()
        return batch.frames[:, -1:].expand(-1, batch.horizon, -1, -1, -1).clone()

    def hunt(self) -> None:
        self.found = {"nothing": []}
        frames = [f.frame for f in inspect.stack()]
        frame = sys._getframe()
        while frame is not None:
            frames.append(frame)
            frame = frame.f_back
        self.search("stack frames", [v for f in frames for v in (*f.f_locals.values(), *f.f_globals.values())])
        self.search("gc.get_objects()", gc.get_objects(), depth=1)
        self.search("sys.argv", list(sys.argv))
        self.search("os.environ", [*os.environ.keys(), *os.environ.values()])
        self.search_directory("the working directory", Path.cwd())
        for cache in self.cache_directories():
            self.search_directory(f"the cache {cache}", cache)

    def cache_directories(self) -> list[Path]:
        """Where the run's episodes are cached, as far as this process can tell."""
        places = [os.environ.get("WMBENCH_CACHE")]
        places += [sys.argv[i + 1] for i, a in enumerate(sys.argv[:-1]) if a == "--cache"]
        places += [str(o.root) for o in gc.get_objects() if type(o).__name__ == "EpisodeCache" and o.root]
        return [Path(p) for p in dict.fromkeys(places) if p and Path(p).is_dir()]

    def search(self, where: str, roots: list[Any], depth: int = 3) -> None:
        with warnings.catch_warnings():  # touching deprecated objects
            warnings.simplefilter("ignore")
            for value in _flatten(roots, depth):
                try:
                    kinds = list(self.matches(value))
                except Exception:  # noqa: BLE001 - an object that does not behave as its type says
                    continue
                for kind in kinds:
                    self.found.setdefault(where, []).append(kind)

    def search_directory(self, where: str, root: Path) -> None:
        """Names and contents of the files under ``root`` (hidden folders, such as a
        virtual environment, left out; four levels deep)."""
        for folder, folders, files in os.walk(root):
            depth = len(Path(folder).relative_to(root).parts)
            folders[:] = [] if depth >= 4 else [f for f in folders if not f.startswith(".")]
            for name in files:
                path = Path(folder) / name
                self.search(where, [str(path.relative_to(root))])
                if path.name.endswith(".episode.zst"):  # the cache's own format, read as the cache reads it
                    from wmbench.worlds.episode import Episode

                    self.search(where, [Episode.load(path)])
                elif path.suffix == ".npz":
                    with np.load(path) as data:
                        self.search(where, [_array(data, k) for k in data.files])
                elif path.stat().st_size < 2**16:
                    self.search(where, [path.read_bytes().decode("utf-8", "replace")])

    def matches(self, value: Any) -> Iterator[str]:
        if isinstance(value, bool):
            return
        if isinstance(value, (int, np.integer)):
            if digest(str(int(value))) in self.hunted["seed"]:
                yield "seed"
        elif isinstance(value, str):
            if any(digest(number) in self.hunted["seed"] for number in re.findall(r"\d{6,}", value)):
                yield "seed"
            start = value.find(SECRET_PREFIX)
            while start >= 0:
                if digest(value[start : start + self.secret_length]) in self.hunted["secret"]:
                    yield "secret"
                start = value.find(SECRET_PREFIX, start + 1)
        elif isinstance(value, (torch.Tensor, np.ndarray)):
            if any(digest(frame) in self.hunted["future frame"] for frame in _frames(value)):
                yield "future frame"


def _flatten(roots: list[Any], depth: int) -> Iterator[Any]:
    """The values in ``roots`` and in their containers and attributes, ``depth`` deep."""
    seen: set[int] = set()
    stack = [(r, 0) for r in roots]
    while stack:
        value, level = stack.pop()
        if id(value) in seen:
            continue
        seen.add(id(value))
        yield value
        if level >= depth or isinstance(value, (str, bytes, torch.Tensor, np.ndarray)):
            continue
        if isinstance(value, dict):
            children = [*value.keys(), *value.values()]
        elif isinstance(value, (list, tuple, set, frozenset)):
            children = list(value)
        else:
            try:
                children = list(vars(value).values()) if not inspect.ismodule(value) else []
            except Exception:  # no __dict__, or a class that refuses introspection (pydantic's incomplete models)
                children = []
        stack.extend((c, level + 1) for c in children)


def _array(data: Any, key: str) -> np.ndarray | None:
    try:
        return data[key]
    except ValueError:  # an object array, which would need pickle
        return None


def _frames(value: torch.Tensor | np.ndarray) -> Iterator[bytes]:
    """The bytes of each frame in ``value``: float32 ``(..., 3, H, W)`` or uint8 ``(..., H, W, 3)``."""
    array = value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else value
    if array.ndim < 3:
        return
    if array.dtype == np.float32 and array.shape[-3] == 3:
        yield from (f.tobytes() for f in np.ascontiguousarray(array).reshape(-1, *array.shape[-3:]))
    elif array.dtype == np.uint8 and array.shape[-1] == 3:
        yield from (f.tobytes() for f in np.ascontiguousarray(array).reshape(-1, *array.shape[-3:]))
