"""Episode generation: a task version and a seed give identical bytes, in any process, on
any machine (see ``docs/generation.md#determinism``)."""

from __future__ import annotations

from wmbench.tasks.schema import Task
from wmbench.worlds.episode import Episode, Rollout
from wmbench.worlds.rng import Rng
from wmbench.worlds.scenes import check_task
from wmbench.worlds.stack import check_stack
from wmbench.worlds.world import Control, World, replay

#: Ensemble perturbation: below what the frames can show.
PERTURB_POSITION_PX = 0.25
PERTURB_VELOCITY_PX_PER_FRAME = 0.05
#: Random streams of an episode: ``Rng(seed, stream, ...)``.
PARAMS_STREAM, BUILD_STREAM, PERTURB_STREAM = 0, 1, 2


def generate_episode(task: Task, split: str, seed: int) -> Episode:
    """Simulate and render one episode with its physical-variance ensemble (which replays
    the true actions, if any) and the scene's alternatives."""
    check_stack()
    scene = check_task(task)
    params = scene.sample(Rng(seed, PARAMS_STREAM))

    def simulate(control: Control | None, member: int = 0) -> tuple[World, Rollout]:
        built = scene.build(params, Rng(seed, BUILD_STREAM))
        if member:
            built.perturb(Rng(seed, PERTURB_STREAM, member), PERTURB_POSITION_PX,
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
              "resolution": task.resolution, "scene": task.scene,
              "stage": truth_world.stage(), **truth_world.meta, **described},
    )
