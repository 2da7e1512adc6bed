"""Action-conditioned control: an agent disc, driven by per-frame target velocities,
pushes objects across a walled table seen from above towards a goal.

The table has no gravity in the image plane; sliding friction against the table top is
a force-limited pivot to the static body (``mu * m * g``), so objects slow down and
stop. The action is the agent's target velocity ``(vx, vy)`` in m/s (``A = 2``),
followed with a force of at most ``agent_force`` newtons.

Actions come from a seeded, closed-loop policy: a sequence of pushes (walk to the spot
behind an object, then walk through it in a chosen direction), low-pass filtered with
random jitter. Every episode carries ``alternatives`` other action sequences from the
same start: they replay the true actions during the context and then push the target
object in directions spread evenly around the goal's direction. The outcome of a
rollout is the target's distance to the goal centre at the last frame (metres, lower
is better).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pymunk

from wmbench.worlds.episode import ObjectSpec, Rollout
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
#: The target starts within this distance of the agent, metres.
TARGET_DISTANCE = 0.7


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
    rng: np.random.Generator
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
        """The velocity the current push asks for (before filtering and jitter)."""
        push = self.current()
        agent = np.array(world.bodies[0].position)
        target = np.array(world.bodies[push.target - 1].position)
        reach = _radius(world.objects[push.target - 1]) + _radius(world.objects[0])
        heading = np.array([np.cos(push.direction), np.sin(push.direction)])
        behind = target - heading * (reach + MARGIN)
        if np.linalg.norm(behind - agent) < 2 * MARGIN:
            return heading * self.speed
        offset = behind - agent
        if np.dot(agent - target, heading) > 0:  # in front of the object: go round it
            side = np.array([-heading[1], heading[0]])
            offset = offset + side * (np.sign(np.dot(agent - target, side)) or 1.0) * 2 * reach
        aim = APPROACH_GAIN * offset
        norm = np.linalg.norm(aim)
        return aim if norm <= self.speed else aim * (self.speed / norm)

    def __call__(self, t: int, world: World) -> np.ndarray:
        aim = self.aim(world) + self.rng.normal(0.0, JITTER * self.speed, 2)
        self.velocity = self.velocity + SMOOTHING * (aim - self.velocity)
        norm = np.linalg.norm(self.velocity)
        if norm > self.speed:
            self.velocity = self.velocity * (self.speed / norm)
        self.steps += 1
        return self.velocity.astype(np.float32)


def _radius(obj: ObjectSpec) -> float:
    """Radius of the circle enclosing an object, metres."""
    return obj.size[0] if obj.shape == "circle" else float(np.hypot(*obj.size)) / 2


class TablePush(Scene):
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

    def build(self, p: dict[str, Any], rng: np.random.Generator) -> World:
        world = self.new_world(gravity=0.0)
        lo, hi = WALL, self.view - WALL
        for box in ((0, 0, self.view, lo), (0, hi, self.view, self.view), (0, 0, lo, self.view),
                    (hi, 0, self.view, self.view)):
            world.add_static_box(*box, elasticity=0.3, friction=0.5)
        goal = np.array([p["goal_x"], p["goal_y"]])
        half = p["goal_size"] / 2
        for x0, y0, x1, y1 in ((-half, -half, half, -half + GOAL_LINE), (-half, half - GOAL_LINE, half, half),
                               (-half, -half, -half + GOAL_LINE, half), (half - GOAL_LINE, -half, half, half)):
            world.scenery.append(np.array([(x0, y0), (x1, y0), (x1, y1), (x0, y1)]) + goal)
        placed: list[tuple[np.ndarray, float]] = []
        agent_xy = self._free_spot(rng, p["agent_size"], placed)
        world.add_agent(*agent_xy, p["agent_size"], mass=2.0, max_force=p["agent_force"])
        for i in range(int(p["n_objects"])):
            size = p["size"] * rng.uniform(0.8, 1.2)
            kind = p["shape"] if p["shape"] != "mixed" else ("circle", "box")[int(rng.integers(2))]
            reach = size * (np.sqrt(2) if kind == "box" else 1.0)
            x, y = self._free_spot(rng, reach, placed, near=np.array(agent_xy) if i == 0 else None)
            if kind == "circle":
                spec = world.add_circle(x, y, size, p["mass"], 0.3, 0.5)
            else:
                spec = world.add_box(x, y, 2 * size, 2 * size, p["mass"], rng.uniform(0, np.pi / 2), 0.3, 0.5)
            self._table_friction(world, world.bodies[spec.id - 1], p["friction"], size)
        return world

    def _free_spot(self, rng: np.random.Generator, reach: float, placed: list[tuple[np.ndarray, float]],
                   near: np.ndarray | None = None) -> tuple[float, float]:
        """A random centre on the table clear of the walls and of what is already placed
        (and within :data:`TARGET_DISTANCE` of ``near``, if given)."""
        lo, hi = WALL + reach + 0.02, self.view - WALL - reach - 0.02
        for _ in range(500):
            xy = rng.uniform(lo, hi, 2)
            if (all(np.linalg.norm(xy - other) > reach + r + 0.05 for other, r in placed)
                    and (near is None or np.linalg.norm(xy - near) < TARGET_DISTANCE)):
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

    def policy(self, p: dict[str, Any], seed: int) -> Control:
        """Random pushes of random objects in random directions; the first is of the target."""
        rng = np.random.default_rng([seed, 3])
        plan, total = [], 0
        while total < self.task.length:
            frames = max(2, int(round(rng.exponential(p["push_seconds"]) * self.task.fps)))
            if not plan:  # the target, until after the context
                frames = max(frames, self.task.context + int(self.task.fps) // 2)
            target = 2 if not plan else int(rng.integers(2, int(p["n_objects"]) + 2))
            plan.append(Push(target, float(rng.uniform(-np.pi, np.pi)), frames))
            total += frames
        return PushPolicy(speed=p["agent_speed"], plan=plan, rng=np.random.default_rng([seed, 4]))

    def alternatives(self, p: dict[str, Any], seed: int, truth: Rollout,
                     simulate: Simulate) -> tuple[list[Rollout], dict[str, Any]]:
        """``alternatives`` action sequences that share the context's actions, then push the
        target in directions spread evenly around its direction to the goal."""
        goal = np.array([p["goal_x"], p["goal_y"]])
        split = self.task.context - 1  # actions[split] is the first to act after the context
        towards = float(np.arctan2(*(goal - truth.states[split, 1, :2])[::-1]))
        count = int(p["alternatives"])
        shared = replay(truth.actions)
        rollouts, described = [], []
        for k in range(count):
            direction = float(np.angle(np.exp(1j * (towards + 2 * np.pi * k / count))))
            last = truth.actions[split - 1].astype(np.float64) if split else np.zeros(2)
            push = PushPolicy(speed=p["agent_speed"], plan=[Push(2, direction, self.task.length)],
                              rng=np.random.default_rng([seed, 5, k]), velocity=last)
            _, rollout = simulate(lambda t, w, push=push: shared(t, w) if t < split else push(t, w))
            rollouts.append(rollout)
            described.append({"kind": "actions", "policy": "push", "object": 2, "direction": direction,
                              "diverges": split})

        def outcome(rollout: Rollout) -> float:
            return float(np.linalg.norm(rollout.states[-1, 1, :2] - goal))

        meta = {
            "agent": 1, "target": 2, "goal": [float(goal[0]), float(goal[1])],
            "actions": {"kind": "target_velocity", "unit": "m/s", "dims": ["vx", "vy"]},
            "truth": {"kind": "actions", "policy": "random_pushes"},
            "alternatives": described,
            "outcome": {"name": "target_goal_distance", "unit": "m", "higher_is_better": False,
                        "truth": outcome(truth), "alternatives": [outcome(r) for r in rollouts]},
        }
        return rollouts, meta
