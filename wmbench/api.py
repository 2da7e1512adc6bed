"""Evaluating a model object from Python: ``wmbench.evaluate(model, suite="smoke")``.

The same run as ``wmbench run`` (:func:`wmbench.run.evaluate`), on an adapter object,
an adapter name, or a plain model wrapped by :func:`wmbench.adapters.wrap.as_adapter`.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from wmbench.adapters.base import Adapter, Requirements
from wmbench.adapters.wrap import as_adapter
from wmbench.errors import WmbenchError
from wmbench.results.io import Result, load_result
from wmbench.run.evaluate import Execution, RunSpec
from wmbench.run.evaluate import evaluate as run_evaluate
from wmbench.tasks.catalog import get_suite
from wmbench.worlds.cache import EpisodeCache, default_cache_dir


def _selection(suite: str | None, tasks: list[str] | tuple[str, ...] | str | None, split: str | None,
               limit: int | None) -> tuple[tuple[str, ...], str | None, str, int | None]:
    """``(tasks, suite name, split, limit)`` as ``wmbench run`` chooses them."""
    if tasks is not None:
        names = tuple(t for t in tasks.split(",") if t) if isinstance(tasks, str) else tuple(tasks)
        return names, None, split or "dev", limit
    chosen = get_suite(suite or "smoke")
    return chosen.tasks, chosen.name, split or chosen.split, limit or chosen.episodes


def _spec_name(adapter: Adapter) -> str:
    """How the run names an adapter given as an object: its class (or, wrapped, the model's)."""
    details = adapter.describe()
    if "wraps" in details:
        return f"python:{details['wraps']}"
    cls = type(adapter)
    return f"python:{cls.__module__}:{cls.__qualname__}"


def evaluate(model: Adapter | str | Any, suite: str | None = "smoke", *,
             tasks: list[str] | tuple[str, ...] | str | None = None, split: str | None = None,
             limit: int | None = None, resolution: int | None = None, out: Path | str | None = None,
             cache: EpisodeCache | Path | str | None = None, requirements: Requirements | None = None,
             name: str | None = None, adapter_config: dict[str, Any] | None = None,
             accelerator: str = "auto", devices: int | str | list[int] = 1, strategy: str = "auto",
             precision: str | None = None, batch_size: int = 4, on_error: str = "stop", progress: bool = False,
             logger: str = "none", test_secret: str | None = None) -> Result | None:
    """Evaluate ``model`` on a suite (default ``smoke``) or ``tasks`` and return the result.

    ``model``: a :class:`~wmbench.Adapter` object, an adapter name as ``wmbench run``
    takes it (then ``adapter_config`` are its constructor arguments), or a
    ``torch.nn.Module`` or function called as ``model(frames, horizon)`` (``model(frames,
    horizon, actions)`` when ``requirements.uses_actions``), named ``name``.

    ``out``: the result directory to write (resumable, as ``wmbench run --out``);
    ``None`` runs in a temporary directory and keeps nothing on disk. ``cache``: the
    episode cache (default ``$WMBENCH_CACHE`` or ``~/.cache/wmbench``). The remaining
    arguments are ``wmbench run``'s options; ``devices`` defaults to 1 so that a call
    never launches processes (pass ``"auto"`` and a strategy for several devices).

    Returns the validated :class:`~wmbench.results.Result` (``.headline``,
    ``.indices``, ``.record``, ``.rows``; ``.path`` is ``None`` without ``out``), or
    ``None`` on processes other than the main one.
    """
    names, suite_name, split, limit = _selection(suite, tasks, split, limit)
    adapter: Adapter | None = None
    if isinstance(model, str):
        spec_name = model
    else:
        if adapter_config:
            raise WmbenchError("adapter_config is for an adapter given by name; construct the object with its "
                               "arguments")
        adapter = as_adapter(model, requirements, name)
        spec_name = _spec_name(adapter)
    spec = RunSpec(adapter=spec_name, tasks=names, split=split,
                   limit=limit, adapter_config=dict(adapter_config or {}), suite=suite_name,
                   resolution=resolution)
    execution = Execution(accelerator=accelerator, devices=devices, strategy=strategy, precision=precision,
                          batch_size=batch_size, on_error=on_error, progress=progress, logger=logger)
    if not isinstance(cache, EpisodeCache):
        cache = EpisodeCache(default_cache_dir() if cache is None else cache)
    if out is not None:
        record = run_evaluate(spec, out, cache, execution, test_secret, adapter)
        return None if record is None else load_result(out)
    with tempfile.TemporaryDirectory(prefix="wmbench-") as tmp:
        record = run_evaluate(spec, Path(tmp) / "run", cache, execution, test_secret, adapter)
        if record is None:
            return None
        result = load_result(Path(tmp) / "run")
    return Result(record=result.record, rows=result.rows, path=None)
