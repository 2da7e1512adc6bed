"""Controlled corruptions of an episode's true future, scored as if a model predicted them.

Each corruption turns the true future into another one, ``uint8 (T, H, W, 3)`` like
``Episode.future_frames``, or says it does not apply to the episode (``None``). Kinds:

* ``reference``: the true future (what a perfect model predicts) and the frozen world
  (the last context frame repeated), the two ends of every index;
* ``physical``: a physical violation. Changes of the laws or materials (gravity,
  restitution, friction, solidity) and of the pace of time are re-simulated through the
  world (:mod:`wmbench.worlds.resimulate`); changes of one object (it vanishes,
  teleports, freezes, shrinks, grows) redraw the true states with it changed
  (:func:`wmbench.worlds.redraw`); time reversal plays the true frames backwards;
* ``appearance``: a mild change of the pictures that leaves the physics alone (blur,
  faint noise, brightness, contrast, a colour shift, a one-pixel shift, JPEG);
* ``coherence``: a temporal incoherence of the pictures (flicker, an object popping
  out for single frames, a jump of the picture, a colour drift over the horizon);
* ``ladder``: a graded physical error, a parameter off by a growing fraction
  (:data:`LADDER_STEPS`), re-simulated.

A physical change applies where it shows: some object ends up at least
:data:`SHOW_PIXELS` away from where it truly is on at least a quarter of the horizon's
frames, and on at least one of them at least :data:`SEEN` of it is in view in the true
or the changed future (or, for a change of an object's look, the object is visible
there). A change made only behind occluders or beyond the view's edges shows in no
picture: no metric can judge it, so it tests none. A re-simulated change of the laws,
materials or pace must also go beyond the physical variance: some object farther from
its true place than in every member of the episode's ensemble, on at least a quarter
of the frames. A future inside the ensemble's envelope is as close to the truth as the
world's own re-simulations, which is what the physics index calls plausible (its 100
is the physical variance), so it cannot test the index. Object changes start at
mid-horizon and pick the object that moves most after it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from wmbench.metrics.objects import inradius_pixels
from wmbench.tasks.schema import Task
from wmbench.worlds.episode import Episode, ObjectSpec, Rollout
from wmbench.worlds.meta import scale_of
from wmbench.worlds.resimulate import (
    Change,
    objects_pass_through,
    remove_solids,
    resimulate,
    scale_friction,
    scale_gravity,
    scale_restitution,
)
from wmbench.worlds.world import redraw

KINDS = ("reference", "physical", "appearance", "coherence", "ladder")
#: A physical change shows where an object is displaced at least this far (pixels) ...
SHOW_PIXELS = 2.0
#: ... on at least this fraction of the horizon's frames.
SHOW_FRACTION = 0.25
#: True visibility at which an object counts as visible.
VISIBLE = 0.99
#: Visible fraction (true or changed) from which an object's displacement is seen.
SEEN = 0.25
#: Teleport distance (fraction of the view width), shrink and growth factors.
TELEPORT_FRACTION = 1 / 8
#: A freeze happens away from impacts: the change of speed (pixels per frame^2) within a
#: frame of it, in the true track and every ensemble rollout, is below this, so the stop
#: has no cause ...
SMOOTH = 1.0
#: ... and from at least this speed (pixels per frame): a stop from slower is within the
#: jitter that the metrics allow a reading (1.5 pixels per frame^2).
FREEZE_SPEED = 2.0
SHRINK, GROW = 0.6, 1.5
#: Objects passing through each other show where two overlap by this much of the smaller
#: one's inradius.
OVERLAP_FRACTION = 0.5
#: Appearance: blur (pixels), noise (0-1 scale), brightness and contrast factors, colour
#: shift (0-1 scale per RGB channel), JPEG quality.
BLUR_SIGMA = 1.0
NOISE_SIGMA = 0.01
PHOTOMETRIC_STEP = 0.1
COLOUR_SHIFT = (0.04, -0.03, 0.03)
JPEG_QUALITY = 75
#: Coherence: flicker (relative brightness, alternating), jump (fraction of the view
#: width), drift (0-1 scale per RGB channel, reached at the end of the horizon).
FLICKER = 0.05
JUMP_FRACTION = 1 / 16
DRIFT = (0.12, -0.08, 0.06)
#: Relative errors of the ladders' rungs.
LADDER_STEPS = (0.05, 0.1, 0.25, 0.5, 1.0)

Future = np.ndarray
Make = Callable[[Task, Episode], Future | None]


@dataclass(frozen=True)
class Corruption:
    """One corruption: ``make(task, episode)`` gives the corrupted future or ``None``.
    Ladder rungs name their ``parameter`` and signed relative ``error``."""

    name: str
    kind: str
    make: Make
    description: str
    parameter: str | None = None
    error: float = 0.0


# -- what shows ------------------------------------------------------------------------------


def _horizon(episode: Episode) -> slice:
    """The horizon's frames among an episode's (context first)."""
    return slice(episode.context, episode.context + episode.horizon)


def _shows(episode: Episode, pixels: np.ndarray, visibility: np.ndarray) -> bool:
    """Whether object positions ``(T, N, 2)`` with their visibility ``(T, N)`` differ
    visibly from the true horizon's."""
    moved = np.linalg.norm(pixels - episode.truth.pixels[_horizon(episode)], axis=-1) >= SHOW_PIXELS
    seen = np.maximum(visibility, episode.truth.visibility[_horizon(episode)]) >= SEEN
    return bool(moved.any(axis=1).mean() >= SHOW_FRACTION and (moved & seen).any())


def _beyond_variance(episode: Episode, pixels: np.ndarray) -> bool:
    """Whether object positions ``(T, N, 2)`` stray from the true horizon's beyond the
    physical variance: some object farther from its true place than in every ensemble
    member, on at least :data:`SHOW_FRACTION` of the frames."""
    horizon = _horizon(episode)
    true = episode.truth.pixels[horizon]
    spread = np.max([np.linalg.norm(m.pixels[horizon] - true, axis=-1) for m in episode.ensemble], axis=0, initial=0.0)
    beyond = np.linalg.norm(pixels - true, axis=-1) > spread
    return bool(beyond.any(axis=1).mean() >= SHOW_FRACTION)


def _future_states(episode: Episode) -> np.ndarray:
    return episode.truth.states[_horizon(episode)]


def _onset(episode: Episode) -> int:
    return episode.horizon // 2


def moving_object(episode: Episode) -> int | None:
    """The object that moves most from mid-horizon on, among those fully visible then
    and moving visibly; ``None`` if there is none."""
    pixels = episode.truth.pixels[_horizon(episode)]
    visible = episode.truth.visibility[episode.context + _onset(episode)] >= VISIBLE
    travel = np.linalg.norm(pixels[_onset(episode) :] - pixels[_onset(episode)], axis=-1).max(axis=0)
    candidates = np.flatnonzero(visible & (travel >= SHOW_PIXELS))
    return None if not len(candidates) else int(candidates[np.argmax(travel[candidates])])


# -- physical violations ---------------------------------------------------------------------


def _resimulated(change: Change | None = None, speed: float = 1.0, always: bool = False) -> Make:
    """The re-simulated future where it shows beyond the physical variance (``always``:
    everywhere)."""

    def make(task: Task, episode: Episode) -> Future | None:
        rollout = resimulate(task, episode, change, speed)
        if always or (
            _shows(episode, rollout.pixels, rollout.visibility) and _beyond_variance(episode, rollout.pixels)
        ):
            return rollout.frames
        return None

    return make


def _pass_through(task: Task, episode: Episode) -> Future | None:
    """Objects stop colliding with each other, re-simulated, where it shows and two of
    them then overlap by at least :data:`OVERLAP_FRACTION` of the smaller one's inradius
    (a scene whose objects never meet, such as pendulums swinging past each other in
    planes of their own, is unchanged)."""
    rollout = resimulate(task, episode, objects_pass_through)
    if not _shows(episode, rollout.pixels, rollout.visibility):
        return None
    radii = np.array([inradius_pixels(o, scale_of(episode).ppm) for o in episode.objects])
    for i, j in zip(*np.triu_indices(len(radii), 1)):
        gap = np.linalg.norm(rollout.pixels[:, i] - rollout.pixels[:, j], axis=-1)
        if (radii[i] + radii[j] - gap).max() >= OVERLAP_FRACTION * min(radii[i], radii[j]):
            return rollout.frames
    return None


def time_reversed(task: Task, episode: Episode) -> Future | None:
    horizon = _horizon(episode)
    reversed_track = episode.truth.pixels[horizon][::-1], episode.truth.visibility[horizon][::-1]
    return episode.future_frames[::-1].copy() if _shows(episode, *reversed_track) else None


def _redrawn(
    episode: Episode, states: np.ndarray, objects: list[ObjectSpec | None], start: int, steps: list[int] | None = None
) -> Future:
    """The true future with horizon steps ``steps`` (default: from ``start`` on) redrawn
    from ``states (T, N, >=3)`` with ``objects`` in place of the episode's."""
    frames = episode.future_frames.copy()
    for t in steps if steps is not None else range(start, episode.horizon):
        frames[t] = redraw(episode, episode.context + t, states[t], objects=objects)[0]
    return frames


def _edit_object(edit: Callable[[Episode, int, np.ndarray, list[ObjectSpec | None]], None]) -> Make:
    """A change of the moving object from mid-horizon on: ``edit(episode, k, states, objects)``
    changes copies of the future's states and the drawn objects in place."""

    def make(task: Task, episode: Episode) -> Future | None:
        k = moving_object(episode)
        if k is None:
            return None
        states, objects = _future_states(episode).copy(), list[ObjectSpec | None](episode.objects)
        edit(episode, k, states, objects)
        return _redrawn(episode, states, objects, _onset(episode))

    return make


def _vanish(episode: Episode, k: int, states: np.ndarray, objects: list[ObjectSpec | None]) -> None:
    objects[k] = None


def _teleport(episode: Episode, k: int, states: np.ndarray, objects: list[ObjectSpec | None]) -> None:
    """Shifted sideways by :data:`TELEPORT_FRACTION` of the view, towards its centre."""
    t = _onset(episode)
    width = episode.resolution[1]
    ppm = episode.truth.camera[episode.context + t, 2] if episode.truth.camera is not None else width
    shift = TELEPORT_FRACTION * width / ppm
    left = episode.truth.pixels[episode.context + t, k, 0] < width / 2
    states[t:, k, 0] += shift if left else -shift


def _speeds(episode: Episode, rollout: Rollout) -> np.ndarray:
    """``(T, N)`` pixels per frame of each object in ``rollout``, row ``t``: into horizon step ``t``."""
    pixels = rollout.pixels[episode.context - 1 : episode.context + episode.horizon]
    return np.linalg.norm(np.diff(pixels, axis=0), axis=-1)


def _smooth(episode: Episode, rollout: Rollout) -> np.ndarray:
    """``(T - 1, N)``: whether each object's speed changes by less than :data:`SMOOTH` at
    horizon step ``t`` and the steps beside it, in ``rollout``."""
    speed = _speeds(episode, rollout)
    kick = np.pad(np.abs(np.diff(speed, axis=0)), ((1, 1), (0, 0)), constant_values=np.inf)  # row t + 1: at step t
    return np.maximum.reduce([kick[:-2], kick[1:-1], kick[2:]]) < SMOOTH  # row t: steps t-1..t+1


def _freeze(task: Task, episode: Episode) -> Future | None:
    """The object that moves fastest over the horizon stops dead there, away from impacts
    (no change of speed of :data:`SMOOTH` or more within a frame, in the truth or any
    ensemble rollout: a stop where some rollout has an impact is within the physical
    variance) and fully visible; not applied where no object moves :data:`FREEZE_SPEED` so."""
    speed = _speeds(episode, episode.truth)
    smooth = np.logical_and.reduce([_smooth(episode, r) for r in (episode.truth, *episode.ensemble)])
    visible = episode.truth.visibility[_horizon(episode)] >= VISIBLE
    candidate = visible & (speed >= FREEZE_SPEED)
    candidate[:-1] &= smooth
    candidate[0] = candidate[-1] = False  # it moves in the horizon, then stops before its end
    if not candidate.any():
        return None
    t, k = np.unravel_index(np.argmax(np.where(candidate, speed, -1.0)), speed.shape)
    states = _future_states(episode).copy()
    states[t:, k] = states[t, k]
    return _redrawn(episode, states, list[ObjectSpec | None](episode.objects), int(t))


def _scaled(obj: ObjectSpec, factor: float) -> ObjectSpec:
    return dataclasses.replace(
        obj, size=tuple(s * factor for s in obj.size), vertices=tuple((x * factor, y * factor) for x, y in obj.vertices)
    )


def _resize(factor: float) -> Callable[[Episode, int, np.ndarray, list[ObjectSpec | None]], None]:
    def edit(episode: Episode, k: int, states: np.ndarray, objects: list[ObjectSpec | None]) -> None:
        objects[k] = _scaled(episode.objects[k], factor)

    return edit


# -- appearance ------------------------------------------------------------------------------


def _per_frame(change: Callable[[np.ndarray], np.ndarray]) -> Make:
    """A change of every frame (float32 0-255 in, float 0-255 out, rounded and clipped)."""

    def make(task: Task, episode: Episode) -> Future:
        frames = episode.future_frames.astype(np.float32)
        return np.clip(np.rint(np.stack([change(f) for f in frames])), 0, 255).astype(np.uint8)

    return make


def _blur(frame: np.ndarray) -> np.ndarray:
    return cv2.GaussianBlur(frame, (0, 0), BLUR_SIGMA)


def noise(task: Task, episode: Episode) -> Future:
    rng = np.random.default_rng([episode.seed, 11])
    frames = episode.future_frames.astype(np.float64) + rng.normal(0.0, 255 * NOISE_SIGMA, episode.future_frames.shape)
    return np.clip(np.rint(frames), 0, 255).astype(np.uint8)


def _contrast(factor: float) -> Callable[[np.ndarray], np.ndarray]:
    """Blend with the frame's mean grey level (as torchvision's ``adjust_contrast``)."""

    def change(frame: np.ndarray) -> np.ndarray:
        grey = float(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY).mean())
        return grey + factor * (frame - grey)

    return change


def _shift_one_pixel(frame: np.ndarray) -> np.ndarray:
    """One pixel to the right, the left column repeated."""
    out = frame.copy()
    out[:, 1:] = frame[:, :-1]
    return out


def jpeg(task: Task, episode: Episode) -> Future:
    out = []
    for frame in episode.future_frames:
        ok, data = cv2.imencode(
            ".jpg", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]
        )
        out.append(cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB))
    return np.stack(out)


# -- temporal incoherence --------------------------------------------------------------------


def flicker(task: Task, episode: Episode) -> Future:
    frames = episode.future_frames.astype(np.float32)
    gains = 1 + FLICKER * np.where(np.arange(episode.horizon) % 2, -1.0, 1.0)
    return np.clip(np.rint(frames * gains[:, None, None, None]), 0, 255).astype(np.uint8)


def popping(task: Task, episode: Episode) -> Future | None:
    """The moving object is missing from single frames at a quarter, half and three
    quarters of the horizon."""
    k = moving_object(episode)
    if k is None:
        return None
    objects = list[ObjectSpec | None](episode.objects)
    objects[k] = None
    t = episode.horizon
    return _redrawn(episode, _future_states(episode), objects, 0, steps=[t // 4, t // 2, 3 * t // 4])


def jump(task: Task, episode: Episode) -> Future:
    """From mid-horizon on the picture is displaced by :data:`JUMP_FRACTION` of its width
    (right and down, borders repeated)."""
    frames = episode.future_frames.copy()
    d = max(1, round(JUMP_FRACTION * episode.resolution[1]))
    matrix = np.array([[1, 0, d], [0, 1, d]], np.float32)
    for t in range(_onset(episode), episode.horizon):
        frames[t] = cv2.warpAffine(frames[t], matrix, frames[t].shape[1::-1], borderMode=cv2.BORDER_REPLICATE)
    return frames


def drift(task: Task, episode: Episode) -> Future:
    """A colour cast growing linearly to :data:`DRIFT` at the end of the horizon."""
    frames = episode.future_frames.astype(np.float32)
    ramp = np.arange(1, episode.horizon + 1, dtype=np.float32) / episode.horizon
    cast = 255 * ramp[:, None] * np.asarray(DRIFT, np.float32)
    return np.clip(np.rint(frames + cast[:, None, None, :]), 0, 255).astype(np.uint8)


# -- the catalogue ---------------------------------------------------------------------------


def frozen(task: Task, episode: Episode) -> Future:
    return np.repeat(episode.truth.frames[episode.context - 1][None], episode.horizon, 0)


def truth(task: Task, episode: Episode) -> Future:
    return episode.future_frames.copy()


def _ladder(parameter: str, scale: Callable[[float], Change], sign: int) -> list[Corruption]:
    """Rungs scored on every episode where the largest one shows (see :func:`ladder_shows`)."""
    return [
        Corruption(
            f"{parameter}_{'+' if sign > 0 else '-'}{round(100 * step)}%",
            "ladder",
            _resimulated(scale(1 + sign * step), always=True),
            f"{parameter} times {1 + sign * step:g} from the last context frame, re-simulated",
            parameter=parameter,
            error=sign * step,
        )
        for step in LADDER_STEPS
    ]


CATALOGUE: tuple[Corruption, ...] = (
    Corruption("truth", "reference", truth, "the true future"),
    Corruption("frozen", "reference", frozen, "the last context frame repeated"),
    Corruption("time_reversed", "physical", time_reversed, "the true future played backwards"),
    Corruption(
        "slow_motion", "physical", _resimulated(speed=0.5), "half speed from the last context frame, re-simulated"
    ),
    Corruption(
        "fast_motion", "physical", _resimulated(speed=2.0), "double speed from the last context frame, re-simulated"
    ),
    Corruption("object_vanishes", "physical", _edit_object(_vanish), "the moving object is gone from mid-horizon on"),
    Corruption(
        "object_teleports",
        "physical",
        _edit_object(_teleport),
        f"the moving object jumps sideways by 1/{round(1 / TELEPORT_FRACTION)} of the view at mid-horizon",
    ),
    Corruption(
        "object_freezes",
        "physical",
        _freeze,
        "the fastest object stops dead where it moves fastest, away from impacts",
    ),
    Corruption(
        "object_shrinks",
        "physical",
        _edit_object(_resize(SHRINK)),
        f"the moving object is drawn {SHRINK}x as large from mid-horizon on",
    ),
    Corruption(
        "object_grows",
        "physical",
        _edit_object(_resize(GROW)),
        f"the moving object is drawn {GROW}x as large from mid-horizon on",
    ),
    Corruption("gravity_halved", "physical", _resimulated(scale_gravity(0.5)), "gravity times 0.5, re-simulated"),
    Corruption("gravity_doubled", "physical", _resimulated(scale_gravity(2.0)), "gravity times 2, re-simulated"),
    Corruption("gravity_reversed", "physical", _resimulated(scale_gravity(-1.0)), "gravity pulling up, re-simulated"),
    Corruption(
        "restitution_halved",
        "physical",
        _resimulated(scale_restitution(0.5)),
        "every elasticity times 0.5, re-simulated",
    ),
    Corruption(
        "friction_halved",
        "physical",
        _resimulated(scale_friction(0.5)),
        "every friction coefficient times 0.5, re-simulated",
    ),
    Corruption(
        "through_walls", "physical", _resimulated(remove_solids), "floors and walls stop being solid, re-simulated"
    ),
    Corruption(
        "through_objects",
        "physical",
        _pass_through,
        "objects stop colliding with each other, re-simulated, where two then overlap by half an inradius",
    ),
    Corruption("blur", "appearance", _per_frame(_blur), f"Gaussian blur, sigma {BLUR_SIGMA:g} px"),
    Corruption("noise", "appearance", noise, f"Gaussian noise, sigma {NOISE_SIGMA:g}"),
    Corruption(
        "brighter",
        "appearance",
        _per_frame(lambda f: f * (1 + PHOTOMETRIC_STEP)),
        f"brightness +{PHOTOMETRIC_STEP:.0%}",
    ),
    Corruption(
        "darker", "appearance", _per_frame(lambda f: f * (1 - PHOTOMETRIC_STEP)), f"brightness -{PHOTOMETRIC_STEP:.0%}"
    ),
    Corruption(
        "more_contrast", "appearance", _per_frame(_contrast(1 + PHOTOMETRIC_STEP)), f"contrast +{PHOTOMETRIC_STEP:.0%}"
    ),
    Corruption(
        "less_contrast", "appearance", _per_frame(_contrast(1 - PHOTOMETRIC_STEP)), f"contrast -{PHOTOMETRIC_STEP:.0%}"
    ),
    Corruption(
        "colour_shift",
        "appearance",
        _per_frame(lambda f: f + 255 * np.asarray(COLOUR_SHIFT, np.float32)),
        f"{COLOUR_SHIFT} added to RGB (0-1 scale)",
    ),
    Corruption("shift_1px", "appearance", _per_frame(_shift_one_pixel), "the whole picture one pixel to the right"),
    Corruption("jpeg", "appearance", jpeg, f"JPEG compression, quality {JPEG_QUALITY}"),
    Corruption("flicker", "coherence", flicker, f"brightness alternating by +-{FLICKER:.0%} from frame to frame"),
    Corruption("popping", "coherence", popping, "the moving object missing from single frames"),
    Corruption(
        "jump", "coherence", jump, f"the picture jumps by 1/{round(1 / JUMP_FRACTION)} of its width at mid-horizon"
    ),
    Corruption("drift", "coherence", drift, f"a colour cast growing to {DRIFT} over the horizon"),
    *_ladder("gravity", scale_gravity, +1),
    *_ladder("restitution", scale_restitution, -1),
)
CORRUPTIONS = {c.name: c for c in CATALOGUE}
LADDER_SCALES: dict[str, tuple[Callable[[float], Change], int]] = {
    "gravity": (scale_gravity, +1),
    "restitution": (scale_restitution, -1),
}


def ladder_shows(parameter: str, task: Task, episode: Episode) -> bool:
    """Whether ``parameter`` shows on ``episode``: its ladder's largest error does."""
    scale, sign = LADDER_SCALES[parameter]
    return _resimulated(scale(1 + sign * max(LADDER_STEPS)))(task, episode) is not None
