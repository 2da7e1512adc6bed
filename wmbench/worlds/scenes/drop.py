"""Dropping objects: bodies released from varied heights bounce on a floor and come to rest."""

from __future__ import annotations

from typing import Any

import numpy as np

from wmbench.worlds.scenes.base import Bound, Scene
from wmbench.worlds.world import World

FLOOR = 0.2  # top of the floor, metres


class Drop(Scene):
    name = "drop"
    params = {
        "n_objects": Bound(1, 1, 6, doc="objects released"),
        "shape": Bound("circle", options=("circle", "box", "mixed"), doc="object shapes"),
        "size": Bound(0.12, 0.04, 0.3, doc="circle radius or half box side, metres"),
        "height": Bound(1.2, 0.3, 1.75, doc="release height of the lowest point, metres"),
        "mass": Bound(1.0, 1e-3, 1e3, doc="kilograms"),
        "restitution": Bound(0.5, 0.0, 1.0, doc="elasticity of objects and floor"),
        "friction": Bound(0.5, 0.0, 2.0, doc="Coulomb friction coefficient"),
        "spin": Bound(0.0, -20.0, 20.0, doc="initial angular velocity, rad/s"),
        "gravity": Bound(9.81, 0.1, 50.0, doc="m/s^2, pointing down"),
    }

    def build(self, p: dict[str, Any], rng: np.random.Generator) -> World:
        world = self.new_world(p["gravity"])
        world.add_static_box(-1.0, -0.5, 3.0, FLOOR, elasticity=p["restitution"], friction=p["friction"])
        world.add_static_box(-0.5, 0.0, 0.0, 3.0, elasticity=p["restitution"], visible=False)
        world.add_static_box(2.0, 0.0, 2.5, 3.0, elasticity=p["restitution"], visible=False)
        n = int(p["n_objects"])
        slots = rng.permutation(n)
        width = (2.0 - 0.2) / n
        for i in range(n):
            size = p["size"] * rng.uniform(0.8, 1.2)
            x = 0.1 + width * (slots[i] + 0.5) + rng.uniform(-0.15, 0.15) * width
            y = FLOOR + p["height"] * rng.uniform(0.75, 1.0) + size
            kind = p["shape"] if p["shape"] != "mixed" else ("circle", "box")[int(rng.integers(2))]
            if kind == "circle":
                spec = world.add_circle(x, y, size, p["mass"], p["restitution"], p["friction"])
            else:
                spec = world.add_box(x, y, 2 * size, 2 * size, p["mass"], rng.uniform(0, np.pi / 2),
                                     p["restitution"], p["friction"])
            world.bodies[spec.id - 1].angular_velocity = p["spin"] * rng.uniform(-1, 1)
        return world
