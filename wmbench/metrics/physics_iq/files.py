"""Finding a Physics-IQ submission's files: the real takes, the generated videos and
the optional precomputed real masks of every view of every scenario.

The real takes are looked for at the scored frame rate; where there are none, the
benchmark's 30 FPS takes are used and converted to it (as the official
``run_physics_iq`` does with ``fps_changer``; :func:`~.video.converted_frames`)."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from wmbench.errors import PhysicsIQError

VIEWS = ("perspective-left", "perspective-center", "perspective-right")
REAL_NAME = re.compile(
    r"^(?P<id>\d{4})_testing-videos_(?P<fps>\d+)FPS_(?P<view>perspective-[a-z]+)"
    r"_take-(?P<take>[12])_(?P<scenario>[^_]+\.mp4)$"
)
MASK_KIND = "video-masks"
#: The frame rate of the benchmark's real takes, converted to a submission's own.
SOURCE_FPS = 30


@dataclass(frozen=True)
class ViewFiles:
    """The files of one view of one scenario."""

    scenario: str
    view: str
    generated: Path
    takes: tuple[Path, Path]
    masks: tuple[Path | None, Path | None]
    takes_fps: int  # the takes' frame rate in their names: converted when not the scored one


def _is_generated(path: Path) -> bool:
    return "_testing-videos_" not in path.name and f"_{MASK_KIND}_" not in path.name


def generated_videos(generated_dir: Path) -> list[Path]:
    """The generated videos (``ID_*.mp4``, neither real takes nor masks) in name order."""
    if not generated_dir.is_dir():
        raise PhysicsIQError(f"{generated_dir}: not a directory")
    found = [p for p in sorted(generated_dir.glob("[0-9][0-9][0-9][0-9]_*.mp4")) if _is_generated(p)]
    if not found:
        raise PhysicsIQError(f"{generated_dir}: no generated videos named ID_*.mp4")
    return found


def _real_videos(real_dir: Path, fps: int) -> dict[str, dict[str, dict[int, tuple[str, Path]]]]:
    found: dict[str, dict[str, dict[int, tuple[str, Path]]]] = defaultdict(lambda: defaultdict(dict))
    for path in sorted(real_dir.glob("*.mp4")):
        match = REAL_NAME.match(path.name)
        if match and int(match["fps"]) == fps:
            found[match["scenario"]][match["view"]][int(match["take"])] = (match["id"], path)
    return found


def _generated_video(generated_dir: Path, video_id: str, scenario: str, view: str) -> Path:
    candidates = [p for p in sorted(generated_dir.glob(f"{video_id}_*.mp4")) if _is_generated(p)]
    if len(candidates) != 1:
        problem = "no generated video" if not candidates else f"{len(candidates)} generated videos"
        raise PhysicsIQError(f"{generated_dir}: {problem} named {video_id}_*.mp4 for {scenario}, {view}")
    return candidates[0]


def _mask_files(
    masks_dir: Path | None, takes: dict[int, tuple[str, Path]], fps: int, view: str, scenario: str, required: bool
) -> tuple[Path | None, Path | None]:
    """The two takes' mask videos at ``fps``; ``(None, None)`` (computed) without
    ``masks_dir``, or where they are missing and not ``required``."""
    if masks_dir is None:
        return None, None
    first, second = (masks_dir / f"{takes[k][0]}_{MASK_KIND}_{fps}FPS_{view}_take-{k}_{scenario}" for k in (1, 2))
    for path in (first, second):
        if not path.is_file():
            if not required:
                return None, None
            raise PhysicsIQError(f"{masks_dir}: missing mask video {path.name}")
    return first, second


def find_views(generated_dir: Path, real_dir: Path, masks_dir: Path | None, fps: int) -> list[ViewFiles]:
    """Every view of every scenario with real takes in ``real_dir``, in name order.

    Takes at ``fps`` (and their masks from ``masks_dir``) are used as they are; without
    any, the takes at :data:`SOURCE_FPS` are to be converted, and their masks computed
    from the converted frames unless ``masks_dir`` has them at ``fps``.
    """
    for folder in (generated_dir, real_dir, masks_dir):
        if folder is not None and not folder.is_dir():
            raise PhysicsIQError(f"{folder}: not a directory")
    takes_fps = fps if _real_videos(real_dir, fps) or fps == SOURCE_FPS else SOURCE_FPS
    real = _real_videos(real_dir, takes_fps)
    if not real:
        source = "" if fps == SOURCE_FPS else f" (nor at {SOURCE_FPS} FPS to convert)"
        raise PhysicsIQError(
            f"{real_dir}: no real videos named ID_testing-videos_{fps}FPS_VIEW_take-N_SCENARIO.mp4{source}"
        )
    views = []
    for scenario, by_view in sorted(real.items()):
        for view in VIEWS:
            takes = by_view.get(view, {})
            if set(takes) != {1, 2}:
                missing = ", ".join(f"take-{k}" for k in (1, 2) if k not in takes)
                raise PhysicsIQError(f"{real_dir}: scenario {scenario}, {view}: no real {missing} at {takes_fps} FPS")
            masks = _mask_files(masks_dir, takes, fps, view, scenario, required=takes_fps == fps)
            generated = _generated_video(generated_dir, takes[1][0], scenario, view)
            views.append(ViewFiles(scenario, view, generated, (takes[1][1], takes[2][1]), masks, takes_fps))
    return views
