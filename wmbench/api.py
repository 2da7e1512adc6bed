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
from wmbench.cache_files import default_cache_dir
from wmbench.errors import WmbenchError
from wmbench.results.io import Result, load_result
from wmbench.results.record import write_result
from wmbench.run.evaluate import Execution, RunSpec
from wmbench.run.evaluate import evaluate as run_evaluate
from wmbench.tasks.catalog import select
from wmbench.worlds.cache import EpisodeCache
from wmbench.worlds.release import Release


def _spec_name(adapter: Adapter) -> str:
    """How the run names an adapter given as an object: its class (or, wrapped, the model's)."""
    details = adapter.describe()
    if "wraps" in details:
        return f"python:{details['wraps']}"
    cls = type(adapter)
    return f"python:{cls.__module__}:{cls.__qualname__}"


def _spec(
    adapter: str,
    adapter_config: dict[str, Any],
    suite: str | Path | None,
    tasks: list[str] | tuple[str, ...] | str | None,
    split: str | None,
    limit: int | None,
    resolution: int | None,
    release: Release | None,
) -> RunSpec:
    """What runs, as ``wmbench run`` chooses it from the same options."""
    if release is not None:
        given = [
            label
            for label, value in (("suite", suite), ("tasks", tasks), ("split", split), ("resolution", resolution))
            if value is not None
        ]
        if given:
            raise WmbenchError(f"data evaluates a release as it is: {', '.join(given)} cannot be combined with it")
        return RunSpec.of_release(release, adapter, limit, adapter_config)
    names, chosen, split, limit = select(suite, tasks, split, limit)
    return RunSpec(
        adapter=adapter,
        tasks=names,
        split=split,
        limit=limit,
        adapter_config=adapter_config,
        suite=None if chosen is None else chosen.name,
        resolution=resolution,
        suite_version=None if chosen is None else chosen.version,
    )


def evaluate(
    model: Adapter | str | Any,
    suite: str | Path | None = None,
    *,
    tasks: list[str] | tuple[str, ...] | str | None = None,
    split: str | None = None,
    limit: int | None = None,
    resolution: int | None = None,
    data: Path | str | None = None,
    out: Path | str | None = None,
    cache: EpisodeCache | Path | str | None = None,
    requirements: Requirements | None = None,
    name: str | None = None,
    adapter_config: dict[str, Any] | None = None,
    accelerator: str = "auto",
    devices: int | str | list[int] = 1,
    strategy: str = "auto",
    precision: str | None = None,
    batch_size: int = 4,
    on_error: str = "stop",
    progress: bool = False,
    logger: str = "none",
    test_secret: str | None = None,
    isolate: bool | None = None,
) -> Result | None:
    """Evaluate ``model`` on a suite (a name or a suite file; default ``smoke``), on
    ``tasks``, or on a released dataset ``data``, and return the result.

    ``model``: a :class:`~wmbench.Adapter` object, an adapter name as ``wmbench run``
    takes it (then ``adapter_config`` are its constructor arguments), or a
    ``torch.nn.Module`` or function called as ``model(frames, horizon)`` (``model(frames,
    horizon, actions)`` when ``requirements.uses_actions``), named ``name``.

    ``data``: a release directory (``wmbench data release``) whose tasks, split and exact
    episodes are evaluated, as ``wmbench run --data`` (``suite``, ``tasks``, ``split``
    and ``resolution`` are then not given). ``out``: the result directory to write
    (resumable, as ``wmbench run --out``); ``None`` runs in a temporary directory and
    keeps nothing on disk. ``cache``: the episode cache (default ``$WMBENCH_CACHE`` or
    ``~/.cache/wmbench``). The remaining arguments are ``wmbench run``'s options;
    ``devices`` defaults to 1 so that a call never launches processes (pass ``"auto"``
    and a strategy for several devices). ``isolate`` (default: on the test split) runs
    an adapter given by name in a process of its own; a model object cannot be isolated
    (pass ``isolate=False`` to run one on the test split).

    Returns the validated :class:`~wmbench.results.Result` (``.headline``,
    ``.indices``, ``.record``, ``.rows``; ``.path`` is ``None`` without ``out``), or
    ``None`` on processes other than the main one.
    """
    adapter: Adapter | None = None
    if isinstance(model, str):
        spec_name = model
    else:
        if adapter_config:
            raise WmbenchError(
                "adapter_config is for an adapter given by name; construct the object with its arguments"
            )
        adapter = as_adapter(model, requirements, name)
        spec_name = _spec_name(adapter)
    release = None if data is None else Release(data)
    spec = _spec(spec_name, dict(adapter_config or {}), suite, tasks, split, limit, resolution, release)
    execution = Execution(
        accelerator=accelerator,
        devices=devices,
        strategy=strategy,
        precision=precision,
        batch_size=batch_size,
        on_error=on_error,
        progress=progress,
        logger=logger,
        isolate=isolate,
    )
    episodes = cache if isinstance(cache, EpisodeCache) else EpisodeCache(cache or default_cache_dir())

    def run(directory: Path) -> Result | None:
        log = run_evaluate(spec, directory, episodes, execution, test_secret, release=release, adapter=adapter)
        if log is None:
            return None
        log.publish(write_result(log), episodes)
        return load_result(directory)

    if out is not None:
        return run(Path(out))
    with tempfile.TemporaryDirectory(prefix="wmbench-") as tmp:
        result = run(Path(tmp) / "run")
    return None if result is None else Result(record=result.record, rows=result.rows, path=None)
