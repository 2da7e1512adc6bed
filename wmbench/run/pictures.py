"""Pictures of saved predictions: what the model predicted next to the truth.

For each prediction kept by ``wmbench run --save-predictions`` (:mod:`wmbench.run.saved`):

* a **strip** (``.png``): rows "truth", "prediction" and "difference" (the largest
  absolute difference over the colour channels, drawn with the inferno colour map:
  black = equal, yellow = opposite), one column per shown frame: the last context frame,
  then the future; optionally the object tracks extracted from the predicted frames
  (the objects' dark shade) drawn over the prediction row;
* an **animation** (``.gif``, or ``.mp4``): truth, prediction and difference side by
  side, one image per predicted frame, at the task's frame rate;
* per-step **curves** (``.svg``, one per task): PSNR and trajectory error over the
  horizon for each kept episode, with the task's mean PSNR over all its episodes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import cv2
import numpy as np

from wmbench.errors import OutputError, ResultError
from wmbench.media import pyplot, save_figure, write_video
from wmbench.metrics.steps import StepErrors, step_errors
from wmbench.run.saved import SavedPrediction, saved_predictions
from wmbench.worlds.cache import EpisodeCache
from wmbench.worlds.episode import Episode
from wmbench.worlds.pictures import (
    BAR,
    FUTURE_COLOUR,
    GAP,
    HEADER,
    PAPER,
    display_scale,
    draw_paths,
    shown_frames,
    text,
)

ROW_LABEL = 84
ROWS = ("truth", "prediction", "difference")
ANIMATIONS = ("gif", "mp4")


def difference(truth: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """``uint8 (H, W, 3)`` RGB picture of the largest channel difference (inferno map)."""
    diff = np.abs(truth.astype(np.int16) - pred.astype(np.int16)).max(axis=-1).astype(np.uint8)
    return cv2.cvtColor(cv2.applyColorMap(diff, cv2.COLORMAP_INFERNO), cv2.COLOR_BGR2RGB)


def _enlarge(image: np.ndarray, scale: int) -> np.ndarray:
    return np.ascontiguousarray(np.repeat(np.repeat(image, scale, 0), scale, 1))


def panels(episode: Episode, pred: np.ndarray, t: int, scale: int, errors: StepErrors | None) -> list[np.ndarray]:
    """Truth, prediction and difference at frame ``t`` (context frames: the truth in all
    three, the difference black), enlarged; tracks up to ``t`` when ``errors`` is given."""
    truth = episode.truth.frames[t]
    step = t - episode.context
    predicted = pred[step] if step >= 0 else truth
    images = [_enlarge(truth, scale), _enlarge(predicted, scale), _enlarge(difference(truth, predicted), scale)]
    if errors is not None and step >= 0:
        draw_paths(images[1], errors.pred_pixels[: step + 1], errors.pred_seen[: step + 1], episode, scale)
    return images


def comparison_strip(
    episode: Episode, pred: np.ndarray, every: int | None = None, errors: StepErrors | None = None
) -> np.ndarray:
    """The strip of one episode (RGB): three labelled rows, the last context frame then the future."""
    _, future = shown_frames(episode.context, episode.context + episode.horizon, every)
    columns = [episode.context - 1, *future]
    scale = display_scale(episode.resolution[1])
    h, w = episode.resolution[0] * scale, episode.resolution[1] * scale
    xs = [ROW_LABEL + i * (w + GAP) + (3 * GAP if i else 0) for i in range(len(columns))]
    canvas = np.full((HEADER + len(ROWS) * (h + GAP) + GAP, xs[-1] + w + GAP, 3), PAPER, np.uint8)
    canvas[HEADER - BAR - 2 : HEADER - 2, xs[1] : xs[-1] + w] = FUTURE_COLOUR
    text(canvas, "context", xs[0], 12, scale=0.45)
    text(canvas, "predicted future", xs[1], 12, FUTURE_COLOUR, 0.45)
    for row, label in enumerate(ROWS):
        text(canvas, label, 4, HEADER + row * (h + GAP) + h // 2 + 4)
    for t, x in zip(columns, xs):
        text(canvas, f"t={t}", x + 2, HEADER - BAR - 6)
        for row, image in enumerate(panels(episode, pred, t, scale, errors)):
            y = HEADER + row * (h + GAP)
            canvas[y : y + h, x : x + w] = image
    return canvas


def comparison_animation(episode: Episode, pred: np.ndarray, errors: StepErrors | None = None) -> list[np.ndarray]:
    """One image per predicted frame: truth, prediction and difference side by side (RGB)."""
    scale = display_scale(episode.resolution[1])
    h, w = episode.resolution[0] * scale, episode.resolution[1] * scale
    images = []
    for step in range(episode.horizon):
        t = episode.context + step
        canvas = np.full((HEADER + h + GAP, len(ROWS) * (w + GAP) + GAP, 3), PAPER, np.uint8)
        text(canvas, f"future t={t} (step {step + 1}/{episode.horizon})", GAP, 12, FUTURE_COLOUR, 0.45)
        for i, (label, image) in enumerate(zip(ROWS, panels(episode, pred, t, scale, errors))):
            x = GAP + i * (w + GAP)
            text(canvas, label, x, HEADER - 8)
            canvas[HEADER : HEADER + h, x : x + w] = image
        images.append(canvas)
    return images


def write_animation(images: Sequence[np.ndarray], out: Path, fps: float) -> Path:
    """``images`` (RGB, one size) as a looping GIF or an MP4 (``mp4v``) at ``fps``."""
    if out.suffix == ".gif":
        from PIL import Image

        frames = [Image.fromarray(image) for image in images]
        frames[0].save(out, save_all=True, append_images=frames[1:], loop=0, duration=round(1000 / fps), optimize=True)
        return out
    return write_video(out, np.stack(images), fps, codec="mp4v")


def curves_figure(
    task: str, curves: dict[str, StepErrors], fps: float, mean_psnr: Sequence[float] | None, out: Path
) -> Path:
    """PSNR (dB) and trajectory error (fraction of the view width) per horizon step, one
    line per kept episode (``curves``: by label), and the task's mean PSNR over all its episodes."""
    fig, (left, right) = pyplot().subplots(1, 2, figsize=(8.0, 3.0), constrained_layout=True)
    for label, errors in curves.items():
        steps = np.arange(1, len(errors.psnr_db) + 1)
        left.plot(steps, errors.psnr_db, marker=".", label=label)
        right.plot(steps, errors.trajectory_error, marker=".", label=label)
    if mean_psnr:
        left.plot(np.arange(1, len(mean_psnr) + 1), mean_psnr, color="black", linewidth=2, label="mean, all episodes")
    left.set(
        title=f"{task}: PSNR per step", xlabel=f"predicted frame ({fps:g} fps)", ylabel="PSNR (dB, higher is better)"
    )
    right.set(
        title="trajectory error per step",
        xlabel=f"predicted frame ({fps:g} fps)",
        ylabel="fraction of view width (lower is better)",
    )
    right.set_ylim(bottom=0)
    for axis in (left, right):
        axis.grid(alpha=0.3)
    left.legend(fontsize=7)
    return save_figure(fig, out)


@dataclass(frozen=True)
class Drawn:
    """The pictures of one task's kept predictions."""

    task: str
    strips: dict[int, Path]
    animations: dict[int, Path]
    curves: Path


def _episodes(record: dict[str, Any], kept: list[SavedPrediction], cache: EpisodeCache) -> dict[str, list]:
    """Kept predictions by task, in the run's seed order, each with its true episode."""
    from wmbench.tasks.catalog import recorded_task

    by_key = {(p.task, p.version, p.seed): p for p in kept}
    split = record["run"]["split"]
    found: dict[str, list] = {}
    for entry in record["tasks"]:
        task = None
        for episode in entry["episodes"]:
            saved = by_key.get((entry["name"], entry["version"], episode["seed"]))
            if saved is None:
                continue
            if task is None:
                task = recorded_task(entry, f"{saved.path}: task '{entry['name']}@{entry['version']}'")
            truth = cache.get(task, split, episode["seed"])
            if saved.frames.shape != truth.future_frames.shape:
                raise ResultError(
                    f"{saved.path}: frames are {saved.frames.shape}, the episode's future is "
                    f"{truth.future_frames.shape}"
                )
            found.setdefault(entry["name"], []).append((truth, saved))
    return found


def draw_result(
    result_dir: Path,
    record: dict[str, Any],
    out_dir: Path,
    cache: EpisodeCache,
    tracks: bool = False,
    animation: str = "gif",
    every: int | None = None,
) -> list[Drawn]:
    """Draw every prediction kept in ``result_dir`` (whose ``result.json`` is ``record``)
    into ``out_dir/<task>/``; returns what was written, task by task."""
    if animation not in ANIMATIONS:
        raise OutputError(f"animations are written as {' or '.join(ANIMATIONS)}, not '{animation}'")
    kept = saved_predictions(result_dir)
    if not kept:
        raise ResultError(f"{result_dir}: holds no saved predictions (run with --save-predictions N)")
    drawn = []
    for task, pairs in _episodes(record, kept, cache).items():
        folder = out_dir / task
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"cannot write {folder}: {exc.strerror or exc}") from exc
        strips, animations, curves = {}, {}, {}
        for index, (episode, saved) in enumerate(pairs):
            errors = step_errors(episode, saved.frames)
            curves[f"episode {index} (seed {saved.seed})"] = errors
            overlay = errors if tracks else None
            strip_path = folder / f"{saved.seed}.png"
            _write_png(comparison_strip(episode, saved.frames, every, overlay), strip_path)
            strips[saved.seed] = strip_path
            animations[saved.seed] = write_animation(
                comparison_animation(episode, saved.frames, overlay), folder / f"{saved.seed}.{animation}", episode.fps
            )
        pooled = record["aggregates"].get(task, {}).get("pooled", {}).get("coherent_horizon", {})
        figure = curves_figure(
            task, curves, pairs[0][0].fps, pooled.get("mean_psnr_db_per_step"), folder / "curves.svg"
        )
        drawn.append(Drawn(task=task, strips=strips, animations=animations, curves=figure))
    return drawn


def _write_png(image: np.ndarray, out: Path) -> None:
    from PIL import Image

    try:
        Image.fromarray(image).save(out, optimize=True)
    except OSError as exc:
        raise OutputError(f"cannot write {out}: {exc.strerror or exc}") from exc
