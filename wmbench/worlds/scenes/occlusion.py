"""Partial observability: objects that pass behind occluders, stop behind them, collide
behind them, or leave the view and come back.

Every scene here uses a 2 m view centred on (1, 1) with the floor's top at 0.2 m.
Occluders are flat grey rectangles drawn in front of everything; their pixels carry
the instance id 255, so the visible fraction of an object behind one is 0.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from wmbench.worlds.rng import Rng
from wmbench.worlds.scenes.base import Bound, Scene
from wmbench.worlds.world import Track, World

FLOOR = 0.2
VIEW = 2.0
MARGIN = 0.04  # metres an object keeps from an occluder's edge when it must stay hidden

GRAVITY = Bound(9.81, 0.1, 50.0, doc="m/s^2, pointing down")
MASS = Bound(1.0, 1e-3, 1e3, doc="kilograms")
OCCLUDER_WIDTH = Bound(0.5, 0.05, 10.0, doc="occluder width, metres (must fit in the 2 m view)")
OCCLUDER_HEIGHT = Bound(0.6, 0.05, 10.0, doc="occluder height, metres (must fit in the 2 m view)")


class _Occlusion(Scene):
    """Shared checks: occluders fit in the view and can hide the object (of side or
    diameter ``2 * size``) standing on the floor."""

    def validate(self) -> None:
        super().validate()
        for name in ("occluder_width", "occluder_height"):
            hi = self.span(name)[1]
            self.require(hi < VIEW, name, f"an occluder {hi} m across is larger than the {VIEW} m view")
        self.require_hides("occluder_width", 2 * self.span("size")[1] + 2 * MARGIN)
        self.require_hides("occluder_height", 2 * self.span("size")[1] + MARGIN + 0.05)

    def require_hides(self, name: str, need: float) -> None:
        low = self.span(name)[0]
        self.require(low >= need, name, f"{low} m cannot hide the object (needs >= {need:.2f} m)")

    def floor_world(self, p: dict[str, Any]) -> World:
        world = self.new_world(p["gravity"])
        world.add_static_box(-3.0, -0.5, 5.0, FLOOR, elasticity=1.0, friction=1.0)
        return world


class OccluderPass(_Occlusion):
    """A ball or box moves along the floor, passes behind an occluder (static, or sliding
    slowly) and comes out on the other side; a wall at the right sends it back."""

    name = "occluder_pass"
    params = {
        "shape": Bound("circle", options=("circle", "box"), doc="the moving object"),
        "size": Bound(0.08, 0.04, 0.15, doc="circle radius or half box side, metres"),
        "speed": Bound(0.8, 0.1, 3.0, doc="initial speed to the right, m/s"),
        "mass": MASS,
        "friction": Bound(0.5, 0.0, 2.0, doc="object friction (a box slides only with 0)"),
        "occluder_width": OCCLUDER_WIDTH,
        "occluder_height": OCCLUDER_HEIGHT,
        "occluder_speed": Bound(0.0, -1.0, 1.0, doc="occluder's horizontal speed, m/s (0: static)"),
        "gravity": GRAVITY,
    }

    def build(self, p: dict[str, Any], rng: Rng) -> World:
        world = self.floor_world(p)
        world.add_static_box(1.92, FLOOR, 2.5, 3.0, elasticity=1.0, friction=1.0)
        size = p["size"]
        x0 = 0.1 + size
        if p["shape"] == "circle":
            world.add_circle(x0, FLOOR + size, size, p["mass"], 1.0, p["friction"])
            world.bodies[0].angular_velocity = -p["speed"] / size  # rolling from the start
        else:
            world.add_box(x0, FLOOR + size + 1e-4, 2 * size, 2 * size, p["mass"], 0.0, 1.0, p["friction"])
        world.bodies[0].velocity = (p["speed"], 0.0)
        cx, cy = 0.9 + rng.uniform(-0.1, 0.1), FLOOR + p["occluder_height"] / 2 - 0.05
        track = Track((0.0, 10.0), ((cx, cy), (cx + 10.0 * p["occluder_speed"], cy)))
        world.add_occluder(cx, cy, p["occluder_width"], p["occluder_height"], track)
        return world


class OccluderStop(_Occlusion):
    """A box slides with friction and comes to rest behind an occluder: it must stay
    hidden. Its launch speed is set so that it stops well inside the occluder."""

    name = "occluder_stop"
    params = {
        "size": Bound(0.07, 0.04, 0.12, doc="half side of the box, metres"),
        "friction": Bound(0.4, 0.05, 1.0, doc="friction coefficient between box and floor"),
        "mass": MASS,
        "occluder_width": Bound(0.6, 0.05, 10.0, doc="occluder width, metres"),
        "occluder_height": OCCLUDER_HEIGHT,
        "gravity": GRAVITY,
    }

    def build(self, p: dict[str, Any], rng: Rng) -> World:
        world = self.floor_world(p)
        size, w = p["size"], p["occluder_width"]
        x0 = 0.1 + size
        cx = 1.2 + rng.uniform(-0.15, 0.15)
        slack = w / 2 - size - MARGIN
        stop = cx + rng.uniform(-0.6, 0.6) * slack
        world.add_box(x0, FLOOR + size * 0.6 + 1e-4, 2 * size, 1.2 * size, p["mass"], 0.0, 0.0, p["friction"])
        world.bodies[0].velocity = (float(np.sqrt(2 * p["friction"] * p["gravity"] * (stop - x0))), 0.0)
        world.add_occluder(cx, FLOOR + p["occluder_height"] / 2 - 0.05, w, p["occluder_height"])
        world.meta["stop_x"] = stop
        return world


class OccluderCollision(_Occlusion):
    """Two pucks on a flat table (seen from above, no gravity) collide behind an
    occluder; the outcome (speeds, directions) shows when they come out."""

    name = "occluder_collision"
    params = {
        "size": Bound(0.08, 0.04, 0.12, doc="puck radius, metres"),
        "speed": Bound(0.6, 0.1, 2.0, doc="each puck's speed towards the other, m/s"),
        "mass": MASS,
        "mass_ratio": Bound(1.0, 1.0, 10.0, doc="second puck's mass over the first's"),
        "impact": Bound(0.0, -0.8, 0.8, doc="sideways offset of the pucks, fraction of the sum of radii"),
        "restitution": Bound(1.0, 0.0, 1.0, doc="elasticity of the pucks"),
        "occluder_width": Bound(0.6, 0.05, 10.0, doc="occluder width, metres"),
        "occluder_height": Bound(0.8, 0.05, 10.0, doc="occluder height, metres"),
        "delay": Bound(0.8, 0.3, 3.0, doc="time until contact, seconds"),
    }

    def validate(self) -> None:
        super().validate()
        r, impact = self.span("size")[1], max(map(abs, self.span("impact")))
        self.require_hides("occluder_width", 4 * r + 2 * MARGIN)  # both pucks at contact
        self.require_hides("occluder_height", 2 * r * (1 + impact) + 2 * MARGIN)
        start = self.span("speed")[1] * self.span("delay")[1] + 2 * self.span("size")[1]
        self.require(start <= 0.95, "delay", f"pucks would start {start:.2f} m from the centre, outside the view")
        near = self.span("speed")[0] * self.span("delay")[0]
        self.require(near > self.span("occluder_width")[1] / 2, "delay",
                     f"pucks would start {near:.2f} m from the centre, already behind the occluder")

    def build(self, p: dict[str, Any], rng: Rng) -> World:
        world = self.new_world(0.0)
        r, v, t = p["size"], p["speed"], p["delay"]
        cx, cy = 1.0 + rng.uniform(-0.05, 0.05), 1.0 + rng.uniform(-0.1, 0.1)
        dy = p["impact"] * r
        e = p["restitution"]
        world.add_circle(cx - r - v * t, cy - dy, r, p["mass"], e, 0.0)
        world.add_circle(cx + r + v * t, cy + dy, r, p["mass"] * p["mass_ratio"], e, 0.0)
        world.bodies[0].velocity, world.bodies[1].velocity = (v, 0.0), (-v, 0.0)
        world.add_occluder(cx, cy, p["occluder_width"], p["occluder_height"])
        world.meta["contact_time"] = t
        return world


class OutOfView(Scene):
    """A ball leaves the view and comes back: thrown up past the top edge (it falls back
    in), or rolled past the right edge to a wall outside the view (it rebounds)."""

    name = "out_of_view"
    params = {
        "exit": Bound("top", options=("top", "side"), doc="which edge the ball leaves by"),
        "size": Bound(0.08, 0.04, 0.15, doc="ball radius, metres"),
        "overshoot": Bound(0.4, 0.1, 1.5, doc="how far the ball goes past the edge, metres (from its far side)"),
        "speed": Bound(1.0, 0.2, 3.0, doc="horizontal speed (side) or sideways drift (top), m/s"),
        "restitution": Bound(0.7, 0.3, 1.0, doc="elasticity of the ball (floor and walls are 1.0)"),
        "mass": MASS,
        "gravity": GRAVITY,
    }

    def build(self, p: dict[str, Any], rng: Rng) -> World:
        world = self.new_world(p["gravity"])
        r, e, g = p["size"], p["restitution"], p["gravity"]
        world.add_static_box(-3.0, -0.5, 5.0, FLOOR, elasticity=1.0, friction=1.0)
        world.add_static_box(-1.0, FLOOR, 0.0, 6.0, elasticity=1.0)
        if p["exit"] == "top":
            world.add_static_box(2.0, FLOOR, 3.0, 6.0, elasticity=1.0)
            x = rng.uniform(0.6, 1.4)
            apex = VIEW + r + p["overshoot"]
            vy = float(np.sqrt(2 * g * (apex - (FLOOR + r))))
            world.add_circle(x, FLOOR + r, r, p["mass"], e, 0.5)
            world.bodies[0].velocity = (p["speed"] * rng.uniform(-0.3, 0.3), vy)
        else:
            wall = VIEW + 2 * r + p["overshoot"]
            world.add_static_box(wall, FLOOR, wall + 1.0, 6.0, elasticity=1.0)
            world.add_circle(rng.uniform(0.2, 0.6), FLOOR + r, r, p["mass"], e, 0.5)
            world.bodies[0].velocity = (p["speed"], 0.0)
            world.bodies[0].angular_velocity = -p["speed"] / r  # rolling from the start
        return world
