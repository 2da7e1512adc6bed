"""physics_resim reads the state from the context frames alone and re-simulates the future.

Worlds are built here with the engine, so that what the adapter infers from pixels can
be compared with the true state (which it never sees)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from wmbench import ContextBatch, get_task
from wmbench.adapters import load_adapter
from wmbench.tasks import split_seeds
from wmbench.worlds.render import Camera
from wmbench.worlds.scenes.longhorizon import _pendulum
from wmbench.worlds.world import World

FPS, CONTEXT, HORIZON, SIZE = 30.0, 8, 16, 128


@pytest.fixture(scope="module")
def resim():
    return load_adapter("physics_resim")


def _world(gravity: float = 9.81) -> World:
    """A 2 m view at 128 px (64 px per metre) with a floor whose top is at 0.2 m."""
    world = World(camera=Camera(1.0, 1.0, ppm=SIZE / 2.0, resolution=SIZE), gravity=gravity)
    world.add_static_box(-1.0, -0.5, 3.0, 0.2, elasticity=1.0, friction=1.0)
    return world


def _split(world: World):
    rollout = world.rollout(CONTEXT + HORIZON, FPS)
    frames = torch.from_numpy(rollout.frames).permute(0, 3, 1, 2).float() / 255
    return rollout, frames[:CONTEXT], frames[CONTEXT:]


def _predict(adapter, context: torch.Tensor, horizon: int = HORIZON) -> torch.Tensor:
    out = adapter.predict(ContextBatch(frames=context[None], horizon=horizon, fps=FPS))
    assert out.shape == (1, horizon, 3, SIZE, SIZE) and out.dtype == torch.float32
    return out[0]


def _mse(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(((a - b) ** 2).mean())


def test_reads_shape_size_pose_velocity_and_gravity_from_the_frames(resim):
    world = _world()
    world.add_circle(0.6, 1.5, 0.1, 1.0)
    world.add_box(1.4, 1.3, 0.24, 0.16, 1.0, angle=0.4)
    world.bodies[0].velocity = (0.8, 0.5)
    world.bodies[1].angular_velocity = 3.0
    rollout, context, _ = _split(world)
    scene = resim.read(context, FPS)
    ppm, last = world.camera.ppm, CONTEXT - 1
    assert [b.spec.shape for b in scene.bodies] == ["circle", "box"]
    assert scene.gravity == pytest.approx(9.81 * ppm / FPS**2, rel=0.05)  # measured from the fall
    ball, box = scene.bodies
    assert ball.spec.size[0] == pytest.approx(0.1 * ppm, rel=0.08)
    assert sorted(box.spec.size) == pytest.approx(sorted([0.24 * ppm, 0.16 * ppm]), rel=0.1)
    for body, k in ((ball, 0), (box, 1)):
        u, v = rollout.pixels[last, k]
        assert body.position == pytest.approx((u, SIZE - 1 - v), abs=0.5)
        vx, vy = rollout.states[last, k, 3:5] * ppm / FPS
        assert body.velocity == pytest.approx((vx, vy), abs=0.25)
    assert box.angle % (np.pi / 2) == pytest.approx(rollout.states[last, 1, 2] % (np.pi / 2), abs=0.08)
    assert box.spin == pytest.approx(3.0 / FPS, abs=0.03)


def test_predicts_a_throw_and_a_bounce_far_better_than_a_frozen_world(resim):
    world = _world()
    world.add_circle(0.4, 0.8, 0.08, 1.0, elasticity=0.5, friction=0.5)
    world.bodies[0].velocity = (1.2, 1.0)
    _, context, future = _split(world)
    predicted = _predict(resim, context)
    frozen = context[-1:].expand_as(future)
    assert _mse(predicted, future) < 0.3 * _mse(frozen, future)


def test_a_still_scene_is_its_last_frame_exactly(resim):
    world = _world()
    world.add_box(0.8, 0.3, 0.2, 0.2, 1.0)
    world.add_circle(1.4, 0.3, 0.1, 1.0)
    _, context, _ = _split(world)
    still = context[-1:].expand(CONTEXT, -1, -1, -1)
    assert torch.equal(_predict(resim, still), context[-1:].expand(HORIZON, -1, -1, -1))


def test_a_pendulum_hangs_from_the_pivot_its_string_shows(resim):
    world = _world()
    _pendulum(world, (1.0, 1.85), 0.9, 0.6, 0.08, 1.0)
    world.bodies[0].velocity = (-1.2 * np.cos(0.6), -1.2 * np.sin(0.6))  # mid-swing, along the circle
    _, context, future = _split(world)
    (bob,) = resim.read(context, FPS).bodies
    assert bob.anchor is not None
    # the pivot in simulation coordinates: pixels, y up from the bottom row
    assert bob.anchor == pytest.approx((63.5, SIZE - 1 - (63.5 - 0.85 * world.camera.ppm)), abs=2.0)
    predicted = _predict(resim, context)
    assert _mse(predicted, future) < 0.3 * _mse(context[-1:].expand_as(future), future)


def test_an_object_gone_behind_an_occluder_is_carried_on_from_where_it_was_last_seen(resim):
    world = World(camera=Camera(1.0, 1.0, ppm=SIZE / 2.0, resolution=SIZE), gravity=0.0)  # a table seen from above
    world.add_circle(0.55, 1.0, 0.08, 1.0)
    world.bodies[0].velocity = (1.5, 0.0)
    world.add_occluder(1.0, 1.0, 0.4, 0.4)
    rollout, context, future = _split(world)
    assert rollout.visibility[CONTEXT - 1, 0] == 0.0  # hidden at the end of the context
    (ball,) = resim.read(context, FPS).bodies
    assert ball.start < CONTEXT - 1
    predicted = (_predict(resim, context).permute(0, 2, 3, 1).numpy() * 255).round()
    red = np.array(world.objects[0].colour, float)
    out = next(t for t in range(HORIZON) if rollout.visibility[CONTEXT + t, 0] == 1.0)
    where = np.argwhere(np.abs(predicted[out] - red).max(-1) < 30).mean(0)[::-1]  # (u, v)
    assert where == pytest.approx(rollout.pixels[CONTEXT + out, 0], abs=2.5)


def test_frames_without_objects_give_the_last_frame(resim):
    context = torch.full((CONTEXT, 3, 64, 64), 128 / 255)  # frames hold whole 8-bit levels
    out = resim.predict(ContextBatch(frames=context[None], horizon=3, fps=FPS))
    assert torch.equal(out[0], context[-1:].expand(3, -1, -1, -1))


def test_beats_a_frozen_world_on_dropping_and_colliding_episodes(resim, cache):
    for name in ("drop_single", "collide_elastic"):
        task = get_task(name)
        for seed in split_seeds(task, "dev", 2):
            episode = cache.get(task, "dev", seed)
            context = torch.from_numpy(episode.context_frames).permute(0, 3, 1, 2).float() / 255
            future = torch.from_numpy(episode.future_frames).permute(0, 3, 1, 2).float() / 255
            predicted = resim.predict(ContextBatch(frames=context[None], horizon=task.horizon, fps=task.fps))[0]
            assert _mse(predicted, future) < 0.7 * _mse(context[-1:].expand_as(future), future), episode.key
