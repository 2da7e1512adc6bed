"""Re-simulating an episode: its world rebuilt from the task, the episode's parameters and
seed, run through the context with the true actions, changed at the last context frame
(gravity, materials, solidity) and simulated over the horizon.

What a changed world does after the context is physics, not a picture edit: the
self-test and ``wmbench validate`` build their physical violations this way. With no
change the horizon is the episode's own future (:func:`resimulate` replays the recorded
actions, so the rollout is the true one, step for step).
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction

import numpy as np
import pymunk

from wmbench.tasks.schema import Task
from wmbench.worlds.episode import Episode, Rollout
from wmbench.worlds.generate import build_world
from wmbench.worlds.world import SIM_HZ, World

#: A change applied to the world at the last context frame.
Change = Callable[[World], None]


def resimulate(task: Task, episode: Episode, change: Change | None = None, speed: float = 1.0) -> Rollout:
    """The horizon of ``episode`` re-simulated with ``change`` applied at its last context frame.

    ``speed`` plays the horizon faster or slower: horizon frame ``t`` shows the scene
    ``speed * t`` frame intervals after the last context frame (``0.5``: slow motion,
    simulated at twice the frame rate; ``2``: every other frame, simulated beyond the
    episode's length). ``speed`` must be a whole number or one over a whole number, and
    the finer frame rate must divide the physics rate. An agent's recorded actions are
    replayed, each for its frame interval (the last one is held beyond the episode); a
    moving camera follows its track. Returns the
    horizon's ``episode.horizon`` frames, states, pixels and visibility.
    """
    ratio = Fraction(speed).limit_denominator(16)
    if ratio <= 0 or (ratio.numerator != 1 and ratio.denominator != 1):
        raise ValueError(f"speed must be a whole number or one over a whole number, got {speed}")
    fine, stride = ratio.denominator, ratio.numerator
    if SIM_HZ % (task.fps * fine):
        raise ValueError(
            f"cannot simulate {task.name} at {task.fps * fine} frames per second (physics runs at {SIM_HZ} Hz)"
        )
    last = episode.context - 1
    start = fine * last
    frames = start + stride * episode.horizon + 1
    world = build_world(task, episode.meta["params"], episode.seed)
    actions = episode.truth.actions if world.agent is not None else None  # else a camera's motion, replayed anyway

    def control(t: int, world: World) -> np.ndarray | None:
        if t == start and change is not None:
            change(world)
        return None if actions is None else actions[min(t // fine, len(actions) - 1)]

    rollout = world.rollout(frames, task.fps * fine, control)
    keep = start + stride * np.arange(1, episode.horizon + 1)
    return Rollout(
        frames=rollout.frames[keep],
        instance_ids=rollout.instance_ids[keep],
        states=rollout.states[keep],
        pixels=rollout.pixels[keep],
        visibility=rollout.visibility[keep],
        camera=None if rollout.camera is None else rollout.camera[keep],
    )


def scale_gravity(factor: float) -> Change:
    """Gravity times ``factor``."""

    def change(world: World) -> None:
        gx, gy = world.space.gravity
        world.space.gravity = (gx * factor, gy * factor)

    return change


def _scale_shapes(attribute: str, factor: float) -> Change:
    def change(world: World) -> None:
        for shape in world.space.shapes:
            setattr(shape, attribute, getattr(shape, attribute) * factor)
        if attribute == "friction":  # Coulomb friction against a table, as joint force limits
            for joint in world.table_friction:
                joint.max_force *= factor

    return change


def scale_restitution(factor: float) -> Change:
    """Every body's and every solid's elasticity times ``factor``."""
    return _scale_shapes("elasticity", factor)


def scale_friction(factor: float) -> Change:
    """Every friction coefficient times ``factor``, table friction included."""
    return _scale_shapes("friction", factor)


def remove_solids(world: World) -> None:
    """The static solids (floors, walls, ramps) stop existing: objects fall through them."""
    world.space.remove(*world.space.static_body.shapes)


def objects_pass_through(world: World) -> None:
    """The objects stop colliding with each other (they still meet the static solids)."""
    ghosts = pymunk.ShapeFilter(group=1)
    for body in world.bodies:
        for shape in body.shapes:
            shape.filter = ghosts
