"""Episode generation: a task version and a seed give identical bytes, in any process."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import pymunk

from wmbench.tasks.schema import Task
from wmbench.worlds.episode import Episode, Rollout
from wmbench.worlds.scenes import scene_for
from wmbench.worlds.world import Control, World, replay

#: Ensemble perturbation: below what the frames can show.
PERTURB_POSITION_PX = 0.25
PERTURB_VELOCITY_PX_PER_FRAME = 0.05


def engine_versions() -> dict[str, str]:
    """Versions of the physics engine and renderer, recorded with every episode."""
    return {"pymunk": pymunk.version, "chipmunk": pymunk.chipmunk_version.split("-")[0],
            "opencv": cv2.__version__, "numpy": np.__version__}


def build_world(task: Task, params: dict[str, Any], seed: int) -> World:
    """The world of an episode with parameters ``params`` and ``seed`` at its first frame."""
    return scene_for(task).build(params, np.random.default_rng([seed, 1]))


def generate_episode(task: Task, split: str, seed: int) -> Episode:
    """Simulate and render one episode with its physical-variance ensemble (which replays
    the true actions, if any) and the scene's alternatives."""
    scene = scene_for(task)
    params = scene.sample(np.random.default_rng([seed, 0]))

    def simulate(control: Control | None, member: int = 0) -> tuple[World, Rollout]:
        built = build_world(task, params, seed)
        if member:
            built.perturb(np.random.default_rng([seed, 2, member]), PERTURB_POSITION_PX,
                          PERTURB_VELOCITY_PX_PER_FRAME, task.fps)
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
              "resolution": task.resolution, "scene": task.scene, "engine": engine_versions(),
              "stage": truth_world.stage(), **truth_world.meta, **described},
    )
