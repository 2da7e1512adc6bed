"""Typed views of an episode's metadata, for the code that reads it.

``Episode.meta`` stays the plain mapping an episode is hashed and stored with; the
functions here read and check the parts that scoring depends on, as dataclasses. A
malformed entry raises a :class:`~wmbench.errors.WmbenchError` naming the episode and
the key. Frames count from the first context frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from wmbench.errors import WmbenchError

if TYPE_CHECKING:
    from wmbench.worlds.episode import Episode


@dataclass(frozen=True)
class Scale:
    """How the scene maps to pixels and how it falls: ``ppm`` pixels per metre at the
    episode's resolution, ``gravity`` in m/s^2 (acting along -y)."""

    ppm: float
    gravity: float


@dataclass(frozen=True)
class Alternative:
    """What one alternative rollout is: ``kind`` ``"actions"`` (another action sequence)
    or ``"impossible"`` (a violation-of-expectation twin, with its ``violation`` and
    ``onset``: the first frame, counted from the first context frame, that differs)."""

    kind: str
    violation: str | None = None
    onset: int | None = None

    @property
    def impossible(self) -> bool:
        return self.kind == "impossible"


@dataclass(frozen=True)
class Revisit:
    """The camera shows a view at ``leave_frame``, leaves, and is back at ``return_frame``."""

    leave_frame: int
    return_frame: int


def scale_of(episode: Episode) -> Scale:
    """``meta["ppm"]`` and ``meta["gravity"]``, written for every episode."""
    try:
        return Scale(float(episode.meta["ppm"]), float(episode.meta["gravity"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise WmbenchError(f"episode {episode.key}: meta needs numbers 'ppm' and 'gravity' ({exc})") from exc


def objects_collide(episode: Episode) -> bool:
    """Whether the objects of ``episode``'s scene (``meta["scene"]``) collide with each
    other; an unknown scene's do."""
    from wmbench.worlds.scenes import SCENES

    scene = episode.meta.get("scene")
    return not isinstance(scene, str) or scene not in SCENES or SCENES[scene].objects_collide


def revisit_of(episode: Episode) -> Revisit | None:
    """``meta["revisit"]`` (written by revisit scenes), ``None`` without it."""
    entry = episode.meta.get("revisit")
    if entry is None:
        return None
    try:
        leave, back = entry["leave_frame"], entry["return_frame"]
        valid = isinstance(leave, int) and isinstance(back, int) and 0 <= leave < back
    except (TypeError, KeyError):
        valid = False
    if not valid:
        raise WmbenchError(
            f"episode {episode.key}: meta 'revisit' must hold integer frames "
            f"0 <= leave_frame < return_frame, got {entry!r}"
        )
    return Revisit(leave, back)


def _alternative(episode: Episode, k: int, entry: Any) -> Alternative:
    if not isinstance(entry, dict):
        return Alternative("unknown")
    if entry.get("kind") != "impossible":
        return Alternative(str(entry.get("kind", "unknown")))
    onset = entry.get("onset")
    if not isinstance(onset, int) or not 0 <= onset < len(episode.frames):
        raise WmbenchError(
            f"episode {episode.key}: meta 'alternatives'[{k}] is impossible but its "
            f"'onset' is {onset!r}, not a frame index in [0, {len(episode.frames)})"
        )
    return Alternative("impossible", entry.get("violation"), onset)


def target_of(episode: Episode) -> int | None:
    """``meta["target"]``: the object id whose outcome an action task scores (``None``: not named)."""
    if "target" not in episode.meta:
        return None
    target = episode.meta["target"]
    if target not in {o.id for o in episode.objects}:
        raise WmbenchError(f"episode {episode.key}: meta 'target' is {target!r}, not one of its object ids")
    return target


def alternatives_of(episode: Episode) -> list[Alternative]:
    """One :class:`Alternative` per alternative rollout, in order, from ``meta["alternatives"]``
    (kind ``"unknown"`` where it says nothing)."""
    described = episode.meta.get("alternatives", [])
    described = described if isinstance(described, list) else []
    return [
        _alternative(episode, k, described[k] if k < len(described) else None) for k in range(len(episode.alternatives))
    ]
