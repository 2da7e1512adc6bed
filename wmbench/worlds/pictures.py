"""Pictures of episodes: a labelled strip (PNG) or an animation (GIF), so a task can be
understood at a glance.

A strip has one row per episode and one column per shown frame; context columns are
marked blue, future columns orange, with a gap between them. Optional overlays: each
object's ground-truth track (``Rollout.pixels`` up to the shown frame, drawn only
where the object is visible) and the outline of occluders (pixels whose instance id
is :data:`OCCLUDER_ID`). Frames smaller than :data:`MIN_DISPLAY` pixels are enlarged
(nearest neighbour) so labels stay legible.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from wmbench.errors import OutputError
from wmbench.worlds.episode import OCCLUDER_ID, Episode

MIN_DISPLAY = 128
CONTEXT_COLOUR = (40, 110, 220)
FUTURE_COLOUR = (235, 120, 20)
OCCLUDER_OUTLINE = (255, 230, 0)
PAPER = (255, 255, 255)
INK = (30, 30, 30)
MAX_AUTO_COLUMNS = 12
GAP, BAR, HEADER, LABEL = 4, 4, 34, 28
_FONT = cv2.FONT_HERSHEY_SIMPLEX
_SHIFT = 4


def shown_frames(context: int, length: int, every: int | None = None) -> tuple[list[int], list[int]]:
    """Frame indices shown for the context and the future.

    Every ``every``-th frame counting back from the last context frame and forward from
    the first future frame; the last frame is always shown. ``None`` picks ``every``
    so that at most :data:`MAX_AUTO_COLUMNS` columns are shown.
    """
    if every is None:
        every = max(1, math.ceil(length / MAX_AUTO_COLUMNS))
    if every < 1:
        raise ValueError(f"every must be >= 1, got {every}")
    past = sorted(range(context - 1, -1, -every))
    future = list(range(context, length, every))
    if future and future[-1] != length - 1:
        future.append(length - 1)
    return past, future


def display_scale(resolution: int) -> int:
    """Integer enlargement so a frame is at least :data:`MIN_DISPLAY` pixels wide."""
    return max(1, math.ceil(MIN_DISPLAY / resolution))


def overlay(episode: Episode, t: int, scale: int, tracks: bool = False, occluders: bool = False) -> np.ndarray:
    """Frame ``t`` of the truth, enlarged ``scale`` times, with the chosen overlays (RGB)."""
    truth = episode.truth
    image = np.ascontiguousarray(np.repeat(np.repeat(truth.frames[t], scale, 0), scale, 1))
    if occluders:
        mask = np.repeat(np.repeat((truth.instance_ids[t] == OCCLUDER_ID).astype(np.uint8), scale, 0), scale, 1)
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        cv2.drawContours(image, contours, -1, OCCLUDER_OUTLINE, max(1, scale), cv2.LINE_AA)
    if tracks:
        _draw_tracks(image, episode, t, scale)
    return image


def _draw_tracks(image: np.ndarray, episode: Episode, t: int, scale: int) -> None:
    """Each object's true path up to frame ``t``, only between frames where it is visible."""
    draw_paths(image, episode.truth.pixels[: t + 1], episode.truth.visibility[: t + 1] > 0, episode, scale)


def draw_paths(image: np.ndarray, pixels: np.ndarray, seen: np.ndarray, episode: Episode, scale: int) -> None:
    """Draw each object's path ``pixels`` ``(t, N, 2)`` (pixel centres of the episode's
    frames) on ``image`` enlarged ``scale`` times, only between steps where ``seen``
    ``(t, N)``; a dot marks its last position if seen there."""
    points = np.round(((np.nan_to_num(pixels) + 0.5) * scale - 0.5) * (1 << _SHIFT)).astype(np.int64)
    seen = seen & ~np.isnan(pixels).any(-1)
    thickness = max(1, scale)
    last = len(pixels) - 1
    for k, obj in enumerate(episode.objects):
        dark = tuple(int(c * 0.5) for c in obj.colour)
        for s in range(1, last + 1):
            if seen[s - 1, k] and seen[s, k]:
                cv2.line(image, tuple(map(int, points[s - 1, k])), tuple(map(int, points[s, k])), dark,
                         thickness, cv2.LINE_AA, _SHIFT)
        if last >= 0 and seen[last, k]:
            cv2.circle(image, tuple(map(int, points[last, k])), thickness << _SHIFT, dark, -1, cv2.LINE_AA, _SHIFT)


def text(canvas: np.ndarray, words: str, x: int, y: int, colour=INK, scale: float = 0.4) -> None:
    """Write ``words`` on ``canvas`` with their baseline at ``(x, y)``."""
    cv2.putText(canvas, words, (x, y), _FONT, scale, colour, 1, cv2.LINE_AA)


def strip(episodes: Sequence[Episode], every: int | None = None, tracks: bool = False,
          occluders: bool = False) -> np.ndarray:
    """One row per episode, one column per shown frame, context and future apart (RGB)."""
    first = episodes[0]
    past, future = shown_frames(first.context, first.context + first.horizon, every)
    scale = display_scale(first.resolution[1])
    h, w = first.resolution[0] * scale, first.resolution[1] * scale
    columns = [(t, LABEL + i * (w + GAP)) for i, t in enumerate(past)]
    start = LABEL + len(past) * (w + GAP) + 3 * GAP
    columns += [(t, start + i * (w + GAP)) for i, t in enumerate(future)]
    width = columns[-1][1] + w + GAP
    canvas = np.full((HEADER + len(episodes) * (h + GAP) + GAP, width, 3), PAPER, np.uint8)
    for group, colour, name in ((past, CONTEXT_COLOUR, "context"), (future, FUTURE_COLOUR, "future")):
        xs = [x for t, x in columns if t in group]
        if xs:
            canvas[HEADER - BAR - 2 : HEADER - 2, xs[0] : xs[-1] + w] = colour
            text(canvas, name, xs[0], 12, colour, 0.45)
    for t, x in columns:
        text(canvas, f"t={t}", x + 2, HEADER - BAR - 6)
    for row, episode in enumerate(episodes):
        y = HEADER + row * (h + GAP)
        text(canvas, f"#{row}", 2, y + h // 2 + 4)
        for t, x in columns:
            canvas[y : y + h, x : x + w] = overlay(episode, t, scale, tracks, occluders)
    return canvas


def animation(episodes: Sequence[Episode], tracks: bool = False, occluders: bool = False) -> list[np.ndarray]:
    """One image per time step: episodes side by side, framed blue in the context and
    orange in the future, with the phase and frame number written above (RGB)."""
    first = episodes[0]
    scale = display_scale(first.resolution[1])
    h, w = first.resolution[0] * scale, first.resolution[1] * scale
    length = first.context + first.horizon
    images = []
    for t in range(length):
        phase, colour = ("context", CONTEXT_COLOUR) if t < first.context else ("future", FUTURE_COLOUR)
        canvas = np.full((HEADER - 14 + h + 2 * BAR + GAP, len(episodes) * (w + 2 * BAR + GAP) + GAP, 3),
                         PAPER, np.uint8)
        text(canvas, f"{phase}  t={t}/{length - 1}", GAP, 14, colour, 0.45)
        for i, episode in enumerate(episodes):
            x, y = GAP + i * (w + 2 * BAR + GAP), HEADER - 14
            canvas[y : y + h + 2 * BAR, x : x + w + 2 * BAR] = colour
            canvas[y + BAR : y + BAR + h, x + BAR : x + BAR + w] = overlay(episode, t, scale, tracks, occluders)
        images.append(canvas)
    return images


def check_picture_path(out: Path | str) -> Path:
    """``out`` if it names a ``.png`` or ``.gif`` file, else an :class:`OutputError`."""
    out = Path(out)
    if out.suffix.lower() not in (".png", ".gif"):
        raise OutputError(f"{out}: pictures are written as .png (a strip) or .gif (an animation), "
                          f"not '{out.suffix}'")
    return out


def save_picture(episodes: Sequence[Episode], out: Path | str, every: int | None = None,
                 tracks: bool = False, occluders: bool = False) -> Path:
    """Write a strip (``.png``) or an animation (``.gif``, at the episodes' fps) to ``out``."""
    from PIL import Image

    out = check_picture_path(out)
    if not episodes:
        raise OutputError(f"{out}: no episodes to draw")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.suffix.lower() == ".png":
            Image.fromarray(strip(episodes, every, tracks, occluders)).save(out, optimize=True)
        else:
            frames = [Image.fromarray(image) for image in animation(episodes, tracks, occluders)]
            frames[0].save(out, save_all=True, append_images=frames[1:], loop=0,
                           duration=round(1000 / episodes[0].fps), optimize=True)
    except OSError as exc:
        raise OutputError(f"cannot write {out}: {exc.strerror or exc}") from exc
    return out
