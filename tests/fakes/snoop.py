"""An adapter that searches everything it is given for what it must not see."""

from __future__ import annotations

import dataclasses
from typing import Any, Iterator

import numpy as np
import torch

from wmbench import Adapter, ContextBatch, Episode


def reachable(root: Any, depth: int = 6) -> Iterator[Any]:
    """Every object reachable from ``root`` through attributes, dataclass fields,
    containers and tensor internals (``_base``, ``grad``), without the garbage collector."""
    seen: set[int] = set()
    stack = [(root, 0)]
    while stack:
        obj, level = stack.pop()
        if id(obj) in seen or level > depth:
            continue
        seen.add(id(obj))
        yield obj
        children: list[Any] = []
        if isinstance(obj, dict):
            children = [*obj.keys(), *obj.values()]
        elif isinstance(obj, (list, tuple, set, frozenset)):
            children = list(obj)
        elif isinstance(obj, torch.Tensor):
            children = [obj._base, obj.grad, *vars(obj).values()]
        elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            children = [getattr(obj, f.name) for f in dataclasses.fields(obj)]
        elif hasattr(obj, "__dict__") and not isinstance(obj, type):
            children = list(vars(obj).values())
        stack.extend((c, level + 1) for c in children if c is not None)


def findings(root: Any, secrets: dict[str, Any]) -> list[str]:
    """What of ``secrets`` (seed, states, future frames) can be found from ``root``."""
    found = []
    seed, states, future = secrets["seed"], secrets["states"], secrets["future"]
    future_bytes = {frame.float().numpy().tobytes() for frame in future}
    telltales = states[states != 0][:4]  # four non-zero state values, found even when cast to float32
    for obj in reachable(root):
        if isinstance(obj, Episode):
            found.append("an Episode object")
        elif isinstance(obj, (int, np.integer)) and not isinstance(obj, bool) and int(obj) == seed:
            found.append("the seed as a number")
        elif isinstance(obj, str) and str(seed) in obj:
            found.append(f"the seed in the text {obj[:40]!r}")
        elif isinstance(obj, (np.ndarray, torch.Tensor)):
            array = obj.detach().cpu().numpy() if isinstance(obj, torch.Tensor) else obj
            values = array.ravel().astype(np.float64)
            if values.size and all(np.isclose(values, v, rtol=1e-6, atol=0).any() for v in telltales):
                found.append("the object states")
            if isinstance(obj, torch.Tensor) and obj.ndim >= 3 and obj.shape[-3:] == future.shape[-3:]:
                frames = obj.detach().cpu().float().reshape(-1, *future.shape[-3:]).numpy()
                if any(frame.tobytes() in future_bytes for frame in frames):
                    found.append("a future frame")
    return found


class Snoop(Adapter):
    """Copies the last frame; records what it was given and what it could find."""

    given: list[ContextBatch] = []
    attributes_after_setup: list[Any] = []

    def setup(self, device: torch.device) -> None:
        super().setup(device)
        type(self).attributes_after_setup.append(dict(vars(self)))

    def predict(self, batch: ContextBatch) -> torch.Tensor:
        type(self).given.append(batch)
        return batch.frames[:, -1:].expand(-1, batch.horizon, -1, -1, -1).clone()
