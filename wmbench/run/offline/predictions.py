"""Score a directory of predictions made elsewhere against the export they answer.

The directory is first checked against the manifest, all of it, before anything is
scored: every missing, extra, corrupt, wrong-length or wrong-size file is reported by
name in one error. The episodes are then regenerated from their task, split and
index (their content hashes must match the manifest's), scored with the same metrics
and code as an in-process run, and written as a normal result directory. The result
says the predictions were scored offline; speed cannot be measured offline, so it is
missing (``null`` with a reason), not 0.
"""

from __future__ import annotations

import hashlib
import sys
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from wmbench._version import __version__
from wmbench.errors import ManifestError, PredictionsError, UnreadableMedia, WmbenchError
from wmbench.files import read_json
from wmbench.frames import as_float, unit_float
from wmbench.media import FRAME_NAME, VIDEO_SUFFIXES, frame_number, read_frames, read_image, read_video
from wmbench.metrics import build_metrics
from wmbench.metrics.base import Truth
from wmbench.metrics.references import ReferenceCache
from wmbench.metrics.scoring import score_episodes
from wmbench.run.data import collate
from wmbench.run.evaluate import RunLog, RunSpec
from wmbench.run.offline.export import FORMAT, FORMAT_VERSION, MANIFEST_FILE, Selection, empty_directory, episode_id
from wmbench.run.scoring_pool import Pending, ScoringPool
from wmbench.run.writer import RowWriter, prepare_directory
from wmbench.tasks.schema import Task
from wmbench.tasks.seeds import split_seeds
from wmbench.worlds.cache import EpisodeCache
from wmbench.worlds.episode import Episode

SPEED_MISSING = "not measured: the predictions were made elsewhere and scored offline"
_EPISODE_FIELDS = {"id": str, "task": str, "task_version": int, "content_hash": str, "horizon": int,
                   "width": int, "height": int}
_TASK_FIELDS = {"name": str, "version": int, "definition_sha256": str, "episodes": int}


# -- the manifest ------------------------------------------------------------------------------

def _require(path: Path, record: Any, fields: dict[str, type], where: str) -> None:
    if not isinstance(record, dict):
        raise ManifestError(f"{path}: field '{where}' must be an object")
    for name, kind in fields.items():
        value = record.get(name)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise ManifestError(f"{path}: field '{where}.{name}' must be {kind.__name__}, got {value!r}")


def load_manifest(path: Path | str) -> dict[str, Any]:
    """Read and check an export's ``manifest.json`` (or the directory holding it)."""
    path = Path(path)
    path = path / MANIFEST_FILE if path.is_dir() else path
    manifest = read_json(path, ManifestError)
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ManifestError(f"{path}: field 'format' must be {FORMAT!r}; is this an export's manifest.json?")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ManifestError(f"{path}: format_version {manifest.get('format_version')!r} is not supported "
                            f"(this wmbench reads {FORMAT_VERSION})")
    _require(path, manifest.get("selection"), {"split": str}, "selection")
    selection = manifest["selection"]
    tasks = selection.get("tasks")
    if not isinstance(tasks, list) or not tasks or not all(isinstance(t, str) for t in tasks):
        raise ManifestError(f"{path}: field 'selection.tasks' must be a non-empty list of task names")
    for key in ("limit", "resolution"):
        value = selection.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
            raise ManifestError(f"{path}: field 'selection.{key}' must be a positive integer or null, got {value!r}")
    for key in ("tasks", "episodes"):
        if not isinstance(manifest.get(key), list):
            raise ManifestError(f"{path}: field '{key}' must be a list")
    for i, task in enumerate(manifest["tasks"]):
        _require(path, task, _TASK_FIELDS, f"tasks[{i}]")
    for i, episode in enumerate(manifest["episodes"]):
        _require(path, episode, _EPISODE_FIELDS, f"episodes[{i}]")
    ids = [e["id"] for e in manifest["episodes"]]
    if len(set(ids)) != len(ids):
        raise ManifestError(f"{path}: field 'episodes' lists an id twice")
    return manifest


def selection_of(manifest: dict[str, Any]) -> Selection:
    sel = manifest["selection"]
    return Selection(tasks=tuple(sel["tasks"]), split=sel["split"], limit=sel.get("limit"),
                     suite=sel.get("suite"), resolution=sel.get("resolution"))


# -- checking the predictions directory ------------------------------------------------------------

def _expected_naming(entry: dict[str, Any]) -> str:
    last = FRAME_NAME.format(entry["horizon"] - 1)
    return f"expected {entry['id']}.mkv (or {', '.join(VIDEO_SUFFIXES[1:])}) or {entry['id']}/0000.png .. {last}"


def _frame_files(directory: Path, label: str, problems: list[str]) -> list[Path]:
    """The numbered PNG files of a frame directory; misnamed or missing ones are problems."""
    frames, numbers = [], []
    for item in sorted(directory.iterdir()):
        if item.name.startswith("."):
            continue
        if item.is_file() and frame_number(item) is not None:
            frames.append(item)
            numbers.append(frame_number(item))
        else:
            problems.append(f"{label}/{item.name}: extra (frames are named {FRAME_NAME.format(0)}, "
                            f"{FRAME_NAME.format(1)}, ...)")
    gaps = sorted(set(range(len(frames))) - set(numbers))
    if gaps:
        problems.append(f"{label}/: frames must be numbered from {FRAME_NAME.format(0)} without gaps; "
                        f"missing {', '.join(FRAME_NAME.format(g) for g in gaps)}")
    return sorted(frames, key=_number)


def _number(path: Path) -> int:
    """A frame file's number (files that are not frames sort first)."""
    number = frame_number(path)
    return -1 if number is None else number


def read_prediction(path: Path) -> np.ndarray:
    """A prediction file (video) or directory (PNG frames) as ``uint8 (T, H, W, 3)`` RGB."""
    if path.is_dir():
        return read_frames(sorted((p for p in path.iterdir() if frame_number(p) is not None), key=_number))
    return read_video(path)


def _wrong_size(width: int, height: int, entry: dict[str, Any]) -> str:
    return f"{width}x{height} pixels, expected {entry['width']}x{entry['height']}"


def _check_frame_directory(path: Path, entry: dict[str, Any]) -> tuple[int, list[str]]:
    """The frame count of a directory of PNG frames and its problems (naming, corrupt
    frames, sizes; all frames of one wrong size are reported once)."""
    problems: list[str] = []
    files = _frame_files(path, path.name, problems)
    sizes = {}
    for file in files:
        try:
            image = read_image(file)
        except UnreadableMedia as exc:
            problems.append(f"{path.name}/{file.name}: corrupt ({exc})")
            continue
        sizes[file.name] = (image.shape[1], image.shape[0])
    wrong = {name: s for name, s in sizes.items() if s != (entry["width"], entry["height"])}
    if wrong and len(wrong) == len(sizes) and len(set(wrong.values())) == 1:
        problems.append(f"{path.name}/: {_wrong_size(*next(iter(wrong.values())), entry)}")
    else:
        problems += [f"{path.name}/{name}: {_wrong_size(w, h, entry)}" for name, (w, h) in wrong.items()]
    return len(files), problems


def _check_video(path: Path, entry: dict[str, Any]) -> tuple[int, list[str]]:
    """The frame count of a video and its problems (size); raises if it cannot be decoded."""
    frames = read_video(path)
    height, width = frames.shape[1:3]
    if (width, height) != (entry["width"], entry["height"]):
        return len(frames), [f"{path.name}: {_wrong_size(width, height, entry)}"]
    return len(frames), []


def _check_entry(path: Path, entry: dict[str, Any]) -> list[str]:
    """Every problem of one episode's prediction: misnamed, corrupt, wrong length, wrong size."""
    label = f"{path.name}/" if path.is_dir() else path.name
    try:
        count, problems = (_check_frame_directory if path.is_dir() else _check_video)(path, entry)
    except UnreadableMedia as exc:
        return [f"{label}: corrupt ({exc})"]
    if count != entry["horizon"]:
        problems.append(f"{label}: {count} frames, expected {entry['horizon']}")
    return problems


def check_predictions(manifest: dict[str, Any], directory: Path | str) -> dict[str, Path]:
    """Check a predictions directory against the manifest, decoding every file; returns
    each episode id's file or directory, or raises :class:`PredictionsError` listing
    every problem by name. Names starting with ``.`` are ignored."""
    directory = Path(directory)
    if not directory.is_dir():
        raise PredictionsError(directory, ["not a directory"])
    expected = {e["id"]: e for e in manifest["episodes"]}
    found: dict[str, list[Path]] = {}
    problems: list[str] = []
    for item in sorted(directory.iterdir()):
        if item.name.startswith("."):
            continue
        eid = item.name if item.is_dir() else item.stem
        if eid in expected and (item.is_dir() or item.suffix.lower() in VIDEO_SUFFIXES):
            found.setdefault(eid, []).append(item)
        elif eid in expected:
            problems.append(f"{item.name}: extra (not an accepted format; {_expected_naming(expected[eid])})")
        else:
            problems.append(f"{item.name}{'/' if item.is_dir() else ''}: extra (no episode of the manifest "
                            "has this id)")
    for eid, entry in expected.items():
        paths = found.get(eid, [])
        if not paths:
            problems.append(f"{eid}: missing ({_expected_naming(entry)})")
        elif len(paths) > 1:
            problems.append(f"{eid}: given {len(paths)} times ({', '.join(p.name for p in paths)}); keep one")
        else:
            problems.extend(_check_entry(paths[0], entry))
    if problems:
        raise PredictionsError(directory, problems)
    return {eid: paths[0] for eid, paths in found.items()}


# -- regenerating the truth ----------------------------------------------------------------------

def episodes_of(manifest: dict[str, Any], path: Path, cache: EpisodeCache,
                test_secret: str | None = None) -> tuple[list[Task], dict[str, dict[str, Episode]]]:
    """The tasks and, per task, the episodes by id that a manifest asks for, regenerated
    (or read from the cache) and checked against the manifest's task definitions and
    content hashes."""
    selection = selection_of(manifest)
    records = {t["name"]: t for t in manifest["tasks"]}
    wanted = {e["id"]: e for e in manifest["episodes"]}
    versions = f"exported with wmbench {manifest.get('wmbench', {}).get('version')}, this is {__version__}"
    tasks, hashes = selection.resolve(), {}
    episodes: dict[str, dict[str, Episode]] = {}
    for task in tasks:
        record = records.get(task.name)
        if record is None:
            raise ManifestError(f"{path}: field 'tasks' has no entry for task '{task.name}'")
        if (record["version"], record["definition_sha256"]) != (task.version, task.definition_hash()):
            raise ManifestError(f"{path}: task '{task.name}' was exported at version {record['version']} with another "
                                f"definition than this wmbench's {task.id} ({versions})")
        seeds = split_seeds(task, selection.split, selection.limit, test_secret)
        if len(seeds) != record["episodes"]:
            raise ManifestError(f"{path}: task '{task.name}' lists {record['episodes']} episodes, "
                                f"this wmbench's {selection.split} split gives {len(seeds)}")
        episodes[task.name] = {}
        for seed in seeds:
            episode = cache.get(task, selection.split, seed)
            content_hash = episode.content_hash()
            episodes[task.name][episode_id(content_hash)] = episode
            hashes[episode_id(content_hash)] = content_hash
    for eid, entry in wanted.items():
        if hashes.get(eid) != entry["content_hash"] or eid not in episodes.get(entry["task"], {}):
            raise ManifestError(f"{path}: episode {eid} (task '{entry['task']}') is not an episode this wmbench "
                                f"generates for the selection ({versions})")
    if len(hashes) != len(wanted):
        raise ManifestError(f"{path}: field 'episodes' lists {len(wanted)} episodes, the selection has {len(hashes)}")
    return tasks, episodes


# -- scoring -------------------------------------------------------------------------------------

def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _score_task(task: Task, by_id: dict[str, Episode], files: dict[str, Path], hashes: dict[str, str],
                sink: RowWriter, batch_size: int, device: torch.device, progress: bool,
                references: ReferenceCache | None, pool: ScoringPool | None = None) -> dict[str, str]:
    """Score one task's predictions batch by batch, handing the rows to ``sink``; returns
    the metrics that are missing here, with the reason. ``hashes``: content hash by id;
    ``references``: the reference cache, if any; ``pool``: scoring workers that score
    each batch while the next one is read (``None``: scored here)."""
    metrics, missing = build_metrics(task.metrics, task.source)
    for metric in metrics.values():
        metric.to(device)
    ids = list(by_id)
    chunks = [ids[i : i + batch_size] for i in range(0, len(ids), batch_size)]
    pending: list[Pending] = []

    def write(rows: list[dict[str, Any]], values: list[dict[str, Any]]) -> None:
        sink([dict(row, **v) for row, v in zip(rows, values)])

    for chunk in tqdm(chunks, desc=f"score {task.id}", disable=not (progress and sys.stderr.isatty())):
        episodes = [by_id[eid] for eid in chunk]
        batch = collate(episodes)
        try:
            pred = torch.stack([unit_float(read_prediction(files[eid])) for eid in chunk])
        except UnreadableMedia as exc:  # changed since it was checked
            raise PredictionsError(files[chunk[0]].parent, [f"{', '.join(chunk)}: corrupt ({exc})"]) from exc
        truth = Truth(frames=as_float(batch.future).to(device), context=as_float(batch.context).to(device),
                      episodes=episodes)
        rows = [{"task": e.task, "version": e.version, "split": e.split, "seed": e.seed, "episode_hash": hashes[eid],
                 "batch_size": None, "latency_ms": None, "status": "ok"} for e, eid in zip(episodes, chunk)]
        if pool is None:
            write(rows, score_episodes(metrics, pred.to(device), truth, references))
            continue
        pending.append(Pending(rows, pool.submit(task, pred, truth, references), [e.key for e in episodes]))
        for done, (values, _, _) in ScoringPool.finished(pending, pool.workers):
            write(done.rows, values)
    for done, (values, _, _) in ScoringPool.finished(pending):
        write(done.rows, values)
    return missing


def score_predictions(manifest_path: Path | str, predictions: Path | str, out: Path | str, cache: EpisodeCache,
                      adapter_name: str | None = None, test_secret: str | None = None, batch_size: int = 4,
                      device: str = "cpu", progress: bool = False, workers: int = 0) -> RunLog:
    """Check ``predictions`` against the manifest and score them into the empty directory
    ``out``; returns what was scored, for :func:`wmbench.results.write_result`.
    ``adapter_name`` names the model in the result (default: the predictions directory's name).
    ``workers``: score in that many worker processes (on the CPU) while the next
    predictions are read (:mod:`wmbench.run.scoring_pool`; 0: here, on ``device``)."""
    if workers and torch.device(device).type != "cpu":
        raise WmbenchError(f"scoring workers score on the CPU: --workers {workers} cannot be combined with "
                           f"--device {device}")
    manifest_path, predictions, out = Path(manifest_path), Path(predictions), Path(out)
    manifest_path = manifest_path / MANIFEST_FILE if manifest_path.is_dir() else manifest_path
    manifest = load_manifest(manifest_path)
    files = check_predictions(manifest, predictions)
    tasks, episodes = episodes_of(manifest, manifest_path, cache, test_secret)
    out = prepare_directory(empty_directory(out, "result"))
    sink, target, references = RowWriter(out), torch.device(device), ReferenceCache.alongside(cache)
    hashes = {e["id"]: e["content_hash"] for e in manifest["episodes"]}  # checked against the episodes
    with ScoringPool(workers) if workers else nullcontext() as pool:
        missing = {t.name: _score_task(t, episodes[t.name], files, hashes, sink, batch_size, target, progress,
                                       references, pool) for t in tasks}
    seeds = {t.name: [e.seed for e in episodes[t.name].values()] for t in tasks}
    selection = selection_of(manifest)
    spec = RunSpec(adapter=adapter_name or predictions.resolve().name, tasks=selection.tasks, split=selection.split,
                   limit=selection.limit, suite=selection.suite, resolution=selection.resolution)
    execution = {"offline": True, "manifest": str(manifest_path), "manifest_sha256": _sha256(manifest_path),
                 "exported_with": manifest.get("wmbench", {}).get("version"), "predictions": str(predictions),
                 "formats": sorted({"png" if p.is_dir() else p.suffix.lower().lstrip(".") for p in files.values()}),
                 "device": str(target), "batch_size": batch_size, "scoring_workers": workers}
    return RunLog(out=out, spec=spec, adapter=None, tasks=tasks, seeds=seeds, missing_metrics=missing,
                  execution=execution, speed={t.name: {"measured": False, "reason": SPEED_MISSING} for t in tasks})
