"""The renderer and the world's camera: visible fractions, occluders, pans, zoom, backdrops."""

from __future__ import annotations

import numpy as np
import pytest

from wmbench.worlds import OCCLUDER_ID
from wmbench.worlds.render import Backdrop, Camera, render
from wmbench.worlds.world import Track, World

CAMERA = Camera(1.0, 1.0, ppm=64.0, resolution=128)


def box_world(camera: Camera = CAMERA, **kwargs) -> World:
    world = World(camera=camera, gravity=0.0, **kwargs)
    world.add_box(1.0, 1.0, 0.4, 0.4, 1.0)
    return world


def one_frame(world: World, x: float, y: float, occluders=()) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    poses = np.array([[x, y, 0.0]])
    return render(world.objects, poses, world.camera, world.scenery, list(occluders))


def rect(x0, y0, x1, y1):
    return np.array([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], float)


def test_visible_fraction_open_hidden_and_partly_covered():
    world = box_world()
    _, ids, vis = one_frame(world, 1.0, 1.0)
    assert vis[0] == 1.0 and (ids == 1).sum() == pytest.approx(0.4 * 0.4 * 64 ** 2, rel=0.07)
    _, ids, vis = one_frame(world, 1.0, 1.0, [rect(0.7, 0.7, 1.3, 1.3)])
    assert vis[0] == 0.0 and (ids == 1).sum() == 0 and (ids == OCCLUDER_ID).any()
    _, _, vis = one_frame(world, 1.0, 1.0, [rect(1.0, 0.0, 2.0, 2.0)])  # right half covered
    assert vis[0] == pytest.approx(0.5, abs=0.02)
    _, _, vis = one_frame(world, 0.0, 1.0)  # half beyond the left edge of the frame
    assert vis[0] == pytest.approx(0.5, abs=0.02)
    _, _, vis = one_frame(world, -1.0, 1.0)  # wholly outside
    assert vis[0] == 0.0


def test_visible_fraction_is_exact_against_a_shifted_view():
    """Partly outside the frame, the count equals the object's pixels in a view moved by
    whole pixels so that all of it shows."""
    world = World(camera=CAMERA, gravity=0.0)
    world.add_circle(1.0, 1.0, 0.13, 1.0)
    rng = np.random.default_rng(0)
    for _ in range(20):
        x, y = rng.uniform(-0.1, 0.1), rng.uniform(0.2, 1.8)
        _, ids, vis = one_frame(world, x, y)
        shifted = Camera(CAMERA.cx - 32 / CAMERA.ppm, CAMERA.cy, CAMERA.ppm, CAMERA.resolution)
        _, full_ids, full_vis = render(world.objects, np.array([[x, y, 0.0]]), shifted)
        assert full_vis[0] == 1.0
        assert vis[0] == pytest.approx((ids == 1).sum() / (full_ids == 1).sum(), abs=1e-6)


def test_object_in_front_hides_the_one_behind():
    world = World(camera=CAMERA, gravity=0.0)
    world.add_box(1.0, 1.0, 0.4, 0.4, 1.0)
    world.add_box(1.2, 1.0, 0.4, 0.4, 1.0)
    _, _, vis = render(world.objects, np.array([[1.0, 1.0, 0.0], [1.2, 1.0, 0.0]]), CAMERA)
    assert vis[0] == pytest.approx(0.5, abs=0.03) and vis[1] == 1.0


def test_moving_occluder_sweeps_over_a_resting_object():
    world = box_world()
    world.add_occluder(0.0, 1.0, 0.6, 0.8, Track((0.0, 1.0), ((0.0, 1.0), (2.0, 1.0))))
    r = world.rollout(31, 30)
    vis = r.visibility[:, 0]
    assert vis[0] == 1.0 and vis[-1] == 1.0 and vis.min() == 0.0
    assert ((vis > 0) & (vis < 1)).sum() >= 4  # partly covered on the way in and out
    assert (r.instance_ids[15] == OCCLUDER_ID).sum() == pytest.approx(0.6 * 0.8 * 64 ** 2, rel=0.07)
    np.testing.assert_allclose(r.states[:, 0, :2], [[1.0, 1.0]] * 31)  # the object did not move


def test_zoom_and_pan_keep_pixels_on_the_object():
    world = World(camera=CAMERA, gravity=0.0)
    world.add_circle(1.0, 1.0, 0.1, 1.0)
    world.bodies[0].velocity = (0.5, 0.2)
    world.camera_track = Track((0.0, 1.0), ((1.0, 1.0, 64.0), (1.4, 1.1, 128.0)))
    world.camera_actions = True
    r = world.rollout(31, 30)
    r.validate()
    np.testing.assert_allclose(r.camera[-1], [1.4, 1.1, 128.0])
    for t in (0, 10, 20, 30):
        ys, xs = np.nonzero(r.instance_ids[t] == 1)
        assert abs(xs.mean() - r.pixels[t, 0, 0]) < 0.3 and abs(ys.mean() - r.pixels[t, 0, 1]) < 0.3
        assert len(xs) == pytest.approx(np.pi * (0.1 * r.camera[t, 2] + 0.5) ** 2, rel=0.05)  # edges inclusive
    assert np.exp(r.actions[:, 2].sum()) == pytest.approx(2.0)
    assert r.actions.shape == (30, 3) and r.actions.dtype == np.float32


def test_backdrop_is_fixed_in_the_world():
    backdrop = Backdrop(seed=7)
    image = backdrop.image(CAMERA)
    moved = backdrop.image(Camera(CAMERA.cx + 8 / 64, CAMERA.cy - 4 / 64, 64.0, 128))  # 8 px right, 4 px down
    np.testing.assert_array_equal(moved[:-4, :-8], image[4:, 8:])
    assert len(np.unique(image.reshape(-1, 3), axis=0)) > 10  # textured, not flat
    assert not np.array_equal(Backdrop(seed=8).image(CAMERA), image)
    np.testing.assert_array_equal(Backdrop(seed=7).image(CAMERA), image)


def test_backdrop_and_scenery_are_drawn_behind_objects():
    world = box_world(backdrop=Backdrop(seed=1))
    world.add_static_polygon([(0.0, 0.0), (2.0, 0.0), (0.0, 0.8)])  # a ramp
    r = world.rollout(2, 30)
    frame, ids = r.frames[0], r.instance_ids[0]
    assert (frame[ids == 1] == world.objects[0].colour).all(-1).mean() > 0.8
    corner = frame[120, 5]  # inside the ramp
    assert tuple(corner) == (120, 120, 128)


@pytest.mark.parametrize("name", ["occluder_pass", "revisit_gap", "pendulum_long", "block_stack"])
def test_redrawing_the_true_states_gives_the_same_frames(name):
    from wmbench.tasks import get_task, split_seeds
    from wmbench.worlds import generate_episode
    from wmbench.worlds.world import redraw

    task = get_task(name)
    episode = generate_episode(task, "dev", split_seeds(task, "dev", 1)[0])
    r = episode.truth
    for t in np.linspace(0, len(r.frames) - 1, 6).astype(int):
        frame, ids, vis = redraw(episode, t, r.states[t])
        np.testing.assert_array_equal(frame, r.frames[t])
        np.testing.assert_array_equal(ids, r.instance_ids[t])
        np.testing.assert_array_equal(vis, r.visibility[t])
