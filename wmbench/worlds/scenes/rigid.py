"""Rigid bodies: collisions in a walled arena, sliding and rolling on ramps, toppling."""

from __future__ import annotations

from typing import Any

import numpy as np

from wmbench.worlds import exactmath
from wmbench.worlds.rng import Rng
from wmbench.worlds.scenes.base import Bound, Scene
from wmbench.worlds.world import World

WALL = 0.08  # thickness of the visible arena walls, metres
FLOOR = 0.2  # top of the floor, metres

GRAVITY = Bound(9.81, 0.1, 50.0, doc="m/s^2, pointing down")
MASS = Bound(1.0, 1e-3, 1e3, doc="kilograms")
RESTITUTION = Bound(0.5, 0.0, 1.0, doc="elasticity (combined with the floor's and walls' 1.0)")
FRICTION = Bound(0.5, 0.0, 2.0, doc="Coulomb friction coefficient")
SHAPE = Bound("circle", options=("circle", "box", "mixed"), doc="object shapes")


def _kind(shape: str, rng: Rng) -> str:
    return shape if shape != "mixed" else ("circle", "box")[int(rng.integers(2))]


def _add(world: World, kind: str, x: float, y: float, size: float, mass: float, angle: float,
         restitution: float, friction: float) -> int:
    """A circle of radius ``size`` or a square of half side ``size``; returns its index."""
    if kind == "circle":
        spec = world.add_circle(x, y, size, mass, restitution, friction)
    else:
        spec = world.add_box(x, y, 2 * size, 2 * size, mass, angle, restitution, friction)
    return spec.id - 1


class Collide(Scene):
    """Several bodies with random velocities in a walled arena: they hit each other and
    the walls. With ``gravity: 0`` the view is a top-down table; ``restitution: 1`` and
    ``friction: 0`` make every collision elastic."""

    name = "collide"
    params = {
        "n_objects": Bound(3, 1, 8, doc="bodies in the arena"),
        "shape": SHAPE,
        "size": Bound(0.1, 0.04, 0.2, doc="circle radius or half box side, metres"),
        "mass": MASS,
        "mass_ratio": Bound(1.0, 1.0, 20.0, doc="heaviest / lightest; masses log-uniform up to mass x ratio"),
        "speed": Bound(1.0, 0.0, 5.0, doc="initial speed, m/s (each body 0.5 to 1 times this)"),
        "restitution": Bound(1.0, 0.0, 1.0, doc="elasticity of bodies (walls are 1.0)"),
        "friction": Bound(0.0, 0.0, 2.0, doc="Coulomb friction coefficient"),
        "gravity": Bound(0.0, 0.0, 50.0, doc="m/s^2 pointing down; 0 for a top-down table"),
    }

    def build(self, p: dict[str, Any], rng: Rng) -> World:
        world = self.new_world(p["gravity"])
        world.space.damping = 1.0
        for box in ((0, 0, 2, WALL), (0, 2 - WALL, 2, 2), (0, 0, WALL, 2), (2 - WALL, 0, 2, 2)):
            world.add_static_box(*box, elasticity=1.0, friction=p["friction"])
        n = int(p["n_objects"])
        cells = int(np.ceil(np.sqrt(n)))
        cell = (2.0 - 2 * WALL) / cells
        for i, slot in enumerate(rng.permutation(cells * cells)[:n]):
            size = p["size"] * rng.uniform(0.75, 1.0)
            slack = max(cell / 2 - size * 1.05, 0.0)
            x = WALL + cell * (slot % cells + 0.5) + rng.uniform(-slack, slack)
            y = WALL + cell * (slot // cells + 0.5) + rng.uniform(-slack, slack)
            mass = p["mass"] * p["mass_ratio"] ** rng.uniform(0, 1)
            index = _add(world, _kind(p["shape"], rng), x, y, size, mass, rng.uniform(0, exactmath.PI / 2),
                         p["restitution"], p["friction"])
            heading = rng.uniform(0, 2 * exactmath.PI)
            speed = p["speed"] * rng.uniform(0.5, 1.0)
            sin, cos = exactmath.sincos(heading)
            world.bodies[index].velocity = (speed * cos, speed * sin)
        return world


class Ramp(Scene):
    """Bodies released on a fixed ramp: circles roll, boxes slide (or stick when friction
    exceeds the slope), then run along the floor into a wall."""

    name = "ramp"
    params = {
        "n_objects": Bound(1, 1, 3, doc="bodies on the ramp"),
        "shape": SHAPE,
        "size": Bound(0.08, 0.04, 0.15, doc="circle radius or half box side, metres"),
        "angle": Bound(25.0, 5.0, 50.0, doc="ramp slope, degrees"),
        "start": Bound(0.8, 0.2, 1.0, doc="release point, fraction of the way up the ramp"),
        "mass": MASS,
        "restitution": Bound(0.2, 0.0, 1.0, doc="elasticity of bodies"),
        "friction": FRICTION,
        "gravity": GRAVITY,
    }
    RUN = 1.2  # horizontal length of the ramp, metres

    def build(self, p: dict[str, Any], rng: Rng) -> World:
        world = self.new_world(p["gravity"])
        slope = exactmath.radians(p["angle"])
        sin, cos = exactmath.sincos(slope)
        x0, height = 0.05, self.RUN * (sin / cos)
        world.add_static_box(-1.0, -0.5, 3.0, FLOOR, elasticity=1.0, friction=1.0)
        world.add_static_box(1.92, FLOOR, 2.5, 3.0, elasticity=1.0, friction=1.0)
        world.add_static_box(-0.5, FLOOR, x0, 3.0, visible=False)
        world.add_static_polygon([(x0, FLOOR), (x0 + self.RUN, FLOOR), (x0, FLOOR + height)],
                                 elasticity=1.0, friction=1.0)
        down, normal = np.array([cos, -sin]), np.array([sin, cos])
        top = np.array([x0, FLOOR + height])
        length = self.RUN / cos
        s = length * (1.0 - p["start"]) + 0.05
        for _ in range(int(p["n_objects"])):
            size = p["size"] * rng.uniform(0.8, 1.0)
            centre = top + down * (s + size) + normal * size * 1.001
            _add(world, _kind(p["shape"], rng), *centre, size, p["mass"], -slope,
                 p["restitution"], p["friction"])
            s += 2 * size + rng.uniform(0.05, 0.15)
        return world


class Topple(Scene):
    """A chain of dominoes whose first one is pushed, or a stack of blocks with random
    offsets (unstable ones fall) hit by a thrown ball."""

    name = "topple"
    params = {
        "arrangement": Bound("chain", options=("chain", "stack"), doc="dominoes in a row or blocks in a tower"),
        "n_objects": Bound(6, 2, 12, doc="dominoes or blocks"),
        "height": Bound(0.3, 0.1, 0.45, doc="domino height or block side, metres"),
        "thickness": Bound(0.2, 0.1, 0.5, doc="domino thickness as a fraction of its height"),
        "spacing": Bound(0.6, 0.2, 0.9, doc="gap between dominoes as a fraction of their height"),
        "offset": Bound(0.1, 0.0, 0.45, doc="largest horizontal offset of a block, fraction of its side"),
        "push": Bound(2.0, 0.0, 8.0, doc="first domino's tip speed, or the ball's speed, m/s"),
        "mass": MASS,
        "restitution": Bound(0.1, 0.0, 1.0, doc="elasticity of bodies"),
        "friction": Bound(0.6, 0.0, 2.0, doc="Coulomb friction coefficient"),
        "gravity": GRAVITY,
    }

    def validate(self) -> None:
        super().validate()
        n, h = self.span("n_objects")[1], self.span("height")[1]
        arrangements = set(self.span("arrangement"))
        if "chain" in arrangements:
            pitch = h * (self.span("spacing")[1] + self.span("thickness")[1])
            self.require(0.3 + n * pitch <= 1.95, "n_objects", f"{n} dominoes of height {h} do not fit in the view")
        if "stack" in arrangements:
            self.require(FLOOR + n * h <= 1.95, "n_objects", f"a stack of {n} blocks of side {h} is taller than the view")

    def build(self, p: dict[str, Any], rng: Rng) -> World:
        world = self.new_world(p["gravity"])
        world.add_static_box(-1.0, -0.5, 3.0, FLOOR, elasticity=1.0, friction=1.0)
        world.add_static_box(-0.5, FLOOR, 0.0, 3.0, visible=False)
        world.add_static_box(2.0, FLOOR, 2.5, 3.0, visible=False)
        n, h = int(p["n_objects"]), p["height"]
        e, mu = p["restitution"], p["friction"]
        if p["arrangement"] == "chain":
            width = h * p["thickness"]
            x = 0.3
            for i in range(n):
                size = h * rng.uniform(0.9, 1.0)
                world.add_box(x, FLOOR + size / 2 + 1e-4, width, size, p["mass"], 0.0, e, mu)
                x += width + h * p["spacing"] * rng.uniform(0.9, 1.1)
            first = world.bodies[0]
            first.angular_velocity = -p["push"] / h
            first.velocity = (p["push"] / 2, 0.0)
        else:
            x, y = 1.3, FLOOR
            for i in range(n):
                world.add_box(x, y + h / 2 + 1e-4, h, h, p["mass"], 0.0, e, mu)
                x += rng.uniform(-p["offset"], p["offset"]) * h
                y += h + 2e-4
            radius = 0.6 * h / 2
            ball = _add(world, "circle", 0.15, FLOOR + h * rng.uniform(0.5, n - 0.5), radius, p["mass"], 0.0, e, mu)
            world.bodies[ball].velocity = (p["push"], 0.0)
        return world
