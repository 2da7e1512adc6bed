"""Episode generation: a task version and a seed give identical bytes, in any process, on
any machine (see ``docs/generation.md#determinism``)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from wmbench.tasks.schema import Task
from wmbench.worlds.episode import Episode, Rollout
from wmbench.worlds.rng import Rng
from wmbench.worlds.scenes import check_task, scene_for
from wmbench.worlds.stack import check_stack
from wmbench.worlds.world import Control, World, replay

#: Ensemble perturbation: below what the frames can show.
PERTURB_POSITION_PX = 0.25
PERTURB_VELOCITY_PX_PER_FRAME = 0.05
#: Ensemble members are nudged this many frames before the horizon (at the first frame
#: of a shorter context): they share the rest of the context with the truth, so a long
#: context cannot let a chaotic scene's members drift apart before the horizon starts.
PERTURB_LEAD = 8
#: Random streams of an episode: ``Rng(seed, stream, ...)``.
PARAMS_STREAM, BUILD_STREAM, PERTURB_STREAM = 0, 1, 2


def build_world(task: Task, params: dict[str, Any], seed: int) -> World:
    """The world of an episode with parameters ``params`` and ``seed`` at its first frame."""
    return scene_for(task).build(params, Rng(seed, BUILD_STREAM))


def nudged(control: Control | None, frame: int, nudge: Callable[[World], None]) -> Control:
    """``control`` (or none) that first applies ``nudge`` to the world just before
    stepping to frame ``frame`` (at least 1)."""

    def step(t: int, world: World) -> np.ndarray | None:
        if t == frame - 1:
            nudge(world)
        return control(t, world) if control is not None else None

    return step


def generate_episode(task: Task, split: str, seed: int) -> Episode:
    """Simulate and render one episode with its physical-variance ensemble (which replays
    the true actions, if any) and the scene's alternatives."""
    check_stack()
    scene = check_task(task)
    params = scene.sample(Rng(seed, PARAMS_STREAM))

    def simulate(control: Control | None, member: int = 0) -> tuple[World, Rollout]:
        built = build_world(task, params, seed)
        if member:
            nudge = functools.partial(World.perturb, rng=Rng(seed, PERTURB_STREAM, member),
                                      position_px=PERTURB_POSITION_PX,
                                      velocity_px_per_frame=PERTURB_VELOCITY_PX_PER_FRAME, fps=task.fps)
            frame = max(task.context - PERTURB_LEAD, 0)
            if frame:
                control = nudged(control, frame, nudge)
            else:
                nudge(built)
        return built, built.rollout(task.length, task.fps, control)

    policy = scene.policy(params, seed)
    truth_world, truth = simulate(policy)
    same_actions = replay(truth.actions) if policy is not None else None
    ensemble = [simulate(same_actions, k)[1] for k in range(1, task.ensemble + 1)]
    alternatives, described = scene.alternatives(params, seed, truth, simulate)
    return Episode(
        task=task.name, version=task.version, split=split, seed=seed, fps=task.fps,
        context=task.context, horizon=task.horizon, objects=list(truth_world.objects),
        truth=truth, ensemble=ensemble, alternatives=alternatives,
        meta={"params": params, "gravity": truth_world.gravity, "ppm": truth_world.camera.ppm,
              "resolution": task.resolution, "scene": task.scene,
              "stage": truth_world.stage(), **truth_world.meta, **described},
    )
