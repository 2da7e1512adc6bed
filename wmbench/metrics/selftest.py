"""The metrics' self-test: inject physics violations into true futures and see who notices.

Each violation turns an episode's true future into a violated one (re-simulating the
world from the last context frame, re-rendering modified states, or editing frames).
Every registered metric scores the true future and the violated one against the same
truth; a metric *detects* a violation on an episode when the violated future scores
worse than the true one by more than the metric's ``margin`` (physics metrics declare
one in their unit) or, for metrics without one, by more than
``DEFAULT_RELATIVE_MARGIN * |truth score| + DEFAULT_ABSOLUTE_MARGIN``.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Callable, cast

import cv2
import numpy as np
import pandas as pd
import torch

from wmbench.frames import unit_float
from wmbench.metrics.base import METRICS, EpisodeMetric, MetricUnavailable, Truth
from wmbench.metrics.tracks import HIDDEN, SEEN
from wmbench.tasks.schema import Task
from wmbench.worlds.episode import Episode, ObjectSpec
from wmbench.worlds.generate import BUILD_STREAM
from wmbench.worlds.render import render
from wmbench.worlds.rng import Rng
from wmbench.worlds.scenes import scene_for
from wmbench.worlds.world import SIM_HZ, World

DEFAULT_RELATIVE_MARGIN = 0.05
DEFAULT_ABSOLUTE_MARGIN = 1e-3
#: Teleport distance (fraction of the view width) and size change factor.
TELEPORT_FRACTION = 0.25
SIZE_FACTOR = 1.5
BLUR_SIGMA_PX = 1.5
COLOUR_SHIFT = (0.08, -0.06, 0.05)


@dataclass
class Case:
    """A violated future ``uint8 (T, H, W, 3)`` and the episode it is scored against."""

    episode: Episode
    future: np.ndarray


def rebuild_world(task: Task, episode: Episode) -> World:
    """The episode's world at its first frame, rebuilt from the task and the episode's parameters."""
    return scene_for(task).build(episode.meta["params"], Rng(episode.seed, BUILD_STREAM))


def _render(world: World, states: np.ndarray, objects: list[ObjectSpec] | None = None,
            occluders: list[Any] | None = None) -> tuple[Any, ...]:
    """Frames, ids and visibility of ``states (T, N, >=3)`` drawn in ``world``'s view."""
    objects = world.objects if objects is None else objects
    occluders = cast(list[Any], world.occluders) if occluders is None else occluders
    out = [render(objects, s, world.camera, world.scenery, occluders) for s in states]
    return tuple(np.stack(a) for a in zip(*out)) if out else (None, None, None)


def _resimulate(task: Task, episode: Episode, change: Callable[[World], None]) -> np.ndarray:
    """Simulate the true world to the last context frame, apply ``change``, simulate the horizon."""
    world = rebuild_world(task, episode)
    substeps = SIM_HZ // int(task.fps)
    for _ in range((episode.context - 1) * substeps):
        world.space.step(1.0 / SIM_HZ)
    change(world)
    return world.rollout(episode.horizon + 1, task.fps).frames[1:]


def _set_gravity(factor: float) -> Callable[[World], None]:
    def change(world: World) -> None:
        world.space.gravity = (0.0, -world.gravity * factor)
    return change


def _remove_solids(world: World) -> None:
    world.space.remove(*world.space.static_body.shapes)


def _future_states(episode: Episode) -> np.ndarray:
    return episode.truth.states[episode.context :].copy()


def _from_step(episode: Episode) -> int:
    return episode.horizon // 2


def gravity_halved(task: Task, episode: Episode) -> Case:
    return Case(episode, _resimulate(task, episode, _set_gravity(0.5)))


def gravity_reversed(task: Task, episode: Episode) -> Case:
    return Case(episode, _resimulate(task, episode, _set_gravity(-1.0)))


def pass_through(task: Task, episode: Episode) -> Case:
    """Solids stop colliding: objects fall through the floor and walls."""
    return Case(episode, _resimulate(task, episode, _remove_solids))


def frozen(task: Task, episode: Episode) -> Case:
    return Case(episode, np.repeat(episode.truth.frames[episode.context - 1][None], episode.horizon, 0))


def time_reversed(task: Task, episode: Episode) -> Case:
    return Case(episode, episode.future_frames[::-1].copy())


def teleport(task: Task, episode: Episode) -> Case:
    """From mid-horizon on, object 1 is shifted sideways (towards the view centre) by a quarter view."""
    world = rebuild_world(task, episode)
    states, k = _future_states(episode), _from_step(episode)
    shift = TELEPORT_FRACTION * world.camera.resolution / world.camera.ppm
    states[k:, 0, 0] += shift if states[k, 0, 0] < world.camera.cx else -shift
    return Case(episode, _render(world, states)[0])


def _scaled(obj: ObjectSpec, factor: float) -> ObjectSpec:
    return dataclasses.replace(obj, size=tuple(s * factor for s in obj.size),
                               vertices=tuple((x * factor, y * factor) for x, y in obj.vertices))


def size_change(task: Task, episode: Episode) -> Case:
    """From mid-horizon on, object 1 is drawn 1.5 times as large."""
    world = rebuild_world(task, episode)
    states, k = _future_states(episode), _from_step(episode)
    grown = [_scaled(world.objects[0], SIZE_FACTOR)] + world.objects[1:]
    frames = np.concatenate([_render(world, states[:k])[0], _render(world, states[k:], grown)[0]])
    return Case(episode, frames)


def _without(world: World, states: np.ndarray, k: int, occluders: list[Any] | None = None) -> np.ndarray:
    """Frames of ``states`` with object ``k`` left out."""
    keep = [i for i in range(len(world.objects)) if i != k]
    return _render(world, states[:, keep], [world.objects[i] for i in keep], occluders)[0]


def vanish(task: Task, episode: Episode) -> Case:
    """From mid-horizon on, object 1 is gone."""
    world = rebuild_world(task, episode)
    states, k = _future_states(episode), _from_step(episode)
    return Case(episode, np.concatenate([episode.future_frames[:k], _without(world, states[k:], 0)]))


def _reappearing(visibility: np.ndarray, context: int) -> tuple[int, int] | None:
    """``(object, first hidden horizon step)`` of the first object hidden in the horizon
    that is seen again before its end."""
    for k in range(visibility.shape[1]):
        hidden = np.flatnonzero(visibility[context:, k] < HIDDEN)
        if len(hidden) and (visibility[context + hidden[0] :, k] >= SEEN).any():
            return k, int(hidden[0])
    return None


def _square_occluder(world: World, episode: Episode) -> list[Any] | None:
    """A square occluder that fully hides one object at some horizon step, placed so that
    the object is fully visible again later in the horizon; ``None`` if no object moves enough."""
    pixel = 1.0 / world.camera.ppm
    states = episode.truth.states
    for k, obj in enumerate(world.objects):
        reach = obj.size[0] if obj.shape == "circle" else float(np.linalg.norm(obj.vertices, axis=1).max())
        half = reach + 2 * pixel
        for step in range(1, episode.horizon - 1):
            centre = states[episode.context + step, k, :2]
            later = np.abs(states[episode.context + step + 1 :, k, :2] - centre).max(axis=1)
            if (later > half + reach + 2 * pixel).any():
                corners = centre + half * np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]])
                return [*world.occluders, corners]
    return None


def occluded_vanish(task: Task, episode: Episode) -> Case | None:
    """An object passes behind an occluder and never comes out. Episodes without such an
    occlusion get a square occluder on an object's path (in the truth too)."""
    world = rebuild_world(task, episode)
    reference, occluders = episode, cast(list[Any] | None, world.occluders)
    if _reappearing(episode.truth.visibility, episode.context) is None:
        occluders = _square_occluder(world, episode)
        if occluders is None:
            return None
        frames, ids, visibility = _render(world, episode.truth.states, occluders=occluders)
        truth = dataclasses.replace(episode.truth, frames=frames, instance_ids=ids, visibility=visibility)
        reference = dataclasses.replace(episode, truth=truth, ensemble=[], alternatives=[])
    found = _reappearing(reference.truth.visibility, reference.context)
    if found is None:
        return None
    k, step = found
    states = _future_states(reference)
    rest = _without(world, states[step:], k, occluders)
    return Case(reference, np.concatenate([reference.future_frames[:step], rest]))


def blur(task: Task, episode: Episode) -> Case:
    return Case(episode, np.stack([cv2.GaussianBlur(f, (0, 0), BLUR_SIGMA_PX) for f in episode.future_frames]))


def colour_shift(task: Task, episode: Episode) -> Case:
    shifted = episode.future_frames.astype(np.float32) + 255.0 * np.asarray(COLOUR_SHIFT, np.float32)
    return Case(episode, np.clip(np.round(shifted), 0, 255).astype(np.uint8))


VIOLATIONS: dict[str, Callable[[Task, Episode], Case | None]] = {
    "gravity_halved": gravity_halved, "gravity_reversed": gravity_reversed, "vanish": vanish,
    "occluded_vanish": occluded_vanish, "teleport": teleport, "size_change": size_change,
    "frozen": frozen, "time_reversed": time_reversed, "pass_through": pass_through,
    "blur": blur, "colour_shift": colour_shift,
}


def _frames(array: np.ndarray) -> torch.Tensor:
    return unit_float(array)[None]


def margin_of(metric: EpisodeMetric, truth_value: float) -> float:
    """How much worse than the truth a violated future must score to count as detected."""
    declared = getattr(metric, "margin", None)
    if declared is not None:
        return float(declared)
    return DEFAULT_RELATIVE_MARGIN * abs(truth_value) + DEFAULT_ABSOLUTE_MARGIN


def build_all_metrics() -> tuple[dict[str, EpisodeMetric], dict[str, str]]:
    """Every registered metric that can run here, and the reasons for those that cannot."""
    available, missing = {}, {}
    for name, cls in sorted(METRICS.items()):
        try:
            available[name] = cls()
        except MetricUnavailable as exc:
            missing[name] = str(exc)
    return available, missing


def _truth(episode: Episode) -> Truth:
    return Truth(frames=_frames(episode.future_frames), context=_frames(episode.context_frames),
                 episodes=[episode])


def _score(metric: EpisodeMetric, frames: torch.Tensor, truth: Truth) -> tuple[float, str | None]:
    try:
        return float(metric.score(frames, truth)[0]), None
    except Exception as exc:  # a metric that fails on a case is reported in the table, not fatal
        return float("nan"), f"{type(exc).__name__}: {exc}"


def score_case(metrics: dict[str, EpisodeMetric], case: Case, truth: Truth,
               reference: dict[str, tuple[float, str | None]]) -> list[dict]:
    """Score a violated future with every metric against ``truth`` (whose own scores are ``reference``)."""
    violated = _frames(case.future)
    rows = []
    for name, metric in metrics.items():
        ref, error = reference[name]
        bad, bad_error = _score(metric, violated, truth)
        scored = not (math.isnan(ref) or math.isnan(bad))
        worse = (ref - bad) if metric.higher_is_better else (bad - ref)
        margin = margin_of(metric, ref) if scored else float("nan")
        rows.append({"metric": name, "truth": ref, "violated": bad, "margin": margin, "scored": scored,
                     "detected": bool(scored and worse > margin), "error": error or bad_error})
    return rows


def run_selftest(task: Task, episodes: list[Episode], violations: tuple[str, ...] = tuple(VIOLATIONS),
                 metrics: dict[str, EpisodeMetric] | None = None) -> pd.DataFrame:
    """One row per (violation, episode, metric): truth and violated scores, margin, detected,
    and whether the metric claims to catch the violation."""
    if metrics is None:
        metrics = build_all_metrics()[0]
    rows = []
    for episode in episodes:
        references: dict[int, tuple[Truth, dict]] = {}
        for violation in violations:
            case = VIOLATIONS[violation](task, episode)
            if case is None:
                continue
            if id(case.episode) not in references:
                truth = _truth(case.episode)
                references[id(case.episode)] = (truth, {n: _score(m, truth.frames, truth) for n, m in metrics.items()})
            truth, reference = references[id(case.episode)]
            for row in score_case(metrics, case, truth, reference):
                claimed = violation in getattr(metrics[row["metric"]], "catches", ())
                rows.append({"violation": violation, "episode": episode.key, **row, "claimed": claimed})
    return pd.DataFrame(rows)


def detection_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Violations by metrics: ``detected/scored`` episodes, ``*`` where the metric claims
    the violation, ``-`` where it could not score it."""
    def cell(group: pd.DataFrame) -> str:
        scored = int(group["scored"].sum())
        text = f"{int(group['detected'].sum())}/{scored}" if scored else "-"
        return text + ("*" if group["claimed"].any() else "")

    table = rows.groupby(["violation", "metric"], sort=False).apply(cell, include_groups=False).unstack("metric")
    return table.reindex(index=[v for v in VIOLATIONS if v in table.index])
