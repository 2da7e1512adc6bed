"""Scenes: parametrised physics setups, registered by name for task files.

A subclass of :class:`Scene` with a ``name`` registers itself in :data:`SCENES`; every
module of :mod:`wmbench.worlds.scenes` is imported on the first lookup, and installed
packages add scenes through the ``wmbench.scenes`` entry-point group.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, ClassVar

from wmbench.errors import TaskFileError, UnknownNameError
from wmbench.registry import Registry
from wmbench.tasks.params import Choice, Fixed, ParamRange
from wmbench.tasks.released import check_released
from wmbench.tasks.schema import Task
from wmbench.worlds.episode import Rollout
from wmbench.worlds.rng import Rng
from wmbench.worlds.world import SIM_HZ, Control, World

#: Re-simulates the episode's unperturbed start from its seed under a control (or none).
Simulate = Callable[[Control | None], tuple[World, Rollout]]


@dataclass(frozen=True)
class Bound:
    """The allowed values of one scene parameter and its default."""

    default: Any
    lo: float | None = None
    hi: float | None = None
    options: tuple[Any, ...] = ()
    doc: str = ""

    def check(self, value: Any) -> str | None:
        """A problem with ``value``, or ``None`` if it is allowed."""
        if self.options:
            return None if value in self.options else f"{value!r} is not one of {list(self.options)}"
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"must be a number, got {value!r}"
        if self.lo is not None and value < self.lo:
            return f"{value} is below the minimum {self.lo}"
        if self.hi is not None and value > self.hi:
            return f"{value} is above the maximum {self.hi}"
        return None


class Scene:
    """Subclass, set ``name`` and ``params``, implement :meth:`build`; registered on definition."""

    name: ClassVar[str]
    params: ClassVar[dict[str, Bound]] = {}
    #: Nominal view: ``view`` metres wide, centred on ``centre``.
    view: ClassVar[float] = 2.0
    centre: ClassVar[tuple[float, float]] = (1.0, 1.0)
    #: Whether the scene's objects collide with each other (not where each moves in a
    #: plane of its own and they pass in front of each other).
    objects_collide: ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if getattr(cls, "name", None):
            SCENES.register(cls)

    def __init__(self, task: Task):
        self.task = task
        self.validate()

    def validate(self) -> None:
        """Check the task's parameter ranges against :attr:`params`; errors name the field."""
        task = self.task
        if SIM_HZ % round(task.fps) or task.fps != round(task.fps):
            raise TaskFileError(task.source, "fps", f"must divide the physics rate {SIM_HZ} Hz, got {task.fps}")
        for name, rng in task.params.items():
            field = f"scene.params.{name}"
            if name not in self.params:
                raise TaskFileError(task.source, field, f"unknown parameter of scene '{self.name}' "
                                    f"(known: {', '.join(sorted(self.params))})")
            values = rng.options if isinstance(rng, Choice) else rng.bounds
            for value in values:
                problem = self.params[name].check(value)
                if problem:
                    raise TaskFileError(task.source, field, problem)

    def span(self, name: str) -> tuple[Any, Any]:
        """The smallest and largest value parameter ``name`` can take in this task."""
        rng = self.task.params.get(name)
        if rng is None:
            return self.params[name].default, self.params[name].default
        values = rng.options if isinstance(rng, Choice) else rng.bounds
        return min(values), max(values)

    def require(self, ok: bool, name: str, problem: str) -> None:
        """Raise :class:`TaskFileError` for ``scene.params.<name>`` unless ``ok``."""
        if not ok:
            raise TaskFileError(self.task.source, f"scene.params.{name}", problem)

    def sample(self, rng: Rng) -> dict[str, Any]:
        """Parameters for one episode: defaults overridden by the task's draws."""
        ranges: dict[str, ParamRange] = {k: Fixed(b.default) for k, b in self.params.items()}
        ranges.update(self.task.params)
        return {k: ranges[k].sample(rng) for k in sorted(ranges)}

    def new_world(self, gravity: float) -> World:
        from wmbench.worlds.render import Camera

        res = self.task.resolution
        return World(camera=Camera(*self.centre, ppm=res / self.view, resolution=res), gravity=gravity)

    def build(self, p: dict[str, Any], rng: Rng) -> World:
        raise NotImplementedError

    def policy(self, p: dict[str, Any], seed: int) -> Control | None:
        """The control of the true rollout (an agent's policy); ``None`` for passive scenes."""
        return None

    def alternatives(self, p: dict[str, Any], seed: int, truth: Rollout,
                     simulate: Simulate) -> tuple[list[Rollout], dict[str, Any]]:
        """Other rollouts from the same start (action sequences, impossible twins), each
        re-simulated from the seed with ``simulate``, and metadata describing them."""
        return [], {}


SCENES: Registry[type[Scene]] = Registry("scene", Scene, "wmbench.scenes", builtins="wmbench.worlds.scenes")


def check_task(task: Task) -> Scene:
    """The task's validated scene, once the task is known not to redefine a released
    version: what every episode of it, generated or read from a cache, is checked against."""
    scene = scene_for(task)
    check_released(task)
    return scene


def scene_for(task: Task) -> Scene:
    """The validated scene of a task; an unknown scene names the task file and field."""
    try:
        scene = SCENES.resolve(task.scene)
    except UnknownNameError as exc:
        raise TaskFileError(task.source, "scene.type", str(exc)) from exc
    return scene(task)
