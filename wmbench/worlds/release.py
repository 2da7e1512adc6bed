"""Released datasets: a suite's episodes frozen as files that anyone can read.

Layout of a release directory (format ``wmbench.release``, version 1)::

    README.md                                  the dataset card (Hugging Face front matter,
                                               one config per task)
    manifest.json                              what it holds: tasks and their definitions,
                                               every episode's content hash, the generator stack
    CITATION.cff                               how to cite wmbench
    data/<task>/<split>-00000-of-00001.parquet one row (and row group) per episode

A row holds the episode's identity, its frames and instance ids as PNG images (the
Hugging Face ``Image`` feature), the true states, pixels, visibility and actions as
nested lists, the objects and metadata as JSON, and ``episode``: the whole wmbench
episode (truth, ensemble, alternatives) as :meth:`Episode.to_bytes`, which ``wmbench run
--data`` reads and checks against its content hash. An inputs-only release (the test
split, made with the secret) holds the context frames and the actions of each episode
under an opaque id: no seed, future, state or ensemble.

A release is content-addressed: ``content_sha256`` hashes the split, the tasks'
definitions and every episode's content hash, so two releases with the same id hold the
same bytes, whoever made them and on whatever machine.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from wmbench._resources import tasks_dir
from wmbench._version import __version__
from wmbench.errors import OutputError, ReleaseError
from wmbench.tasks.schema import Task, task_from_dict
from wmbench.tasks.seeds import split_seeds
from wmbench.worlds.cache import EpisodeCache
from wmbench.worlds.episode import Episode
from wmbench.worlds.parallel import Job, generate_all
from wmbench.worlds.stack import engine_versions

FORMAT, FORMAT_VERSION = "wmbench.release", 1
MANIFEST_FILE, CARD_FILE, DATA_DIR = "manifest.json", "README.md", "data"
#: Where the manifests of the published releases are kept (shipped with the task files).
RELEASES_DIR = "releases"
LICENSE = "apache-2.0"
ID_DIGITS = 16

_IMAGES = pa.list_(pa.struct([("bytes", pa.binary()), ("path", pa.string())]))
_IDENTITY = [
    ("task", pa.string()),
    ("version", pa.int32()),
    ("split", pa.string()),
    ("index", pa.int32()),
    ("episode_hash", pa.string()),
    ("fps", pa.float64()),
    ("context", pa.int32()),
    ("horizon", pa.int32()),
    ("resolution", pa.int32()),
]
FULL_SCHEMA = pa.schema(
    _IDENTITY
    + [
        ("seed", pa.int64()),
        ("frames", _IMAGES),
        ("instance_ids", _IMAGES),
        ("states", pa.list_(pa.list_(pa.list_(pa.float64())))),
        ("pixels", pa.list_(pa.list_(pa.list_(pa.float32())))),
        ("visibility", pa.list_(pa.list_(pa.float32()))),
        ("actions", pa.list_(pa.list_(pa.float32()))),
        ("objects", pa.string()),
        ("meta", pa.string()),
        ("episode", pa.binary()),
    ]
)
INPUTS_SCHEMA = pa.schema(
    _IDENTITY + [("id", pa.string()), ("context_frames", _IMAGES), ("actions", pa.list_(pa.list_(pa.float32())))]
)


_VALUE_TYPES = {
    "double": "float64",
    "float": "float32",
    "int32": "int32",
    "int64": "int64",
    "string": "string",
    "binary": "binary",
}


def _features(schema: pa.Schema) -> dict[str, Any]:
    """The Hugging Face ``datasets`` features of a schema (images decode to pictures)."""

    def feature(kind: pa.DataType) -> dict[str, Any]:
        if kind == _IMAGES:
            return {"_type": "List", "feature": {"_type": "Image"}}
        if pa.types.is_list(kind):
            return {"_type": "List", "feature": feature(kind.value_type)}
        return {"_type": "Value", "dtype": _VALUE_TYPES[str(kind)]}

    return {field.name: feature(field.type) for field in schema}


def _with_features(schema: pa.Schema) -> pa.Schema:
    return schema.with_metadata({"huggingface": json.dumps({"info": {"features": _features(schema)}})})


def _png(image: np.ndarray) -> dict[str, Any]:
    ok, data = cv2.imencode(".png", image[..., ::-1] if image.ndim == 3 else image)
    if not ok:
        raise OutputError("a frame could not be encoded as PNG")
    return {"bytes": data.tobytes(), "path": None}


def _actions(episode: Episode) -> list | None:
    actions = episode.truth.actions
    return None if actions is None else actions[: episode.context + episode.horizon - 1].tolist()


def episode_id(content_hash: str) -> str:
    """The opaque name of an episode in an inputs-only release (no seed, no index)."""
    return hashlib.sha256(f"wmbench-release/{content_hash}".encode()).hexdigest()[:ID_DIGITS]


def _row(episode: Episode, index: int, content_hash: str, inputs_only: bool) -> dict[str, Any]:
    row = {
        "task": episode.task,
        "version": episode.version,
        "split": episode.split,
        "index": index,
        "episode_hash": content_hash,
        "fps": episode.fps,
        "context": episode.context,
        "horizon": episode.horizon,
        "resolution": episode.resolution[0],
        "actions": _actions(episode),
    }
    if inputs_only:
        return dict(row, id=episode_id(content_hash), context_frames=[_png(f) for f in episode.context_frames])
    header = episode.header()
    truth = episode.truth
    return dict(
        row,
        seed=episode.seed,
        frames=[_png(f) for f in truth.frames],
        instance_ids=[_png(i) for i in truth.instance_ids],
        states=truth.states.tolist(),
        pixels=truth.pixels.tolist(),
        visibility=truth.visibility.tolist(),
        objects=json.dumps(header["objects"]),
        meta=json.dumps(header["meta"]),
        episode=episode.to_bytes(),
    )


def content_address(split: str, inputs_only: bool, tasks: list[dict[str, Any]]) -> str:
    """SHA-256 of what a release holds: split, kind, each task's id and definition and
    the content hash of each of its episodes, in order."""
    canonical = {
        "split": split,
        "inputs_only": inputs_only,
        "tasks": [[t["id"], t["definition_sha256"], [e["episode_hash"] for e in t["episodes"]]] for t in tasks],
    }
    return hashlib.sha256(json.dumps(canonical, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


@dataclass(frozen=True)
class Selection:
    """What a release holds: the first ``limit`` episodes (default: all) of ``split`` of
    each task, and the suite they come from (if any)."""

    tasks: tuple[Task, ...]
    split: str = "dev"
    limit: int | None = None
    suite: dict[str, Any] | None = None

    def name(self) -> str:
        return f"{self.suite['name']}@{self.suite['version']}" if self.suite else "+".join(t.name for t in self.tasks)


def write_release(
    selection: Selection,
    out: Path | str,
    cache: EpisodeCache,
    secret: str | None = None,
    workers: int = 1,
    progress: bool = True,
) -> dict[str, Any]:
    """Generate (or read from ``cache``) every episode of ``selection`` and write the
    release into the empty directory ``out``; returns its manifest. The test split is
    released inputs-only."""
    out = _empty(Path(out))
    inputs_only = selection.split == "test"
    seeds = {t.name: split_seeds(t, selection.split, selection.limit, secret) for t in selection.tasks}
    jobs = [Job(t, selection.split, s) for t in selection.tasks for s in seeds[t.name]]
    if not jobs:
        raise ReleaseError(f"no {selection.split} episodes to release for {selection.name()}")
    if cache.root is not None:
        generate_all(jobs, cache, workers, progress, desc="release")
    records = [
        _write_task(task, seeds[task.name], selection.split, out, cache, inputs_only) for task in selection.tasks
    ]
    address = content_address(selection.split, inputs_only, records)
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "release": f"{selection.name()}-{selection.split}-{address[:12]}",
        "content_sha256": address,
        "suite": selection.suite,
        "split": selection.split,
        "inputs_only": inputs_only,
        "license": LICENSE,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "wmbench_version": __version__,
        "generator": engine_versions(),
        "tasks": records,
    }
    (out / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    (out / CARD_FILE).write_text(dataset_card(manifest), encoding="utf-8")
    citation = tasks_dir().parent / "CITATION.cff"
    if citation.exists():
        shutil.copyfile(citation, out / "CITATION.cff")
    return manifest


def _empty(out: Path) -> Path:
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise OutputError(f"release directory {out} is not empty; use another --out or remove it")
    try:
        (out / DATA_DIR).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"release directory {out} is not writable: {exc.strerror or exc}") from exc
    return out


def _write_task(
    task: Task, seeds: list[int], split: str, out: Path, cache: EpisodeCache, inputs_only: bool
) -> dict[str, Any]:
    """One task's Parquet file, written an episode (a row group) at a time."""
    relative = f"{DATA_DIR}/{task.name}/{split}-00000-of-00001.parquet"
    (out / relative).parent.mkdir(parents=True, exist_ok=True)
    schema = _with_features(INPUTS_SCHEMA if inputs_only else FULL_SCHEMA)
    episodes = []
    with pq.ParquetWriter(out / relative, schema, compression="zstd") as writer:
        for index, seed in enumerate(seeds):
            episode = cache.get(task, split, seed)
            content_hash = episode.content_hash()
            writer.write_table(pa.Table.from_pylist([_row(episode, index, content_hash, inputs_only)], schema))
            entry = {"index": index, "episode_hash": content_hash, "file": relative, "row_group": index}
            entry.update({"id": episode_id(content_hash)} if inputs_only else {"seed": seed})
            episodes.append(entry)
    return {
        "name": task.name,
        "version": task.version,
        "id": task.id,
        "family": task.family,
        "description": task.description,
        "definition_sha256": task.definition_hash(),
        "definition": _definition(task),
        "episodes": episodes,
    }


def _definition(task: Task) -> dict[str, Any]:
    """The task as written, with the resolution and fps it was rendered at."""
    return json.loads(json.dumps(dict(task.raw, resolution=task.resolution, fps=task.fps), default=str))


def dataset_card(manifest: dict[str, Any]) -> str:
    """The README of a release: Hugging Face front matter, then what it is and how to use it."""
    tasks = manifest["tasks"]
    front = [
        "---",
        f"license: {manifest['license']}",
        f"pretty_name: wmbench {manifest['release']}",
        "tags: [world-models, physics, video-prediction, benchmark, wmbench]",
        "configs:",
    ]
    for t in tasks:
        front += [
            f"- config_name: {t['name']}",
            "  data_files:",
            f"  - split: {manifest['split']}",
            f"    path: {DATA_DIR}/{t['name']}/{manifest['split']}-*.parquet",
        ]
    front.append("---")
    rows = "\n".join(
        f"| `{t['name']}` | {t['version']} | {t['family']} | {len(t['episodes'])} | "
        f"{' '.join(t['description'].split())} |"
        for t in tasks
    )
    stack = ", ".join(f"{k} {v}" for k, v in manifest["generator"].items())
    columns = (
        "`context_frames` (PNG), `actions` and an opaque `id`: the inputs of the hidden test split, "
        "without seeds, futures or states"
        if manifest["inputs_only"]
        else "`frames` and `instance_ids` (PNG), `states` (x, y, angle, vx, vy, omega per object, metres, "
        "radians, seconds), `pixels`, `visibility`, `actions`, `objects` and `meta` (JSON), `seed`, and "
        "`episode`: the complete wmbench episode (with its physical-variance ensemble and alternatives), "
        "lossless, as `wmbench run --data` reads it"
    )
    first = tasks[0]["name"]
    return (
        "\n".join(front)
        + f"""

# wmbench release `{manifest["release"]}`

Episodes of the wmbench benchmark for world models, frozen: the {manifest["split"]} split of
{len(tasks)} task(s), {sum(len(t["episodes"]) for t in tasks)} episodes. Every episode is a seeded physics
scene (pymunk/Chipmunk2D) rendered to frames, with the true state of every object in every frame.
`manifest.json` lists every episode's content hash; the release id ends with the first digits of
`content_sha256`, which hashes them all.

| task | version | family | episodes | what it tests |
|---|---|---|---|---|
{rows}

Each row of `data/<task>/*.parquet` is one episode: `task`, `version`, `split`, `index`,
`episode_hash`, `fps`, `context` (frames given to a model), `horizon` (frames to predict),
`resolution`, and {columns}.

Generated by wmbench {manifest["wmbench_version"]} with {stack}.

## Use

```python
import datasets
episodes = datasets.load_dataset("path/to/this/release", "{first}", split="{manifest["split"]}")
episodes[0]["frames"][0]   # a PIL image
```

Without `datasets`: `pyarrow.parquet.read_table("data/{first}/{manifest["split"]}-00000-of-00001.parquet")`.
With wmbench: `wmbench run --data path/to/this/release --adapter ADAPTER` evaluates on exactly these
bytes, and `wmbench data verify path/to/this/release` tells whether a machine regenerates them.

## Licence and citation

Licensed under Apache-2.0 (`{manifest["license"]}`). Cite wmbench as `CITATION.cff` says.
"""
    )


def load_manifest(path: Path | str) -> dict[str, Any]:
    """A release's manifest, from its directory or a manifest file; checked for its format."""
    path = Path(path)
    file = path / MANIFEST_FILE if path.is_dir() else path
    try:
        manifest = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ReleaseError(f"{file}: not a readable release manifest ({exc})") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ReleaseError(f"{file}: not a wmbench release manifest (format {FORMAT!r} expected)")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ReleaseError(
            f"{file}: release format version {manifest.get('format_version')} is not supported "
            f"(this wmbench reads {FORMAT_VERSION})"
        )
    address = content_address(manifest["split"], manifest["inputs_only"], manifest["tasks"])
    if address != manifest["content_sha256"]:
        raise ReleaseError(
            f"{file}: content_sha256 {manifest['content_sha256'][:12]} does not match its episodes "
            f"({address[:12]}): the manifest was edited"
        )
    return manifest


def release_tasks(manifest: dict[str, Any], source: Path | str) -> list[Task]:
    """The tasks of a release, from the definitions it carries (not the local task files)."""
    tasks = []
    for record in manifest["tasks"]:
        task = task_from_dict(record["definition"], Path(source))
        if task.definition_hash() != record["definition_sha256"]:
            raise ReleaseError(f"{source}: task {record['id']}'s definition does not match its definition_sha256")
        tasks.append(task)
    return tasks


class Release:
    """A release directory as an episode source: ``get`` reads an episode's exact bytes."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        if not self.path.is_dir():
            raise ReleaseError(f"{self.path}: no release directory there")
        self.manifest = load_manifest(self.path)
        if self.manifest["inputs_only"]:
            raise ReleaseError(
                f"{self.path}: an inputs-only release holds no futures to score against; "
                "predictions on it are scored by the maintainers"
            )
        self.tasks = release_tasks(self.manifest, self.path / MANIFEST_FILE)
        self._entries = {(r["name"], e["seed"]): e for r in self.manifest["tasks"] for e in r["episodes"]}
        self.split = self.manifest["split"]

    def seeds(self, task: Task) -> list[int]:
        return [e["seed"] for r in self.manifest["tasks"] if r["name"] == task.name for e in r["episodes"]]

    def get(self, task: Task, split: str, seed: int) -> Episode:
        """The released episode, checked against its content hash and the manifest."""
        entry = self._entries.get((task.name, seed))
        if entry is None or split != self.split:
            raise ReleaseError(f"{self.path}: holds no {split} episode of {task.id} with seed {seed}")
        where = f"{self.path / entry['file']}, row group {entry['row_group']}"
        try:
            table = _parquet(self.path / entry["file"]).read_row_group(entry["row_group"], columns=["episode"])
            episode = Episode.from_bytes(table.column("episode")[0].as_py())
        except (OSError, ValueError, KeyError, pa.ArrowException) as exc:
            raise ReleaseError(f"{where}: the episode cannot be read ({exc})") from exc
        if episode.content_hash() != entry["episode_hash"] or (episode.task, episode.seed) != (task.name, seed):
            raise ReleaseError(f"{where}: holds another episode than the manifest lists")
        return episode


@lru_cache(maxsize=64)
def _parquet(path: Path) -> pq.ParquetFile:
    return pq.ParquetFile(path)


@dataclass(frozen=True)
class TaskCheck:
    """Whether this machine regenerates a released task's episodes."""

    task: str
    episodes: int
    reproduced: int
    mismatches: tuple[dict[str, Any], ...]

    @property
    def ok(self) -> bool:
        return self.reproduced == self.episodes


def verify_release(
    manifest: dict[str, Any], source: Path | str, workers: int = 1, progress: bool = True
) -> list[TaskCheck]:
    """Regenerate every episode of a release on this machine (no cache) and compare each
    content hash with the manifest's."""
    if manifest["inputs_only"]:
        raise ReleaseError(f"{source}: an inputs-only release lists no seeds; verify it with the secret's full release")
    tasks = release_tasks(manifest, source)
    jobs = [
        Job(task, manifest["split"], e["seed"])
        for task, record in zip(tasks, manifest["tasks"])
        for e in record["episodes"]
    ]
    found = iter(generate_all(jobs, EpisodeCache(None), workers, progress, desc="verify"))
    checks = []
    for record in manifest["tasks"]:
        mismatches = []
        for entry in record["episodes"]:
            local = next(found).content_hash
            if local != entry["episode_hash"]:
                mismatches.append(
                    {
                        "index": entry["index"],
                        "seed": entry["seed"],
                        "released": entry["episode_hash"],
                        "regenerated": local,
                    }
                )
        checks.append(
            TaskCheck(
                record["id"], len(record["episodes"]), len(record["episodes"]) - len(mismatches), tuple(mismatches)
            )
        )
    return checks


def published_manifest(suite: str, version: int, split: str) -> Path | None:
    """The manifest of the published release of a suite version's split, if there is one."""
    path = tasks_dir() / RELEASES_DIR / f"{suite}@{version}-{split}.json"
    return path if path.exists() else None


def published_hashes(manifest: dict[str, Any]) -> dict[tuple[str, int], str]:
    """``(task id, seed) -> content hash`` of every episode a release lists."""
    return {(r["id"], e["seed"]): e["episode_hash"] for r in manifest["tasks"] for e in r["episodes"] if "seed" in e}
