"""Dropping objects: bodies released from varied heights bounce on a floor and come to rest."""

from __future__ import annotations

from typing import Any

import numpy as np

from wmbench.worlds.exactmath import PI
from wmbench.worlds.rng import Rng
from wmbench.worlds.scenes.base import Bound, Scene
from wmbench.worlds.world import World

FLOOR = 0.2  # top of the floor, metres


class Drop(Scene):
    """Balls or boxes released from varied heights, with some spin, bounce on the floor
    (restitution per object, optionally varied) and come to rest."""

    name = "drop"
    params = {
        "n_objects": Bound(1, 1, 6, doc="objects released"),
        "shape": Bound("circle", options=("circle", "box", "mixed"), doc="object shapes"),
        "size": Bound(0.12, 0.04, 0.3, doc="circle radius or half box side, metres"),
        "height": Bound(1.2, 0.3, 1.75, doc="release height of the lowest point, metres"),
        "mass": Bound(1.0, 1e-3, 1e3, doc="kilograms"),
        "restitution": Bound(0.5, 0.0, 1.0, doc="elasticity of objects and floor"),
        "restitution_spread": Bound(0.0, 0.0, 0.5, doc="each object's elasticity varies by up to this much"),
        "friction": Bound(0.5, 0.0, 2.0, doc="Coulomb friction coefficient"),
        "spin": Bound(0.0, -20.0, 20.0, doc="initial angular velocity, rad/s"),
        "rolling_resistance": Bound(0.0, 0.0, 20.0, doc="decay rate of a ball's spin, 1/s: rolling comes to a stop"),
        "gravity": Bound(9.81, 0.1, 50.0, doc="m/s^2, pointing down"),
    }

    def build(self, p: dict[str, Any], rng: Rng) -> World:
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
            elasticity = p["restitution"]
            if p["restitution_spread"]:
                elasticity = float(np.clip(elasticity + rng.uniform(-1, 1) * p["restitution_spread"], 0.0, 1.0))
            if kind == "circle":
                spec = world.add_circle(x, y, size, p["mass"], elasticity, p["friction"], p["rolling_resistance"])
            else:
                spec = world.add_box(x, y, 2 * size, 2 * size, p["mass"], rng.uniform(0, PI / 2),
                                     elasticity, p["friction"])
            world.bodies[spec.id - 1].angular_velocity = p["spin"] * rng.uniform(-1, 1)
        return world


class DropOnto(Scene):
    """Objects released above a tower or a row of resting blocks and balls: they land on
    them, knock them about and everything comes to rest on the floor."""

    name = "drop_onto"
    params = {
        "base": Bound("stack", options=("stack", "row"), doc="resting bodies: a tower of blocks or a row"),
        "n_base": Bound(3, 1, 6, doc="resting bodies"),
        "base_size": Bound(0.1, 0.05, 0.15, doc="half side of a resting block (or radius), metres"),
        "n_objects": Bound(1, 1, 3, doc="objects released"),
        "shape": Bound("circle", options=("circle", "box", "mixed"), doc="released object shapes"),
        "size": Bound(0.08, 0.04, 0.15, doc="circle radius or half box side, metres"),
        "height": Bound(0.4, 0.1, 0.8, doc="release height above the top of the base, metres"),
        "mass": Bound(1.0, 1e-3, 1e3, doc="kilograms, released objects"),
        "base_mass": Bound(1.0, 1e-3, 1e3, doc="kilograms, resting bodies"),
        "restitution": Bound(0.3, 0.0, 1.0, doc="elasticity of every body"),
        "friction": Bound(0.6, 0.0, 2.0, doc="Coulomb friction coefficient"),
        "rolling_resistance": Bound(0.0, 0.0, 20.0, doc="decay rate of a ball's spin, 1/s: rolling comes to a stop"),
        "gravity": Bound(9.81, 0.1, 50.0, doc="m/s^2, pointing down"),
    }

    def validate(self) -> None:
        super().validate()
        tall = self.span("n_base")[1] * 2 * self.span("base_size")[1]
        top = FLOOR + tall + self.span("height")[1] + 2 * self.span("size")[1] * self.span("n_objects")[1]
        self.require(top <= 2.0, "height", f"objects released {top:.2f} m high would start above the view (2 m)")

    def build(self, p: dict[str, Any], rng: Rng) -> World:
        world = self.new_world(p["gravity"])
        e, mu = p["restitution"], p["friction"]
        world.add_static_box(-1.0, -0.5, 3.0, FLOOR, elasticity=1.0, friction=1.0)
        world.add_static_box(-0.5, 0.0, 0.0, 3.0, visible=False)
        world.add_static_box(2.0, 0.0, 2.5, 3.0, visible=False)
        n, b = int(p["n_base"]), p["base_size"]
        if p["base"] == "stack":
            x, top = 1.0 + rng.uniform(-0.2, 0.2), FLOOR + 2 * b * n
            for i in range(n):
                world.add_box(x + rng.uniform(-0.1, 0.1) * b, FLOOR + b * (2 * i + 1) + 1e-4 * (i + 1),
                              2 * b, 2 * b, p["base_mass"], 0.0, e, mu)
            span = (x - b, x + b)
        else:
            left = 1.0 - n * b * 1.1
            for i in range(n):
                kind = ("circle", "box")[int(rng.integers(2))]
                cx = left + b * 1.1 * (2 * i + 1)
                if kind == "circle":
                    world.add_circle(cx, FLOOR + b, b, p["base_mass"], e, mu, p["rolling_resistance"])
                else:
                    world.add_box(cx, FLOOR + b + 1e-4, 2 * b, 2 * b, p["base_mass"], 0.0, e, mu)
            top, span = FLOOR + 2 * b, (left, left + 2.2 * b * n)
        y = top + p["height"]
        for _ in range(int(p["n_objects"])):
            size = p["size"] * rng.uniform(0.8, 1.0)
            kind = p["shape"] if p["shape"] != "mixed" else ("circle", "box")[int(rng.integers(2))]
            x = rng.uniform(*span)
            if kind == "circle":
                world.add_circle(x, y + size, size, p["mass"], e, mu, p["rolling_resistance"])
            else:
                world.add_box(x, y + size, 2 * size, 2 * size, p["mass"], rng.uniform(0, PI / 2), e, mu)
            y += 2 * size + 0.05
        return world
