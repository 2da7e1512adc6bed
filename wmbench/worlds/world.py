"""A physics world on pymunk (Chipmunk2D), stepped at a fixed rate and rendered per frame."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pymunk

from wmbench.worlds.episode import ObjectSpec, Rollout
from wmbench.worlds.render import PALETTE, Camera, render

#: Physics steps per second of scene time, whatever the render fps.
SIM_HZ = 240

#: A per-frame hook of :meth:`World.rollout`: called with frame index ``t`` and the world
#: after frame ``t`` is recorded, before stepping to ``t + 1``. It may change the world
#: (an intervention) and returns the action to apply until the next frame, or ``None``.
Control = Callable[[int, "World"], "np.ndarray | None"]


def replay(actions: np.ndarray) -> Control:
    """A control that applies recorded ``actions[t]`` between frames ``t`` and ``t + 1``."""
    return lambda t, world: actions[t]


@dataclass
class World:
    """A pymunk space with the objects to track, static scenery, occluders and a camera."""

    camera: Camera
    gravity: float = 9.81
    space: pymunk.Space = field(default_factory=pymunk.Space)
    objects: list[ObjectSpec] = field(default_factory=list)
    bodies: list[pymunk.Body] = field(default_factory=list)
    scenery: list[np.ndarray] = field(default_factory=list)
    occluders: list[np.ndarray] = field(default_factory=list)
    #: Kinematic body whose velocity the agent follows (see :meth:`add_agent`), if any.
    agent: pymunk.Body | None = None

    def __post_init__(self) -> None:
        self.space.gravity = (0.0, -self.gravity)

    def _track(self, body: pymunk.Body, shape: pymunk.Shape, spec: ObjectSpec,
               elasticity: float, friction: float) -> ObjectSpec:
        shape.elasticity, shape.friction = elasticity, friction
        self.space.add(body, shape)
        self.objects.append(spec)
        self.bodies.append(body)
        return spec

    def _next_colour(self) -> tuple[int, int, int]:
        return PALETTE[len(self.objects) % len(PALETTE)]

    def add_circle(self, x: float, y: float, radius: float, mass: float,
                   elasticity: float = 0.5, friction: float = 0.5) -> ObjectSpec:
        body = pymunk.Body(mass, pymunk.moment_for_circle(mass, 0, radius))
        body.position = (x, y)
        spec = ObjectSpec(id=len(self.objects) + 1, shape="circle", colour=self._next_colour(),
                          mass=mass, size=(radius,))
        return self._track(body, pymunk.Circle(body, radius), spec, elasticity, friction)

    def add_polygon(self, x: float, y: float, vertices: list[tuple[float, float]], mass: float,
                    angle: float = 0.0, elasticity: float = 0.5, friction: float = 0.5,
                    shape: str = "polygon") -> ObjectSpec:
        body = pymunk.Body(mass, pymunk.moment_for_poly(mass, vertices))
        body.position, body.angle = (x, y), angle
        xs, ys = zip(*vertices)
        spec = ObjectSpec(id=len(self.objects) + 1, shape=shape, colour=self._next_colour(), mass=mass,
                          size=(max(xs) - min(xs), max(ys) - min(ys)),
                          vertices=tuple((float(a), float(b)) for a, b in vertices))
        return self._track(body, pymunk.Poly(body, vertices), spec, elasticity, friction)

    def add_box(self, x: float, y: float, width: float, height: float, mass: float,
                angle: float = 0.0, elasticity: float = 0.5, friction: float = 0.5) -> ObjectSpec:
        w, h = width / 2, height / 2
        return self.add_polygon(x, y, [(-w, -h), (w, -h), (w, h), (-w, h)], mass, angle,
                                elasticity, friction, shape="box")

    def add_static_box(self, x0: float, y0: float, x1: float, y1: float,
                       elasticity: float = 1.0, friction: float = 0.5, visible: bool = True) -> None:
        """An immovable axis-aligned box (floor, wall), drawn as scenery when visible."""
        corners = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
        shape = pymunk.Poly(self.space.static_body, corners)
        shape.elasticity, shape.friction = elasticity, friction
        self.space.add(shape)
        if visible:
            self.scenery.append(np.array(corners, dtype=np.float64))

    def add_agent(self, x: float, y: float, radius: float, mass: float, max_force: float,
                  elasticity: float = 0.2, friction: float = 0.8) -> ObjectSpec:
        """A tracked circle that follows a target velocity (the action) with a force of at
        most ``max_force`` newtons, and resists spinning; see :meth:`act`."""
        spec = self.add_circle(x, y, radius, mass, elasticity, friction)
        self.agent = pymunk.Body(body_type=pymunk.Body.KINEMATIC)
        self.agent.position = (x, y)
        drive = pymunk.PivotJoint(self.agent, self.bodies[-1], (0.0, 0.0), (0.0, 0.0))
        steady = pymunk.GearJoint(self.agent, self.bodies[-1], 0.0, 1.0)
        for joint, limit in ((drive, max_force), (steady, max_force * radius)):
            joint.max_bias, joint.max_force = 0.0, limit
        self.space.add(self.agent, drive, steady)
        return spec

    def act(self, action: np.ndarray) -> None:
        """Apply an action until the next frame: the agent's target velocity ``(vx, vy)``, m/s."""
        if self.agent is None:
            raise ValueError("this world has no agent to act")
        self.agent.velocity = (float(action[0]), float(action[1]))

    def state(self) -> np.ndarray:
        """``(N, 6)``: ``x, y, angle, vx, vy, omega`` of every tracked body."""
        return np.array([(b.position.x, b.position.y, b.angle, b.velocity.x, b.velocity.y,
                          b.angular_velocity) for b in self.bodies], dtype=np.float64).reshape(-1, 6)

    def perturb(self, rng: np.random.Generator, position_px: float, velocity_px_per_frame: float,
                fps: float) -> None:
        """Nudge every body's initial state by Gaussian noise given in pixels (and per frame)."""
        for body in self.bodies:
            body.position += tuple(rng.normal(0.0, position_px / self.camera.ppm, 2))
            body.velocity += tuple(rng.normal(0.0, velocity_px_per_frame * fps / self.camera.ppm, 2))

    def rollout(self, frames: int, fps: float, control: Control | None = None) -> Rollout:
        """Simulate and render ``frames`` frames at ``fps``, stepping physics at :data:`SIM_HZ`.

        ``control`` is called between frames (see :data:`Control`); the actions it returns
        are applied with :meth:`act` and recorded as ``float32 (frames - 1, A)``.
        """
        substeps = SIM_HZ // int(fps)
        dt = 1.0 / SIM_HZ
        n, size = len(self.bodies), self.camera.resolution
        images = np.empty((frames, size, size, 3), np.uint8)
        ids = np.empty((frames, size, size), np.uint8)
        states = np.empty((frames, n, 6), np.float64)
        visibility = np.empty((frames, n), np.float32)
        actions: list[np.ndarray] = []
        for t in range(frames):
            if t:
                action = control(t - 1, self) if control is not None else None
                if action is not None:
                    self.act(action)
                    actions.append(np.asarray(action, np.float32))
                for _ in range(substeps):
                    self.space.step(dt)
            states[t] = self.state()
            images[t], ids[t], visibility[t] = render(self.objects, states[t], self.camera,
                                                     self.scenery, self.occluders)
        pixels = self.camera.to_pixels(states[..., :2]).astype(np.float32)
        if actions and len(actions) != frames - 1:
            raise ValueError(f"control returned {len(actions)} actions for {frames - 1} steps; all or none")
        return Rollout(frames=images, instance_ids=ids, states=states, pixels=pixels, visibility=visibility,
                       actions=np.stack(actions) if actions else None)
