"""Violation of expectation: a possible clip and its impossible twin, identical up to
one violation.

Side view: a ball rolls without slipping along the floor (or a table top), left to
right or right to left, past the scenery its violation needs. The true rollout is the
possible clip. The impossible twin is re-simulated from the seed with an intervention
at the violation (so every frame before it is byte-identical, and what follows is
simulated consistently with what is shown):

* ``vanish``: the ball is removed while fully hidden behind an occluder and never
  comes out (its state is NaN from then on, its visible fraction 0);
* ``teleport``: the ball jumps 0.3-0.5 m along its path, keeping its velocity;
* ``pass_through``: the ball rolls through a wall it would bounce off;
* ``shape_change``: the ball becomes a square of the same area, colour and mass;
* ``colour_change``: the ball takes another palette colour;
* ``wrong_fall``: rolling off a table's edge, the ball falls upwards (gravity reversed
  for it alone).

The event (the ball reaching the occluder's centre, the wall, the table's edge, or the
moment of a jump or change) happens at a frame drawn uniformly from
``[context + 3, context + horizon - 12]``.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any, Callable

import numpy as np
import pymunk

from wmbench.errors import TaskFileError
from wmbench.tasks.params import Choice
from wmbench.worlds.episode import ObjectSpec, Rollout
from wmbench.worlds.exactmath import PI
from wmbench.worlds.render import PALETTE
from wmbench.worlds.rng import Rng
from wmbench.worlds.scenes.base import Bound, Scene, Simulate
from wmbench.worlds.world import World

FLOOR = 0.2  # top of the floor, metres
VIOLATIONS = ("vanish", "teleport", "pass_through", "shape_change", "colour_change", "wrong_fall")
#: Collision category of the wall that ``pass_through`` lets the ball cross.
WALL_CATEGORY = 0b10
EARLIEST, LATEST = 3, 12  # the event's frame: context + EARLIEST ... length - LATEST
HIDDEN_MARGIN = 0.02  # metres between a hidden ball and the occluder's edges


def _reversed_gravity(body: pymunk.Body, gravity: tuple[float, float], damping: float, dt: float) -> None:
    pymunk.Body.update_velocity(body, (-gravity[0], -gravity[1]), damping, dt)


def first_difference(a: Rollout, b: Rollout) -> tuple[int | None, int | None]:
    """The first frame at which any ground-truth array differs, and the first at which
    the pictures differ (``None``: never)."""
    def first(x: np.ndarray, y: np.ndarray) -> int | None:
        same = np.array([np.array_equal(x[t], y[t], equal_nan=x.dtype.kind == "f") for t in range(len(x))])
        return int(np.argmin(same)) if not same.all() else None

    onsets = [first(x, b.arrays()[name]) for name, x in a.arrays().items()]
    found = [t for t in onsets if t is not None]
    return (min(found) if found else None), first(a.frames, b.frames)


class ViolationOfExpectation(Scene):
    """One rolling ball (object 1) and the scenery its violation needs."""

    name = "voe"
    view = 1.5
    centre = (0.75, 0.7)
    params = {
        "violation": Bound("teleport", options=VIOLATIONS, doc="what the impossible twin breaks"),
        "size": Bound(0.1, 0.05, 0.15, doc="ball radius, metres"),
        "speed": Bound(1.0, 0.5, 1.5, doc="rolling speed, m/s"),
        "mass": Bound(1.0, 1e-3, 1e3, doc="kilograms"),
        "restitution": Bound(0.6, 0.0, 1.0, doc="elasticity of ball, wall, table and floor"),
        "friction": Bound(0.6, 0.1, 2.0, doc="Coulomb friction coefficient"),
        "occluder_width": Bound(0.45, 0.3, 0.6, doc="vanish: occluder width, metres"),
        "wall_height": Bound(0.5, 0.3, 1.2, doc="pass_through: wall height above the floor, metres"),
        "table_height": Bound(0.55, 0.3, 0.9, doc="wrong_fall: table top above the floor, metres"),
        "jump": Bound(0.35, 0.2, 0.5, doc="teleport: length of the jump, metres"),
        "gravity": Bound(9.81, 0.1, 50.0, doc="m/s^2, pointing down"),
    }

    def validate(self) -> None:
        """Also check that every violation shows within the clip: the horizon is long
        enough, and behind the occluder the ball is hidden, then comes out in time."""
        super().validate()
        task = self.task
        if task.horizon < EARLIEST + LATEST:
            raise TaskFileError(task.source, "horizon", f"scene '{self.name}' needs at least "
                                f"{EARLIEST + LATEST} frames to show a violation, got {task.horizon}")
        if "vanish" not in self._values("violation"):
            return
        width, size = min(self._values("occluder_width")), max(self._values("size"))
        if width < 2 * size + 2 * HIDDEN_MARGIN:
            raise TaskFileError(task.source, "scene.params.occluder_width", f"{width} m cannot hide a ball of "
                                f"radius {size} m (needs at least {2 * size + 2 * HIDDEN_MARGIN:g})")
        hidden = (max(self._values("occluder_width")) / 2 - min(self._values("size"))) / min(self._values("speed"))
        if hidden * task.fps > LATEST - 2:
            raise TaskFileError(task.source, "scene.params.occluder_width", f"the slowest ball stays hidden "
                                f"{hidden:.2f} s, too long to come out within the clip at {task.fps:g} fps")

    def _values(self, name: str) -> tuple[Any, ...]:
        """The extreme (or every) value the task lets parameter ``name`` take."""
        given = self.task.params.get(name)
        if given is None:
            return (self.params[name].default,)
        return given.options if isinstance(given, Choice) else given.bounds

    def sample(self, rng: Rng) -> dict[str, Any]:
        """The parameters plus the layout: direction of travel (+1 right, -1 left), the
        event's frame, the event's and the start's positions along the path (metres from
        the view's edge; the ball may start outside the view and roll in)."""
        p = super().sample(rng)
        context, length = self.task.context, self.task.length
        event = int(rng.integers(context + EARLIEST, length - LATEST + 1))
        at = float(rng.uniform(0.4, 0.6)) * self.view
        p.update(direction=int(rng.choice([-1, 1])), event_frame=event, event_at=at,
                 start=at - p["speed"] * event / self.task.fps)
        return p

    def _x(self, p: dict[str, Any], u: float) -> float:
        """World x of distance ``u`` along the path (the view's left or right edge is 0)."""
        return self.centre[0] + p["direction"] * (u - self.view / 2)

    def build(self, p: dict[str, Any], rng: Rng) -> World:
        world = self.new_world(p["gravity"])
        e, mu, r = p["restitution"], p["friction"], p["size"]
        world.add_static_box(-2.0, -0.5, 4.0, FLOOR, elasticity=e, friction=mu)
        ground, kind, at = FLOOR, p["violation"], p["event_at"]
        if kind == "vanish":
            a, b = self._x(p, at - p["occluder_width"] / 2), self._x(p, at + p["occluder_width"] / 2)
            top = FLOOR + 2 * r + rng.uniform(0.15, 0.35)
            base = FLOOR - 0.05  # in front of the floor, so no fringe of the ball shows below it
            world.occluders.append(np.array([(a, base), (b, base), (b, top), (a, top)]))
        elif kind == "pass_through":
            near = at + r
            a, b = sorted((self._x(p, near), self._x(p, near + rng.uniform(0.06, 0.12))))
            world.add_static_box(a, FLOOR, b, FLOOR + p["wall_height"], elasticity=e, friction=mu)
            *_, wall = world.space.shapes  # the one just added
            wall.filter = pymunk.ShapeFilter(categories=WALL_CATEGORY)
        elif kind == "wrong_fall":
            ground = FLOOR + p["table_height"]
            a, b = sorted((self._x(p, -2.0), self._x(p, at)))
            world.add_static_box(a, FLOOR, b, ground, elasticity=e, friction=mu)
        spec = world.add_circle(self._x(p, p["start"]), ground + r, r, p["mass"], e, mu)
        body = world.bodies[spec.id - 1]
        body.velocity = (p["direction"] * p["speed"], 0.0)
        body.angular_velocity = -p["direction"] * p["speed"] / r  # rolling without slipping
        return world

    def alternatives(self, p: dict[str, Any], seed: int, truth: Rollout,
                     simulate: Simulate) -> tuple[list[Rollout], dict[str, Any]]:
        """The impossible twin, with ``kind``, ``violation``, ``onset`` (first frame whose
        ground truth differs) and ``visible_onset`` (first frame whose pixels differ)."""
        kind = p["violation"]
        when, intervene, detail = self._intervention(p, seed, truth)

        def control(t: int, world: World) -> None:
            if t == when:
                intervene(world)

        _, twin = simulate(control)
        if kind == "vanish":  # the ball no longer exists
            twin.states[when + 1:, 0] = np.nan
            twin.pixels[when + 1:, 0] = np.nan
        onset, visible_onset = first_difference(truth, twin)
        if onset is None or visible_onset is None or onset < self.task.context:
            raise RuntimeError(f"violation '{kind}' of task '{self.task.name}', seed {seed}: "
                               f"onset {onset}, visible onset {visible_onset}")
        described = {"kind": "impossible", "violation": kind, "onset": onset, "visible_onset": visible_onset,
                     "object": 1, **detail}
        return [twin], {"truth": {"kind": "possible"}, "alternatives": [described]}

    def _intervention(self, p: dict[str, Any], seed: int,
                      truth: Rollout) -> tuple[int, Callable[[World], None], dict[str, Any]]:
        """``(frame, change, details)``: the change is applied to the world after that frame."""
        kind, event, context = p["violation"], p["event_frame"], self.task.context
        rng = Rng(seed, 6)
        if kind == "vanish":
            def vanish(world: World) -> None:
                world.space.remove(world.bodies[0], *world.bodies[0].shapes)
            return event, vanish, {}  # centred behind the occluder, far from its edges
        if kind == "teleport":
            jump = p["jump"] if p["event_at"] + p["jump"] < self.view - p["size"] - 0.05 else -p["jump"]
            dx = p["direction"] * jump

            def teleport(world: World) -> None:
                world.bodies[0].position += (dx, 0.0)
            return event - 1, teleport, {"jump": dx}
        if kind == "pass_through":
            def ghost(world: World) -> None:
                for shape in world.bodies[0].shapes:
                    shape.filter = pymunk.ShapeFilter(mask=pymunk.ShapeFilter.ALL_MASKS() ^ WALL_CATEGORY)
            return context - 1, ghost, {}
        if kind == "wrong_fall":
            edge = self._x(p, p["event_at"])
            past = np.flatnonzero(p["direction"] * (truth.states[context:, 0, 0] - edge) > 0)
            when = context + int(past[0])

            def antigravity(world: World) -> None:
                world.bodies[0].velocity_func = _reversed_gravity
            return when, antigravity, {}
        if kind == "shape_change":
            half = p["size"] * math.sqrt(PI) / 2  # a square of the disc's area
            corners = [(-half, -half), (half, -half), (half, half), (-half, half)]

            def to_square(world: World) -> None:
                body, spec = world.bodies[0], world.objects[0]
                old = next(iter(body.shapes))
                square = pymunk.Poly(body, corners)
                square.elasticity, square.friction = old.elasticity, old.friction
                world.space.remove(old)
                world.space.add(square)
                body.moment = pymunk.moment_for_poly(body.mass, corners)
                world.objects[0] = ObjectSpec(id=1, shape="box", colour=spec.colour, mass=spec.mass,
                                              size=(2 * half, 2 * half), vertices=tuple(corners))
            return event - 1, to_square, {"shape": "box", "size": [2 * half, 2 * half]}
        colour = PALETTE[int(rng.integers(1, len(PALETTE)))]

        def recolour(world: World) -> None:
            world.objects[0] = replace(world.objects[0], colour=colour)
        return event - 1, recolour, {"colour": list(colour)}
