"""The task file: a declarative, versioned definition of one benchmark task.

A task file is YAML under ``tasks/<family>/<name>.yaml``::

    name: drop_single            # unique, [a-z0-9_]
    version: 1                   # bump whenever episodes would change
    family: dropping_objects     # one of FAMILIES
    description: One object falls from a random height and bounces.
    scene:
      type: drop                 # a scene registered in wmbench.worlds
      params:                    # fixed value, [lo, hi] range or {choice: [...]}
        height: [0.4, 0.9]
        restitution: [0.1, 0.9]
    resolution: 128              # square frames, pixels
    fps: 30                      # frames per second of scene time
    context: 8                   # frames given to the model
    horizon: 16                  # frames the model must predict
    metrics: [mse, psnr, {include: coherence}]   # names, or named sets (tasks/metric_sets.yaml)
    episodes: {train: 200, dev: 16, test: 16}
    ensemble: 8                  # physical-variance re-simulations per episode
    changelog:
      1: first release

Loading validates every field and raises :class:`~wmbench.errors.TaskFileError`
naming the file, the field and the problem.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from wmbench.errors import TaskFileError
from wmbench.tasks.metric_sets import expand_metrics
from wmbench.tasks.params import ParamRange, parse_param

FAMILIES = (
    "rigid_bodies",
    "dropping_objects",
    "partial_observability",
    "long_horizon",
    "action_conditioned",
    "violation_of_expectation",
)
SPLITS = ("train", "dev", "test")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_REQUIRED = ("name", "version", "family", "scene", "resolution", "fps", "context", "horizon", "metrics", "episodes")
_OPTIONAL = ("description", "ensemble", "changelog")


@dataclass(frozen=True)
class Task:
    """A validated task definition. ``source`` is the file it was read from."""

    name: str
    version: int
    family: str
    scene: str
    params: dict[str, ParamRange]
    resolution: int
    fps: float
    context: int
    horizon: int
    metrics: tuple[str, ...]
    episodes: dict[str, int]
    description: str = ""
    ensemble: int = 8
    changelog: dict[int, str] = field(default_factory=dict)
    source: Path | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def length(self) -> int:
        """Frames per episode: context plus horizon."""
        return self.context + self.horizon

    @property
    def id(self) -> str:
        """``name@version``, as recorded in results."""
        return f"{self.name}@{self.version}"

    def with_overrides(self, *, resolution: int | None = None, fps: float | None = None) -> "Task":
        """The same task rendered at another resolution or frame rate."""
        task = self
        if resolution is not None:
            task = replace(task, resolution=_positive_int(resolution, self.source, "resolution", minimum=16))
        if fps is not None:
            task = replace(task, fps=_positive_number(fps, self.source, "fps"))
        return _check_size(task)

    def definition_hash(self, as_written: bool = False) -> str:
        """SHA-256 of the canonical task definition (what determines the episodes and what
        is scored; metric sets expanded): as rendered, with any resolution or fps override,
        or as written in its file (the two agree when nothing is overridden)."""
        payload = {k: v for k, v in self.raw.items() if k not in ("description", "changelog")}
        if as_written:
            payload.update(resolution=self.raw.get("resolution"), fps=float(self.raw.get("fps", self.fps)))
        else:
            payload.update(resolution=self.resolution, fps=self.fps)
        payload.update(metrics=list(self.metrics))
        return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


#: Largest values a task may ask for: beyond them an episode would not fit in memory (or
#: the physics rate, 240 Hz, could not produce its frames).
MAXIMUM = {"resolution": 1024, "fps": 240, "context": 256, "horizon": 2048}
#: Largest episode, uint8 RGB frames (context + horizon frames at the resolution).
MAX_EPISODE_BYTES = 2**31


def _positive_int(value: Any, source: Path | None, name: str, minimum: int = 1) -> int:
    maximum = MAXIMUM.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum or (maximum and value > maximum):
        bounds = f">= {minimum}" if maximum is None else f"from {minimum} to {maximum}"
        raise TaskFileError(source, name, f"must be an integer {bounds}, got {value!r}")
    return value


def _positive_number(value: Any, source: Path | None, name: str) -> float:
    maximum = MAXIMUM.get(name)
    if (
        not isinstance(value, (int, float))
        or isinstance(value, bool)
        or not value > 0
        or (maximum and not value <= maximum)
    ):
        bounds = "a positive number" if maximum is None else f"a positive number up to {maximum}"
        raise TaskFileError(source, name, f"must be {bounds}, got {value!r}")
    return float(value)


def _check_size(task: Task) -> Task:
    """Refuse a task whose episodes' frames would exceed :data:`MAX_EPISODE_BYTES`."""
    size = task.length * task.resolution**2 * 3
    if size > MAX_EPISODE_BYTES:
        raise TaskFileError(
            task.source,
            "horizon",
            f"an episode of {task.length} frames at {task.resolution} px "
            f"would hold {size / 2**30:.1f} GiB of frames, over the {MAX_EPISODE_BYTES // 2**30} "
            "GiB limit; lower the resolution, context or horizon",
        )
    return task


def task_from_dict(data: Any, source: Path | None = None) -> Task:
    """Validate a parsed task mapping and build a :class:`Task`."""
    if not isinstance(data, dict):
        raise TaskFileError(source, "<root>", f"expected a mapping of fields, got {type(data).__name__}")
    missing = [k for k in _REQUIRED if k not in data]
    if missing:
        raise TaskFileError(source, missing[0], "is required but missing")
    unknown = sorted(set(data) - set(_REQUIRED) - set(_OPTIONAL))
    if unknown:
        raise TaskFileError(source, unknown[0], f"unknown field (allowed: {', '.join(_REQUIRED + _OPTIONAL)})")

    name = data["name"]
    if not isinstance(name, str) or not _NAME.match(name):
        raise TaskFileError(source, "name", f"must match [a-z][a-z0-9_]*, got {name!r}")
    version = _positive_int(data["version"], source, "version")
    family = data["family"]
    if family not in FAMILIES:
        raise TaskFileError(source, "family", f"{family!r} is not one of {', '.join(FAMILIES)}")

    scene = data["scene"]
    if not isinstance(scene, dict) or not isinstance(scene.get("type"), str):
        raise TaskFileError(source, "scene", "must be a mapping with a string 'type'")
    extra = set(scene) - {"type", "params"}
    if extra:
        raise TaskFileError(source, f"scene.{sorted(extra)[0]}", "unknown field (allowed: type, params)")
    raw_params = scene.get("params") or {}
    if not isinstance(raw_params, dict):
        raise TaskFileError(source, "scene.params", "must be a mapping of parameter ranges")
    params = {str(k): parse_param(v, source, f"scene.params.{k}") for k, v in raw_params.items()}

    metrics = expand_metrics(data["metrics"], source)

    episodes = data["episodes"]
    if not isinstance(episodes, dict) or set(episodes) - set(SPLITS) or not episodes:
        raise TaskFileError(source, "episodes", f"must map splits ({', '.join(SPLITS)}) to episode counts")
    counts = {s: _positive_int(n, source, f"episodes.{s}", minimum=0) for s, n in episodes.items()}

    changelog = data.get("changelog") or {}
    if not isinstance(changelog, dict) or not all(str(k).isdigit() for k in changelog):
        raise TaskFileError(source, "changelog", "must map versions to one-line descriptions")
    changelog = {int(k): str(v) for k, v in changelog.items()}
    if changelog and version not in changelog:
        raise TaskFileError(source, "changelog", f"has no line for the current version {version}")

    return _check_size(
        Task(
            name=name,
            version=version,
            family=family,
            scene=scene["type"],
            params=params,
            resolution=_positive_int(data["resolution"], source, "resolution", minimum=16),
            fps=_positive_number(data["fps"], source, "fps"),
            context=_positive_int(data["context"], source, "context"),
            horizon=_positive_int(data["horizon"], source, "horizon"),
            metrics=tuple(metrics),
            episodes=counts,
            description=str(data.get("description", "")).strip(),
            ensemble=_positive_int(data.get("ensemble", 8), source, "ensemble", minimum=0),
            changelog=changelog,
            source=source,
            raw=data,
        )
    )


def load_task(path: Path | str) -> Task:
    """Read and validate one task file."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise TaskFileError(path, "<file>", f"cannot be read: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise TaskFileError(path, "<yaml>", f"is not valid YAML{where}") from exc
    return task_from_dict(data, path)
