"""Export a split's inputs for models that run elsewhere, with a manifest of what to return.

Layout of an export directory (see ``docs/offline.md``)::

    manifest.json                     what is asked for: episodes, frame counts, sizes, naming
    episodes/<id>/context.mkv         the context frames as a lossless FFV1 video
    episodes/<id>/context/0000.png    ... and as PNG frames
    episodes/<id>/actions.json        the actions (action tasks only)

An export holds the context and nothing of the future: no future frames, states,
seeds or scene parameters. Episodes are named by an opaque id derived from their
content hash, and listed in id order.
"""

from __future__ import annotations

import hashlib
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from wmbench._version import __version__
from wmbench.errors import OutputError
from wmbench.files import write_json
from wmbench.media import FRAME_NAME, VIDEO_SUFFIX, VIDEO_SUFFIXES, write_frames, write_video
from wmbench.run import provenance
from wmbench.tasks.catalog import get_task
from wmbench.tasks.schema import Task
from wmbench.tasks.seeds import split_seeds
from wmbench.worlds.cache import EpisodeCache
from wmbench.worlds.episode import Episode

MANIFEST_FILE = "manifest.json"
FORMAT, FORMAT_VERSION = "wmbench.export", 1
EPISODES_DIR = "episodes"
ID_LENGTH = 16
ACTIONS_CONVENTION = ("actions[t] acts between frame t and frame t + 1; frames 0 .. context - 1 are the "
                      "context, frames context .. context + horizon - 1 are the ones to predict")
PREDICTION_NAMING = ("one entry per episode id in the predictions directory: a video <id>.mkv (or another "
                     "accepted suffix), or a directory <id>/ holding one PNG per predicted frame, "
                     "0000.png, 0001.png, ...; 8-bit RGB, exactly width x height pixels, horizon frames: "
                     "the frames that follow the context, in order")


@dataclass(frozen=True)
class Selection:
    """Which episodes an export holds: the first ``limit`` episodes (default: all) of
    ``split`` of each task, at ``resolution`` (default: each task's own)."""

    tasks: tuple[str, ...]
    split: str = "dev"
    limit: int | None = None
    suite: str | None = None
    resolution: int | None = None

    def resolve(self) -> list[Task]:
        return [get_task(name).with_overrides(resolution=self.resolution) for name in self.tasks]


def episode_id(content_hash: str) -> str:
    """The opaque name of an episode in an export: a prefix of a hash of its content hash
    (it reveals neither the seed nor the split index)."""
    return hashlib.sha256(f"wmbench-export/{content_hash}".encode()).hexdigest()[:ID_LENGTH]


def empty_directory(out: Path, kind: str) -> Path:
    """Create ``out`` if absent; refuse one that holds anything (nothing is overwritten)."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise OutputError(f"{kind} directory {out} is not empty; use another --out or remove it")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{kind} directory {out} is not writable: {exc.strerror or exc}") from exc
    return out


def export_episode(episode: Episode, out: Path) -> dict[str, Any]:
    """Write one episode's inputs under ``out/episodes/<id>/``; returns its manifest entry."""
    content_hash = episode.content_hash()
    eid = episode_id(content_hash)
    folder = f"{EPISODES_DIR}/{eid}"
    write_video(out / folder / f"context{VIDEO_SUFFIX}", episode.context_frames, episode.fps)
    write_frames(out / folder / "context", episode.context_frames)
    actions = None
    if episode.truth.actions is not None:
        given = episode.truth.actions[: episode.context + episode.horizon - 1]
        actions = f"{folder}/actions.json"
        write_json(out / actions, {"episode": eid, "shape": list(given.shape), "convention": ACTIONS_CONVENTION,
                                   "actions": given.tolist()})
    height, width = episode.resolution
    return {
        "id": eid, "task": episode.task, "task_version": episode.version, "content_hash": content_hash,
        "fps": episode.fps, "context_frames": episode.context, "horizon": episode.horizon,
        "width": width, "height": height,
        "context": {"video": f"{folder}/context{VIDEO_SUFFIX}", "frames_dir": f"{folder}/context",
                    "frame_files": f"{FRAME_NAME.format(0)} .. {FRAME_NAME.format(episode.context - 1)}"},
        "actions": actions,
        "prediction": {"video": f"{eid}{VIDEO_SUFFIX}", "frames_dir": eid,
                       "frame_files": f"{FRAME_NAME.format(0)} .. {FRAME_NAME.format(episode.horizon - 1)}"},
    }


def _task_record(task: Task, count: int, has_actions: bool) -> dict[str, Any]:
    return {"name": task.name, "version": task.version, "definition_sha256": task.definition_hash(),
            "resolution": task.resolution, "fps": task.fps, "context": task.context, "horizon": task.horizon,
            "metrics": list(task.metrics), "actions": has_actions, "episodes": count}


def export_split(selection: Selection, out: Path | str, cache: EpisodeCache, test_secret: str | None = None,
                 progress: bool = False) -> dict[str, Any]:
    """Write the inputs of ``selection`` into the empty directory ``out`` and its
    ``manifest.json``; returns the manifest."""
    out = empty_directory(Path(out), "export")
    tasks = selection.resolve()
    task_records, episodes = [], []
    for task in tasks:
        seeds = split_seeds(task, selection.split, selection.limit, test_secret)
        has_actions = False
        for seed in tqdm(seeds, desc=f"export {task.id}", disable=not (progress and sys.stderr.isatty())):
            episode = cache.get(task, selection.split, seed)
            has_actions = episode.truth.actions is not None
            episodes.append(export_episode(episode, out))
        task_records.append(_task_record(task, len(seeds), has_actions))
    ids = [e["id"] for e in episodes]
    if len(set(ids)) != len(ids):
        raise OutputError(f"two episodes of the selection share an id in {out}; they have the same content")
    manifest = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "created": provenance.now(),
        "wmbench": {"version": __version__},
        "selection": asdict(selection),
        "predictions": {"naming": PREDICTION_NAMING, "video_suffixes": list(VIDEO_SUFFIXES),
                        "frame_name": FRAME_NAME, "pixel_format": "8-bit RGB"},
        "tasks": task_records,
        "episodes": sorted(episodes, key=lambda e: e["id"]),
    }
    write_json(out / MANIFEST_FILE, manifest)
    return manifest
