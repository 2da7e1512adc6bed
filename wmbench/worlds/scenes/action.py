"""Action-conditioned control: an agent disc, driven by per-frame target velocities,
pushes objects towards a goal.

The action is the agent's target velocity ``(vx, vy)`` in m/s (``A = 2``), followed
with a force of at most ``agent_force`` newtons. Two scenes: ``push``, a walled table
seen from above (no gravity in the image plane; sliding friction against the table top
is a force-limited pivot to the static body, ``mu m g``, so objects slow down and
stop), and ``push_side``, a side view with gravity where balls roll and tall boxes
slide or topple (the agent's drive holds it against gravity).

Actions come from a seeded, closed-loop policy: a sequence of pushes (walk to the spot
behind an object, then through it in a chosen direction), low-pass filtered with random
jitter. Every episode carries ``alternatives`` other action sequences from the same
start: they replay the true actions during the context, then push the target (object
2) in directions the scene spreads around the goal's direction. The outcome of a
rollout is the target's distance to the goal at the last frame (metres, lower is
better; horizontal only in the side view).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pymunk

from wmbench.worlds import exactmath
from wmbench.worlds.episode import ObjectSpec, Rollout
from wmbench.worlds.rng import Rng
from wmbench.worlds.scenes.base import Bound, Scene, Simulate
from wmbench.worlds.world import Control, World, replay

TABLE_G = 9.81  # m/s^2, pressing objects onto the table (friction only)
WALL = 0.06  # wall thickness, metres
GOAL_LINE = 0.025  # width of the goal square's outline, metres
#: Policy constants: how quickly the velocity follows its aim (per frame), the jitter
#: (fraction of top speed), the contact margin behind an object and the gain of the approach.
SMOOTHING = 0.45
JITTER = 0.15
MARGIN = 0.04
APPROACH_GAIN = 4.0
LINED_UP = 0.5  # pushing while within this fraction of the object's radius of the push line
#: The target starts within this distance of the agent, metres.
TARGET_DISTANCE = 0.7
AGENT_MASS = 2.0  # kilograms
FLOOR = 0.2  # side view: top of the floor, metres
POST_WIDTH, POST_HEIGHT = 0.02, 0.12  # side view: the goal posts, metres


@dataclass
class Push:
    """One push: bring the agent behind object ``target`` (1-based id) and walk through it
    along ``direction`` (radians) for ``frames`` frames."""

    target: int
    direction: float
    frames: int


@dataclass
class PushPolicy:
    """A closed-loop policy over a list of pushes; call it as a :data:`Control`.

    ``velocity`` is the filtered target velocity it starts from (the last action)."""

    speed: float
    plan: list[Push]
    rng: Rng
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(2))
    steps: int = 0

    def current(self) -> Push:
        elapsed = self.steps
        for push in self.plan:
            if elapsed < push.frames:
                return push
            elapsed -= push.frames
        return self.plan[-1]

    def aim(self, world: World) -> np.ndarray:
        """The velocity the current push asks for (before filtering and jitter): through
        the object along the push when lined up behind it, else towards the spot behind it."""
        push = self.current()
        agent = np.array(world.bodies[0].position)
        target = np.array(world.bodies[push.target - 1].position)
        size = _radius(world.objects[push.target - 1])
        reach = size + _radius(world.objects[0])
        heading = np.array([exactmath.cos(push.direction), exactmath.sin(push.direction)])
        side = np.array([-heading[1], heading[0]])
        along, lateral = _dot(agent - target, heading), _dot(agent - target, side)
        if -reach - 2 * MARGIN < along < 0 and abs(lateral) < LINED_UP * size:
            return heading * self.speed - side * lateral * APPROACH_GAIN
        offset = target - heading * (reach + MARGIN) - agent
        if along > 0:  # in front of the object: go round it
            offset = offset + side * (np.sign(lateral) or 1.0) * 2 * reach
        aim = APPROACH_GAIN * offset
        norm = _norm(aim)
        return aim if norm <= self.speed else aim * (self.speed / norm)

    def __call__(self, t: int, world: World) -> np.ndarray:
        aim = self.aim(world) + self.rng.normal(0.0, JITTER * self.speed, 2)
        self.velocity = self.velocity + SMOOTHING * (aim - self.velocity)
        norm = _norm(self.velocity)
        if norm > self.speed:
            self.velocity = self.velocity * (self.speed / norm)
        self.steps += 1
        return self.velocity.astype(np.float32)


def _dot(a: np.ndarray, b: np.ndarray) -> float:
    """``a . b`` of two 2-vectors, in a fixed order (no BLAS)."""
    return float(a[0] * b[0] + a[1] * b[1])


def _norm(v: np.ndarray) -> float:
    return exactmath.hypot(float(v[0]), float(v[1]))


def _radius(obj: ObjectSpec) -> float:
    """Radius of the circle enclosing an object, metres."""
    return obj.size[0] if obj.shape == "circle" else exactmath.hypot(*obj.size) / 2


class PushScene(Scene):
    """What the push scenes share: the agent is object 1 and the target object 2; the
    true policy, the alternatives and their outcomes. Subclasses build the world and say
    how pushes are aimed and what the outcome is."""

    #: Name of :meth:`outcome` in the metadata.
    outcome_name: ClassVar[str] = "target_goal_distance"

    def goal(self, p: dict[str, Any]) -> np.ndarray:
        raise NotImplementedError

    def outcome(self, p: dict[str, Any], rollout: Rollout) -> float:
        """How far the target ends from the goal, metres (lower is better)."""
        raise NotImplementedError

    def random_direction(self, rng: Rng) -> float:
        """The direction of one push of the true policy, radians."""
        raise NotImplementedError

    def alternative_directions(self, p: dict[str, Any], target: np.ndarray, count: int) -> list[float]:
        """The push directions of the alternatives, given the target's position after the context."""
        raise NotImplementedError

    def policy(self, p: dict[str, Any], seed: int) -> Control:
        """Random pushes of random objects in random directions; the first is of the target."""
        rng = Rng(seed, 3)
        plan, total = [], 0
        while total < self.task.length:
            frames = max(2, int(round(rng.exponential(p["push_seconds"]) * self.task.fps)))
            if not plan:  # the target, until after the context
                frames = max(frames, self.task.context + int(self.task.fps) // 2)
            target = 2 if not plan else int(rng.integers(2, int(p["n_objects"]) + 2))
            plan.append(Push(target, self.random_direction(rng), frames))
            total += frames
        return PushPolicy(speed=p["agent_speed"], plan=plan, rng=Rng(seed, 4))

    def alternatives(self, p: dict[str, Any], seed: int, truth: Rollout,
                     simulate: Simulate) -> tuple[list[Rollout], dict[str, Any]]:
        """``alternatives`` action sequences that share the context's actions, then push the
        target in the directions of :meth:`alternative_directions`."""
        split = self.task.context - 1  # actions[split] is the first to act after the context
        directions = self.alternative_directions(p, truth.states[split, 1, :2], int(p["alternatives"]))
        shared = replay(truth.actions)
        rollouts, described = [], []
        for k, direction in enumerate(directions):
            last = truth.actions[split - 1].astype(np.float64) if split else np.zeros(2)
            push = PushPolicy(speed=p["agent_speed"], plan=[Push(2, direction, self.task.length)],
                              rng=Rng(seed, 5, k), velocity=last)
            _, rollout = simulate(lambda t, w, push=push: shared(t, w) if t < split else push(t, w))
            rollouts.append(rollout)
            described.append({"kind": "actions", "policy": "push", "object": 2, "direction": direction,
                              "diverges": split})

        meta = {
            "agent": 1, "target": 2, "goal": [float(v) for v in self.goal(p)],
            "actions": {"kind": "target_velocity", "unit": "m/s", "dims": ["vx", "vy"]},
            "truth": {"kind": "actions", "policy": "random_pushes"},
            "alternatives": described,
            "outcome": {"name": self.outcome_name, "unit": "m", "higher_is_better": False,
                        "truth": self.outcome(p, truth), "alternatives": [self.outcome(p, r) for r in rollouts]},
        }
        return rollouts, meta


class TablePush(PushScene):
    """A walled table seen from above: the agent (object 1), the target (object 2), other
    objects and a goal square drawn on the table."""

    name = "push"
    view = 2.0
    centre = (1.0, 1.0)
    params = {
        "n_objects": Bound(1, 1, 6, doc="objects besides the agent; object 2 is the target"),
        "shape": Bound("circle", options=("circle", "box", "mixed"), doc="object shapes"),
        "size": Bound(0.12, 0.05, 0.25, doc="circle radius or half box side, metres"),
        "mass": Bound(1.0, 0.05, 20.0, doc="object mass, kilograms"),
        "friction": Bound(0.4, 0.05, 1.5, doc="sliding friction coefficient against the table"),
        "agent_size": Bound(0.1, 0.04, 0.2, doc="agent radius, metres"),
        "agent_speed": Bound(0.8, 0.1, 2.0, doc="top target speed, m/s"),
        "agent_force": Bound(60.0, 1.0, 500.0, doc="largest force the agent applies, newtons"),
        "push_seconds": Bound(1.0, 0.2, 5.0, doc="mean duration of one push of the true policy, s"),
        "goal_size": Bound(0.35, 0.1, 0.8, doc="side of the goal square, metres"),
        "goal_x": Bound(1.0, 0.0, 2.0, doc="goal centre, metres from the left edge"),
        "goal_y": Bound(1.0, 0.0, 2.0, doc="goal centre, metres from the bottom edge"),
        "alternatives": Bound(4, 1, 16, doc="alternative action sequences per episode"),
    }

    def build(self, p: dict[str, Any], rng: Rng) -> World:
        world = self.new_world(gravity=0.0)
        lo, hi = WALL, self.view - WALL
        for box in ((0, 0, self.view, lo), (0, hi, self.view, self.view), (0, 0, lo, self.view),
                    (hi, 0, self.view, self.view)):
            world.add_static_box(*box, elasticity=0.3, friction=0.5)
        goal = self.goal(p)
        half = p["goal_size"] / 2
        for x0, y0, x1, y1 in ((-half, -half, half, -half + GOAL_LINE), (-half, half - GOAL_LINE, half, half),
                               (-half, -half, -half + GOAL_LINE, half), (half - GOAL_LINE, -half, half, half)):
            world.scenery.append(np.array([(x0, y0), (x1, y0), (x1, y1), (x0, y1)]) + goal)
        placed: list[tuple[np.ndarray, float]] = []
        agent_xy = self._free_spot(rng, p["agent_size"], placed)
        world.add_agent(*agent_xy, p["agent_size"], mass=AGENT_MASS, max_force=p["agent_force"])
        for i in range(int(p["n_objects"])):
            size = p["size"] * rng.uniform(0.8, 1.2)
            kind = p["shape"] if p["shape"] != "mixed" else ("circle", "box")[int(rng.integers(2))]
            reach = size * (np.sqrt(2) if kind == "box" else 1.0)
            x, y = self._free_spot(rng, reach, placed, near=np.array(agent_xy) if i == 0 else None)
            if kind == "circle":
                spec = world.add_circle(x, y, size, p["mass"], 0.3, 0.5)
            else:
                spec = world.add_box(x, y, 2 * size, 2 * size, p["mass"], rng.uniform(0, exactmath.PI / 2), 0.3, 0.5)
            self._table_friction(world, world.bodies[spec.id - 1], p["friction"], size)
        return world

    def _free_spot(self, rng: Rng, reach: float, placed: list[tuple[np.ndarray, float]],
                   near: np.ndarray | None = None) -> tuple[float, float]:
        """A random centre on the table clear of the walls and of what is already placed
        (and within :data:`TARGET_DISTANCE` of ``near``, if given)."""
        lo, hi = WALL + reach + 0.02, self.view - WALL - reach - 0.02
        for _ in range(500):
            xy = rng.uniform(lo, hi, 2)
            if (all(_norm(xy - other) > reach + r + 0.05 for other, r in placed)
                    and (near is None or _norm(xy - near) < TARGET_DISTANCE)):
                break
        placed.append((xy, reach))
        return float(xy[0]), float(xy[1])

    @staticmethod
    def _table_friction(world: World, body: pymunk.Body, mu: float, size: float) -> None:
        """Coulomb friction against the table: force ``mu m g`` and torque ``mu m g size / 2``."""
        static = world.space.static_body
        slide = pymunk.PivotJoint(static, body, (0.0, 0.0), (0.0, 0.0))
        spin = pymunk.GearJoint(static, body, 0.0, 1.0)
        force = mu * body.mass * TABLE_G
        for joint, limit in ((slide, force), (spin, force * size / 2)):
            joint.max_bias, joint.max_force = 0.0, limit
        world.space.add(slide, spin)

    def goal(self, p: dict[str, Any]) -> np.ndarray:
        return np.array([p["goal_x"], p["goal_y"]])

    def outcome(self, p: dict[str, Any], rollout: Rollout) -> float:
        """The target's distance to the goal centre at the last frame."""
        return _norm(rollout.states[-1, 1, :2] - self.goal(p))

    def random_direction(self, rng: Rng) -> float:
        return float(rng.uniform(-exactmath.PI, exactmath.PI))

    def alternative_directions(self, p: dict[str, Any], target: np.ndarray, count: int) -> list[float]:
        """Spread evenly around the direction from the target to the goal (that one first)."""
        dx, dy = self.goal(p) - target
        towards = exactmath.atan2(float(dy), float(dx))
        return [exactmath.wrap_angle(towards + 2 * exactmath.PI * k / count) for k in range(count)]


class FloorPush(PushScene):
    """A side view with gravity: objects (balls, and boxes up to ``aspect`` times as tall
    as wide, which topple) stand on a floor between two walls; the agent (object 1) moves
    freely, its drive holding it against gravity, and shoves them. The goal is a pair of
    posts on the floor (scenery without collisions); the outcome is the target's
    horizontal distance to the goal's centre at the last frame."""

    name = "push_side"
    view = 1.2
    centre = (0.6, 0.55)
    outcome_name = "target_goal_distance_x"
    params = {
        "n_objects": Bound(1, 1, 5, doc="objects besides the agent; object 2 is the target"),
        "shape": Bound("box", options=("circle", "box", "mixed"), doc="object shapes"),
        "size": Bound(0.06, 0.03, 0.12, doc="circle radius or half box width, metres"),
        "aspect": Bound(2.0, 0.5, 4.0, doc="box height over width"),
        "mass": Bound(1.0, 0.05, 20.0, doc="object mass, kilograms"),
        "friction": Bound(0.6, 0.05, 1.5, doc="Coulomb friction coefficient of objects and floor"),
        "restitution": Bound(0.2, 0.0, 0.9, doc="elasticity of objects, floor and walls"),
        "gravity": Bound(9.81, 0.1, 20.0, doc="m/s^2, pointing down"),
        "agent_size": Bound(0.06, 0.03, 0.15, doc="agent radius, metres"),
        "agent_speed": Bound(0.8, 0.1, 2.0, doc="top target speed, m/s"),
        "agent_force": Bound(80.0, AGENT_MASS * 20.0 + 5.0, 500.0,
                             doc="largest force the agent applies, newtons (more than its weight)"),
        "push_seconds": Bound(1.0, 0.2, 5.0, doc="mean duration of one push of the true policy, s"),
        "goal_size": Bound(0.3, 0.1, 0.6, doc="distance between the goal posts, metres"),
        "goal_x": Bound(0.6, 0.0, 1.2, doc="goal centre, metres from the left edge"),
        "alternatives": Bound(4, 1, 16, doc="alternative action sequences per episode"),
    }

    def build(self, p: dict[str, Any], rng: Rng) -> World:
        world = self.new_world(p["gravity"])
        e, mu, lo, hi = p["restitution"], p["friction"], WALL, self.view - WALL
        world.add_static_box(-1.0, -0.5, self.view + 1.0, FLOOR, elasticity=e, friction=mu)
        world.add_static_box(-0.5, FLOOR, lo, 3.0, elasticity=e, friction=mu)
        world.add_static_box(hi, FLOOR, self.view + 0.5, 3.0, elasticity=e, friction=mu)
        for post in (p["goal_x"] - p["goal_size"] / 2, p["goal_x"] + p["goal_size"] / 2):
            world.scenery.append(np.array([(post - POST_WIDTH / 2, FLOOR), (post + POST_WIDTH / 2, FLOOR),
                                           (post + POST_WIDTH / 2, FLOOR + POST_HEIGHT),
                                           (post - POST_WIDTH / 2, FLOOR + POST_HEIGHT)]))
        n = int(p["n_objects"])
        shapes = [p["shape"] if p["shape"] != "mixed" else ("circle", "box")[int(rng.integers(2))] for _ in range(n)]
        widths = [p["size"] * rng.uniform(0.8, 1.2) for _ in range(n)]
        # the objects stand in a random order in random gaps along the floor
        free = hi - lo - sum(2 * w for w in widths) - 0.04 * (n + 1)
        gaps = rng.dirichlet(n + 1) * max(free, 0.0)
        x, placed = lo + 0.04, []
        for i in range(n):
            x += gaps[i] + widths[i]
            placed.append(x)
            x += widths[i] + 0.04
        target = int(np.argmin(np.abs(np.array(placed) - self.view / 2)))  # away from the walls
        order = [target] + [i for i in range(n) if i != target]
        tx = placed[target]
        agent_x = float(np.clip(tx + rng.choice([-1, 1]) * rng.uniform(0.15, TARGET_DISTANCE / 2),
                                lo + p["agent_size"] + 0.02, hi - p["agent_size"] - 0.02))
        world.add_agent(agent_x, FLOOR + rng.uniform(0.3, 0.55), p["agent_size"], mass=AGENT_MASS,
                        max_force=p["agent_force"], elasticity=e, friction=mu)
        for i in order:
            w = widths[i]
            if shapes[i] == "circle":
                world.add_circle(placed[i], FLOOR + w, w, p["mass"], e, mu)
            else:
                h = 2 * w * p["aspect"] * rng.uniform(0.85, 1.15)
                world.add_box(placed[i], FLOOR + h / 2, 2 * w, h, p["mass"], 0.0, e, mu)
        return world

    def goal(self, p: dict[str, Any]) -> np.ndarray:
        return np.array([p["goal_x"], FLOOR])

    def outcome(self, p: dict[str, Any], rollout: Rollout) -> float:
        """The target's horizontal distance to the goal centre at the last frame."""
        return float(abs(rollout.states[-1, 1, 0] - p["goal_x"]))

    def random_direction(self, rng: Rng) -> float:
        """Left or right, level or slanting down (up to 0.6 rad) onto the object."""
        elevation = float(rng.uniform(-0.6, 0.1))
        return elevation if rng.random() < 0.5 else exactmath.PI - elevation

    def alternative_directions(self, p: dict[str, Any], target: np.ndarray, count: int) -> list[float]:
        """Towards the goal and away from it in turn (towards first), from level to
        slanting down by 0.6 rad."""
        towards = 1.0 if p["goal_x"] >= target[0] else -1.0
        steps = (count + 1) // 2
        elevations = [0.0 - 0.6 * i / max(steps - 1, 1) for i in range(steps)]
        directions = []
        for k in range(count):
            side, elevation = (towards if k % 2 == 0 else -towards), float(elevations[k // 2])
            directions.append(elevation if side > 0 else exactmath.PI - elevation)
        return directions
