"""A physics world on pymunk (Chipmunk2D), stepped at a fixed rate and rendered per frame."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np
import pymunk

from wmbench.worlds import exactmath
from wmbench.worlds.episode import ObjectSpec, Rollout
from wmbench.worlds.render import PALETTE, Backdrop, Camera, render
from wmbench.worlds.rng import Rng

if TYPE_CHECKING:
    from wmbench.worlds.episode import Episode

#: Physics steps per second of scene time, whatever the render fps.
SIM_HZ = 240

#: A per-frame hook of :meth:`World.rollout`: called with frame index ``t`` and the world
#: after frame ``t`` is recorded, before stepping to ``t + 1``. It may change the world
#: (an intervention) and returns the action to apply until the next frame, or ``None``.
Control = Callable[[int, "World"], "np.ndarray | None"]


def replay(actions: np.ndarray) -> Control:
    """A control that applies recorded ``actions[t]`` between frames ``t`` and ``t + 1``."""
    return lambda t, world: actions[t]


@dataclass(frozen=True)
class Track:
    """Piecewise-linear keyframes: ``values[k]`` at ``times[k]`` seconds, held outside."""

    times: tuple[float, ...]
    values: tuple[tuple[float, ...], ...]

    def __post_init__(self) -> None:
        if len(self.times) != len(self.values) or not self.times:
            raise ValueError("a track needs as many values as times, at least one")
        if any(b < a for a, b in zip(self.times, self.times[1:])):
            raise ValueError("track times must not decrease")

    @classmethod
    def still(cls, *value: float) -> "Track":
        return cls((0.0,), (tuple(float(v) for v in value),))

    def at(self, time: float | np.ndarray) -> np.ndarray:
        """Values at ``time`` (seconds): ``(D,)``, or ``(T, D)`` for an array of times."""
        values = np.asarray(self.values, np.float64)
        times = np.asarray(self.times, np.float64)
        return np.stack([np.asarray(exactmath.interp(time, times, values[:, d]))
                         for d in range(values.shape[1])], axis=-1)

    def describe(self) -> dict[str, Any]:
        return {"times": list(self.times), "values": [list(v) for v in self.values]}

    @classmethod
    def from_meta(cls, data: dict[str, Any]) -> "Track":
        return cls(tuple(data["times"]), tuple(tuple(v) for v in data["values"]))


@dataclass
class Occluder:
    """A flat shape drawn in front of every object; it moves along ``track`` (x, y)."""

    vertices: np.ndarray  # (K, 2), metres, relative to the track position
    track: Track

    def polygon(self, time: float) -> np.ndarray:
        return self.vertices + self.track.at(time)

    def describe(self) -> dict[str, Any]:
        return {"vertices": self.vertices.tolist(), "track": self.track.describe()}

    @classmethod
    def from_meta(cls, data: dict[str, Any]) -> "Occluder":
        """Inverse of :meth:`describe`; a bare ``vertices`` entry is a static world-space polygon."""
        track = Track.from_meta(data["track"]) if "track" in data else Track.still(0.0, 0.0)
        return cls(np.asarray(data["vertices"], np.float64), track)


def _spin_damping(rate: float) -> Callable[[pymunk.Body, tuple[float, float], float, float], None]:
    """A pymunk velocity update that also decays the angular velocity at ``rate`` per second."""
    decay: dict[float, float] = {}  # per step length, computed once

    def update(body: pymunk.Body, gravity: tuple[float, float], damping: float, dt: float) -> None:
        pymunk.Body.update_velocity(body, gravity, damping, dt)
        if dt not in decay:
            decay[dt] = exactmath.exp(-rate * dt)
        body.angular_velocity *= decay[dt]

    return update


@dataclass
class World:
    """A pymunk space with the objects to track, static scenery, occluders and a camera.

    ``camera`` is the view at time 0; ``camera_track`` (keyframes of ``cx, cy, ppm``),
    when set, moves it during the rollout. ``occluders`` holds static world-space
    polygons or :class:`Occluder` objects that move. ``backdrop`` draws a static
    texture behind everything. ``tethers`` are ``(anchor_xy, object_index)`` lines drawn
    behind objects (pendulum strings). With ``camera_actions`` the rollout's actions are
    the camera motion (see :meth:`rollout`). ``meta`` is copied into the episode.
    """

    camera: Camera
    gravity: float = 9.81
    space: pymunk.Space = field(default_factory=pymunk.Space)
    objects: list[ObjectSpec] = field(default_factory=list)
    bodies: list[pymunk.Body] = field(default_factory=list)
    scenery: list[np.ndarray] = field(default_factory=list)
    occluders: list[np.ndarray | Occluder] = field(default_factory=list)
    backdrop: Backdrop | None = None
    camera_track: Track | None = None
    camera_actions: bool = False
    tethers: list[tuple[tuple[float, float], int]] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    #: Kinematic body whose velocity the agent follows (see :meth:`add_agent`), if any.
    agent: pymunk.Body | None = None
    #: Joints that hold objects with Coulomb friction against a table seen from above
    #: (see :meth:`add_table_friction`): their force limits are the friction.
    table_friction: list[pymunk.Constraint] = field(default_factory=list)

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
                   elasticity: float = 0.5, friction: float = 0.5, rolling_resistance: float = 0.0) -> ObjectSpec:
        """A ball; ``rolling_resistance`` (1/s) damps its spin, so that rolling comes to a stop."""
        body = pymunk.Body(mass, pymunk.moment_for_circle(mass, 0, radius))
        body.position = (x, y)
        if rolling_resistance:
            body.velocity_func = _spin_damping(rolling_resistance)
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

    def add_static_polygon(self, corners: Sequence[tuple[float, float]], elasticity: float = 1.0,
                           friction: float = 0.5, visible: bool = True) -> None:
        """An immovable convex polygon in world coordinates (ramp, wedge), drawn as scenery when visible."""
        shape = pymunk.Poly(self.space.static_body, [tuple(map(float, c)) for c in corners])
        shape.elasticity, shape.friction = elasticity, friction
        self.space.add(shape)
        if visible:
            self.scenery.append(np.array(corners, dtype=np.float64))

    def add_static_box(self, x0: float, y0: float, x1: float, y1: float,
                       elasticity: float = 1.0, friction: float = 0.5, visible: bool = True) -> None:
        """An immovable axis-aligned box (floor, wall), drawn as scenery when visible."""
        self.add_static_polygon([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], elasticity, friction, visible)

    def add_occluder(self, x: float, y: float, width: float, height: float, track: Track | None = None) -> None:
        """A ``width`` x ``height`` rectangle drawn in front of objects, centred on ``(x, y)``
        or moving along ``track`` (centre positions over time)."""
        w, h = width / 2, height / 2
        corners = np.array([(-w, -h), (w, -h), (w, h), (-w, h)], np.float64)
        self.occluders.append(Occluder(corners, track or Track.still(x, y)))

    def pin(self, index: int, anchor: tuple[float, float]) -> None:
        """Hold object ``index`` (0-based) at its current distance from a fixed world point
        (a rigid massless string), drawn as a tether."""
        joint = pymunk.PinJoint(self.space.static_body, self.bodies[index], anchor, (0.0, 0.0))
        self.space.add(joint)
        self.tethers.append((tuple(map(float, anchor)), index))

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

    def add_table_friction(self, index: int, mu: float, size: float, pressure: float) -> None:
        """Coulomb friction of object ``index`` (0-based) against a table under it: a
        force of at most ``mu m pressure`` against sliding and a torque of at most
        ``mu m pressure size / 2`` against spinning (``pressure``: m/s^2 pressing it down)."""
        body = self.bodies[index]
        slide = pymunk.PivotJoint(self.space.static_body, body, (0.0, 0.0), (0.0, 0.0))
        spin = pymunk.GearJoint(self.space.static_body, body, 0.0, 1.0)
        force = mu * body.mass * pressure
        for joint, limit in ((slide, force), (spin, force * size / 2)):
            joint.max_bias, joint.max_force = 0.0, limit
        self.space.add(slide, spin)
        self.table_friction += [slide, spin]

    def act(self, action: np.ndarray) -> None:
        """Apply an action until the next frame: the agent's target velocity ``(vx, vy)``, m/s."""
        if self.agent is None:
            raise ValueError("this world has no agent to act")
        self.agent.velocity = (float(action[0]), float(action[1]))

    def state(self) -> np.ndarray:
        """``(N, 6)``: ``x, y, angle, vx, vy, omega`` of every tracked body."""
        return np.array([(b.position.x, b.position.y, b.angle, b.velocity.x, b.velocity.y,
                          b.angular_velocity) for b in self.bodies], dtype=np.float64).reshape(-1, 6)

    def perturb(self, rng: Rng, position_px: float, velocity_px_per_frame: float, fps: float) -> None:
        """Nudge every body's state by Gaussian noise given in pixels (and per frame)."""
        for body in self.bodies:
            body.position += tuple(rng.normal(0.0, position_px / self.camera.ppm, 2))
            body.velocity += tuple(rng.normal(0.0, velocity_px_per_frame * fps / self.camera.ppm, 2))

    def cameras(self, frames: int, fps: float) -> np.ndarray:
        """``(T, 3)``: ``cx, cy, ppm`` of the camera at every frame."""
        if self.camera_track is None:
            return np.tile([self.camera.cx, self.camera.cy, self.camera.ppm], (frames, 1)).astype(np.float64)
        return self.camera_track.at(np.arange(frames) / fps)

    def stage(self) -> dict[str, Any]:
        """Everything but the objects that :func:`render` draws, as JSON-able data."""
        return {
            "scenery": [p.tolist() for p in self.scenery],
            "occluders": [o.describe() if isinstance(o, Occluder) else {"vertices": np.asarray(o).tolist()}
                          for o in self.occluders],
            "backdrop": self.backdrop.describe() if self.backdrop else None,
            "tethers": [[list(a), i] for a, i in self.tethers],
        }

    def rollout(self, frames: int, fps: float, control: Control | None = None) -> Rollout:
        """Simulate and render ``frames`` frames at ``fps``, stepping physics at :data:`SIM_HZ`.

        ``control`` is called between frames (see :data:`Control`); the actions it returns
        are applied with :meth:`act` and recorded as ``float32 (frames - 1, A)``.

        The camera of frame ``t`` is ``camera_track`` at ``t / fps`` seconds. Without a
        control, and with ``camera_actions``, ``actions[t]`` is the camera motion from frame ``t`` to
        ``t + 1``: pan right and down in pixels of frame ``t``, and the log of the zoom
        ratio (``ln(ppm[t + 1] / ppm[t])``).
        """
        substeps = SIM_HZ // int(fps)
        dt = 1.0 / SIM_HZ
        n, size = len(self.bodies), self.camera.resolution
        images = np.empty((frames, size, size, 3), np.uint8)
        ids = np.empty((frames, size, size), np.uint8)
        states = np.empty((frames, n, 6), np.float64)
        visibility = np.empty((frames, n), np.float32)
        track = self.cameras(frames, fps)
        moving = [o for o in self.occluders if isinstance(o, Occluder)]
        fixed = [np.asarray(o, np.float64) for o in self.occluders if not isinstance(o, Occluder)]
        background, last_view = None, None
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
            camera = Camera(*track[t], resolution=size)
            if self.backdrop is not None and last_view != camera:
                background, last_view = self.backdrop.image(camera), camera
            occluders = fixed + [o.polygon(t / fps) for o in moving]
            images[t], ids[t], visibility[t] = render(self.objects, states[t], camera, self.scenery, occluders,
                                                     background, tethers=self.tethers)
        half = size / 2 - 0.5
        pixels = np.stack([(states[..., 0] - track[:, None, 0]) * track[:, None, 2] + half,
                           (track[:, None, 1] - states[..., 1]) * track[:, None, 2] + half], axis=-1)
        if actions and len(actions) != frames - 1:
            raise ValueError(f"control returned {len(actions)} actions for {frames - 1} steps; all or none")
        recorded = np.stack(actions) if actions else None
        if recorded is None and self.camera_actions:
            step = np.diff(track, axis=0)
            recorded = np.stack([step[:, 0] * track[:-1, 2], -step[:, 1] * track[:-1, 2],
                                 exactmath.log(track[1:, 2] / track[:-1, 2])], axis=1).astype(np.float32)
        return Rollout(frames=images, instance_ids=ids, states=states, pixels=pixels.astype(np.float32),
                       visibility=visibility, actions=recorded, camera=track)


def redraw(episode: "Episode", t: int, poses: np.ndarray, rollout: Rollout | None = None,
           objects: Sequence[ObjectSpec | None] | None = None, occluders: Sequence[np.ndarray] = ()
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Render ``poses`` (``(N, >=3)``: ``x, y, angle``) into frame ``t`` of an episode.

    The scenery, occluders (at frame ``t``'s time), backdrop and tethers come from
    ``episode.meta["stage"]`` and the camera from ``rollout.camera[t]`` (default: the
    truth's), so redrawing the true states gives the episode's own frame, bit for bit.
    ``objects`` draws other shapes in the objects' places (``None`` for one leaves it and
    its tether out; ids and visibility then cover the objects drawn, in order);
    ``occluders`` adds static world-space polygons in front of everything.
    """
    rollout = rollout or episode.truth
    if rollout.camera is None:
        raise ValueError(f"{episode.key}: the rollout records no camera")
    drawn = list(episode.objects) if objects is None else list(objects)
    keep = [k for k, obj in enumerate(drawn) if obj is not None]
    stage = episode.meta["stage"]
    camera = Camera(*rollout.camera[t], resolution=episode.resolution[0])
    occluders = [Occluder.from_meta(o).polygon(t / episode.fps) for o in stage["occluders"]] + list(occluders)
    background = Backdrop(**stage["backdrop"]).image(camera) if stage["backdrop"] else None
    tethers = [(tuple(a), keep.index(int(i))) for a, i in stage["tethers"] if int(i) in keep]
    return render([drawn[k] for k in keep], np.asarray(poses)[keep], camera,
                  [np.asarray(p, np.float64) for p in stage["scenery"]], occluders, background, tethers=tethers)
