"""Submission bundles: one result directory packed into one checked file.

``wmbench submit RESULT_DIR --out BUNDLE`` writes a gzipped tar holding
``bundle.json`` (what the bundle is and the SHA-256 of every other file) and the
result's files: ``result.json``, its rows (``episodes.jsonl``), ``run.json``, the
speed records (``speed/``) and the kept predictions (``predictions/``). Packing
validates the result (schema, rows checksum) and every kept prediction (readable,
of an episode the result scored, at its shape). Unpacking accepts only regular files
with plain relative names, exactly the files ``bundle.json`` lists, each with its
checksum.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path, PurePosixPath
from typing import Any

from wmbench.errors import OutputError, ResultError
from wmbench.results.io import Result, load_result
from wmbench.results.schema import RESULT_FILE
from wmbench.run import provenance
from wmbench.run.saved import PREDICTIONS_DIR, saved_predictions
from wmbench.run.writer import RUN_FILE, SPEED_DIR

MANIFEST = "bundle.json"
SCHEMA, SCHEMA_VERSION = "wmbench.bundle", 1


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_predictions(result: Result) -> list[Path]:
    """The kept prediction files, each checked against the episodes the result scored."""
    directory = result.file.parent
    scored = {(r["task"], r["version"], r["seed"]) for r in result.rows if r["status"] == "ok"}
    shapes = {t["name"]: (t["horizon"], t["resolution"]) for t in result.record["tasks"]}
    files = []
    for saved in saved_predictions(directory):
        if (saved.task, saved.version, saved.seed) not in scored:
            raise ResultError(
                f"{saved.path}: predicts {saved.task}@{saved.version} seed {saved.seed}, "
                "an episode the result did not score"
            )
        horizon, resolution = shapes[saved.task]
        if saved.frames.shape[:3] != (horizon, resolution, resolution):
            raise ResultError(
                f"{saved.path}: frames are {saved.frames.shape}, expected ({horizon}, {resolution}, {resolution}, 3)"
            )
        files.append(saved.path)
    return files


def _members(result: Result) -> list[Path]:
    directory = result.file.parent
    files = [result.file, directory / result.record["rows"]["file"]]
    files += [p for p in [directory / RUN_FILE] if p.is_file()]
    files += sorted((directory / SPEED_DIR).glob("*.json"))
    return files + check_predictions(result)


def pack(result_dir: Path | str, out: Path | str) -> dict[str, Any]:
    """Validate the result in ``result_dir`` and write the bundle ``out``; returns its manifest."""
    result = load_result(result_dir)
    directory, out = result.file.parent, Path(out)
    contents = {p.relative_to(directory).as_posix(): p.read_bytes() for p in _members(result)}
    record = result.record
    manifest = {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "created": provenance.now(),
        "wmbench": record["wmbench"]["version"],
        "adapter": result.adapter,
        "suite": record.get("suite"),
        "split": record["run"]["split"],
        "predictions": sum(name.startswith(PREDICTIONS_DIR + "/") for name in contents),
        "files": {name: _sha256(data) for name, data in sorted(contents.items())},
    }
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".tmp")
        with tarfile.open(tmp, "w:gz") as tar:
            for name, data in [(MANIFEST, json.dumps(manifest, indent=2).encode()), *sorted(contents.items())]:
                info = tarfile.TarInfo(name)
                info.size, info.mode, info.mtime = len(data), 0o644, 0
                tar.addfile(info, io.BytesIO(data))
        tmp.replace(out)
    except OSError as exc:
        raise OutputError(f"cannot write {out}: {exc.strerror or exc}") from exc
    return manifest


def is_bundle(path: Path) -> bool:
    return path.is_file() and path.name != RESULT_FILE and tarfile.is_tarfile(path)


def bundle_name(path: Path) -> str:
    """``my-model.tar.gz`` -> ``my-model``."""
    name = path.name
    for suffix in (".tar.gz", ".tgz", ".tar"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


def _safe_name(name: str, bundle: Path) -> str:
    pure = PurePosixPath(name)
    if pure.is_absolute() or ".." in pure.parts or not pure.parts or name != pure.as_posix():
        raise ResultError(f"{bundle}: holds a file with an unsafe name: {name!r}")
    return name


def unpack(bundle: Path | str, into: Path | str) -> Path:
    """Check ``bundle`` and extract it into the new directory ``into``; returns ``into``."""
    bundle, into = Path(bundle), Path(into)
    try:
        with tarfile.open(bundle, "r:gz") as tar:
            data = {}
            for member in tar.getmembers():
                name = _safe_name(member.name, bundle)
                if not member.isfile():
                    raise ResultError(f"{bundle}: '{name}' is not a regular file")
                data[name] = tar.extractfile(member).read()  # type: ignore[union-attr]  # a regular file
    except (OSError, tarfile.TarError, EOFError) as exc:
        raise ResultError(f"{bundle}: not a readable bundle ({exc})") from exc
    if MANIFEST not in data:
        raise ResultError(f"{bundle}: {MANIFEST} is missing; make bundles with `wmbench submit`")
    try:
        manifest = json.loads(data.pop(MANIFEST))
        listed = manifest["files"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ResultError(f"{bundle}: {MANIFEST} is not a bundle manifest ({exc})") from exc
    if manifest.get("schema") != SCHEMA or manifest.get("schema_version") != SCHEMA_VERSION:
        raise ResultError(f"{bundle}: {MANIFEST} is not a {SCHEMA} version {SCHEMA_VERSION} manifest")
    for name in sorted(set(data) | set(listed)):
        if name not in listed:
            raise ResultError(f"{bundle}: '{name}' is not listed in {MANIFEST}")
        if name not in data:
            raise ResultError(f"{bundle}: '{name}' is listed in {MANIFEST} but absent")
        if _sha256(data[name]) != listed[name]:
            raise ResultError(f"{bundle}: '{name}' does not match its SHA-256 in {MANIFEST}")
    try:
        for name, content in data.items():
            (into / name).parent.mkdir(parents=True, exist_ok=True)
            (into / name).write_bytes(content)
    except OSError as exc:
        raise OutputError(f"cannot extract {bundle} into {into}: {exc.strerror or exc}") from exc
    return into
