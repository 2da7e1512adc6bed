"""Long-horizon consistency: periodic motion over tens of seconds, and revisits, where
the camera pans away from part of the scene and comes back after a gap."""

from __future__ import annotations

from typing import Any

import numpy as np
import pymunk

from wmbench.worlds import exactmath
from wmbench.worlds.render import Backdrop
from wmbench.worlds.rng import Rng
from wmbench.worlds.scenes.base import Bound, Scene
from wmbench.worlds.world import Track, World

FLOOR = 0.2
ANCHOR_Y = 1.85  # height of pendulum anchors, metres
NO_MUTUAL_COLLISION = pymunk.ShapeFilter(group=1)  # pendulum bobs swing in separate planes

GRAVITY = Bound(9.81, 0.1, 50.0, doc="m/s^2, pointing down")
MASS = Bound(1.0, 1e-3, 1e3, doc="kilograms")


def _pendulum(world: World, anchor: tuple[float, float], length: float, angle: float, radius: float,
              mass: float) -> None:
    """A bob on a rigid massless string, released at rest ``angle`` radians from vertical."""
    sin, cos = exactmath.sincos(angle)
    x, y = anchor[0] + length * sin, anchor[1] - length * cos
    spec = world.add_circle(x, y, radius, mass, 1.0, 0.0)
    for shape in world.bodies[spec.id - 1].shapes:
        shape.filter = NO_MUTUAL_COLLISION
    world.pin(spec.id - 1, anchor)


class Pendulum(Scene):
    """Pendulums of different lengths swinging without damping: periodic motion whose
    phases a model must keep for tens of seconds."""

    name = "pendulum"
    objects_collide = False  # the bobs swing in planes of their own
    params = {
        "n_objects": Bound(2, 1, 4, doc="pendulums"),
        "length": Bound(0.8, 0.2, 2.0, doc="longest string length, metres (each 0.6 to 1 times this)"),
        "amplitude": Bound(30.0, 2.0, 80.0, doc="largest release angle from vertical, degrees"),
        "size": Bound(0.07, 0.03, 0.12, doc="bob radius, metres"),
        "mass": MASS,
        "gravity": GRAVITY,
        "backdrop": Bound(False, options=(False, True), doc="draw a static textured background"),
    }

    def validate(self) -> None:
        super().validate()
        reach = self.span("length")[1] + self.span("size")[1]
        self.require(reach <= ANCHOR_Y - 0.05, "length", f"a bob reaching {reach:.2f} m below the anchor leaves the view")

    def build(self, p: dict[str, Any], rng: Rng) -> World:
        world = self.new_world(p["gravity"])
        world.space.damping = 1.0
        n = int(p["n_objects"])
        world.add_static_box(0.0, ANCHOR_Y, 2.0, ANCHOR_Y + 0.05, friction=0.0)
        for i in range(n):
            anchor = (2.0 * (i + 0.5) / n, ANCHOR_Y)
            length = p["length"] * rng.uniform(0.6, 1.0)
            room = min(anchor[0], 2.0 - anchor[0]) - p["size"]  # the bob stays in view
            widest = np.arcsin(min(room / length, 1.0))
            angle = min(exactmath.radians(p["amplitude"]) * rng.uniform(0.5, 1.0), widest) * rng.choice([-1.0, 1.0])
            _pendulum(world, anchor, length, angle, p["size"], p["mass"])
        if p["backdrop"]:
            world.backdrop = Backdrop(seed=int(rng.integers(2**31)))
        return world


class Revisit(Scene):
    """Two regions of a textured world 2 m wide each, ``distance`` apart. Region A has a
    swinging pendulum and static blocks, region B an elastic ball bouncing between two
    walls. The camera watches A for ``dwell`` seconds, pans to B, stays, and pans back to
    A so that it is back ``gap`` seconds after leaving. The actions are the camera
    motion; ``meta.revisit`` records the last frame before leaving and the first frame
    back (``leave_frame``, ``return_frame``)."""

    name = "revisit"
    params = {
        "gap": Bound(10.0, 2.0, 120.0, doc="seconds from leaving region A to being back"),
        "dwell": Bound(2.0, 0.5, 20.0, doc="seconds the camera watches A before leaving"),
        "pan": Bound(1.0, 0.25, 3.0, doc="seconds each pan takes"),
        "distance": Bound(4.0, 2.5, 20.0, doc="metres between the centres of the regions"),
        "zoom": Bound(1.0, 0.5, 2.0, doc="region B is seen zoomed out by this factor"),
        "length": Bound(0.8, 0.3, 2.0, doc="pendulum string length, metres"),
        "amplitude": Bound(30.0, 5.0, 70.0, doc="pendulum release angle, degrees"),
        "size": Bound(0.08, 0.04, 0.12, doc="bob and ball radius, metres"),
        "speed": Bound(1.5, 0.3, 4.0, doc="ball's horizontal speed, m/s"),
        "n_blocks": Bound(3, 0, 6, doc="static blocks on region A's floor"),
        "mass": MASS,
        "gravity": GRAVITY,
    }

    def validate(self) -> None:
        super().validate()
        pan_hi = self.span("pan")[1]
        self.require(self.span("gap")[0] >= 2 * pan_hi + 0.25, "gap",
                     f"must leave time for two pans of {pan_hi} s (>= {2 * pan_hi + 0.25} s)")
        duration = self.task.length / self.task.fps
        end = self.span("dwell")[1] + self.span("gap")[1]
        self.require(end + 1.0 <= duration, "gap",
                     f"the camera would return at {end:.1f} s, less than 1 s before the episode ends "
                     f"({duration:.1f} s); lengthen the horizon or shorten the gap")
        reach = self.span("length")[1] + self.span("size")[1]
        self.require(reach <= ANCHOR_Y - 0.35, "length", f"a bob reaching {reach:.2f} m below the anchor hits the floor")

    def build(self, p: dict[str, Any], rng: Rng) -> World:
        world = self.new_world(p["gravity"])
        world.space.damping = 1.0
        a, b = np.array([1.0, 1.0]), np.array([1.0 + p["distance"], 1.0])
        world.add_static_box(-2.0, -0.5, b[0] + 3.0, FLOOR, elasticity=1.0, friction=0.0)
        world.add_static_box(a[0] - 0.6, ANCHOR_Y, a[0] + 0.6, ANCHOR_Y + 0.05)
        angle = exactmath.radians(p["amplitude"]) * rng.choice([-1.0, 1.0])
        _pendulum(world, (a[0], ANCHOR_Y), p["length"], angle, p["size"], p["mass"])
        for _ in range(int(p["n_blocks"])):
            x, w, h = rng.uniform(0.1, 1.9), rng.uniform(0.08, 0.25), rng.uniform(0.08, 0.3)
            world.scenery.append(np.array([(x - w / 2, FLOOR), (x + w / 2, FLOOR), (x + w / 2, FLOOR + h),
                                           (x - w / 2, FLOOR + h)]))
        for side in (-1, 1):
            x = b[0] + side * 0.9
            world.add_static_box(x - 0.05, FLOOR, x + 0.05, 1.9, elasticity=1.0, friction=0.0)
        ball = world.add_circle(b[0] + rng.uniform(-0.5, 0.5), rng.uniform(0.6, 1.6), p["size"], p["mass"], 1.0, 0.0)
        world.bodies[ball.id - 1].velocity = (p["speed"] * rng.choice([-1.0, 1.0]), 0.0)
        world.backdrop = Backdrop(seed=int(rng.integers(2**31)))

        ppm = world.camera.ppm
        dwell, pan, gap = p["dwell"], p["pan"], p["gap"]
        at_a, at_b = (*a, ppm), (*b, ppm / p["zoom"])
        times = (0.0, dwell, dwell + pan, dwell + gap - pan, dwell + gap)
        world.camera_track = Track(times, (at_a, at_a, at_b, at_b, at_a))
        world.camera_actions = True
        fps = self.task.fps
        leave, back = int(np.floor(dwell * fps + 1e-9)), int(np.ceil((dwell + gap) * fps - 1e-9))
        world.meta["revisit"] = {"leave_frame": leave, "return_frame": back, "gap_s": (back - leave) / fps,
                                 "region_a": a.tolist(), "region_b": b.tolist()}
        return world
