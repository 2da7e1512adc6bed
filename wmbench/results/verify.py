"""Verifying a submitted result: its numbers follow from its rows, and it was scored on
the released episodes.

A leaderboard maintainer checks that a result follows the published schema
(:mod:`wmbench.results.schema`), record and rows; that everything the record derives
from its rows (aggregates, pooled summaries, headline scores with their bootstrap
intervals from the recorded seed, the harness's overhead) is what the rows give when
recomputed here, that the rows are the episodes the record lists, and that the
metrics' units, directions and areas are this wmbench's; and that it was scored on the task
definitions and on the exact episodes everyone else is scored on. The reference is the
release manifest of the result's suite version and split (the published one shipped
with wmbench, or one given explicitly): every task's definition hash and every
episode's content hash must equal the manifest's. Episodes the manifest does not list
(a task outside a suite, or rendered at another resolution) are regenerated (or read
from the cache) here instead, and their tasks compared with the local task files.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from wmbench.errors import ResultError
from wmbench.files import read_json
from wmbench.results.derived import derive
from wmbench.results.headline import BOOTSTRAP
from wmbench.results.io import Result
from wmbench.results.record import metric_definitions
from wmbench.results.schema import check_schema
from wmbench.run.writer import RUN_FILE, row_key
from wmbench.tasks.catalog import recorded_task
from wmbench.worlds.cache import EpisodeCache
from wmbench.worlds.release import load_manifest, published_hashes, published_manifest


def release_for(result: Result) -> dict[str, Any] | None:
    """The published release manifest of a result's suite version and split, if any."""
    run = result.record["run"]
    if not run.get("suite") or not run.get("suite_version"):
        return None
    path = published_manifest(run["suite"], run["suite_version"], run["split"])
    return None if path is None else load_manifest(path)


def verify_result(result: Result, cache: EpisodeCache, release: dict[str, Any] | None = None) -> int:
    """Check ``result`` against ``release`` (default: :func:`release_for`), regenerating
    what it does not list; returns the number of episodes verified, or raises
    :class:`ResultError` naming the first mismatch: task, episode and both hashes."""
    release = release if release is not None else release_for(result)
    released = published_hashes(release) if release else {}
    definitions = {r["id"]: r["definition_sha256"] for r in release["tasks"]} if release else {}
    name = f"the release {release['release']}" if release else "this machine's regeneration"
    check_schema(result.record, str(result.file))
    rows_file = result.file.parent / result.record["rows"]["file"]
    for number, row in enumerate(result.rows, start=1):
        check_schema(row, f"{rows_file}: line {number}", "row")
    check_derived(result)
    split = result.record["run"]["split"]
    checked = 0
    for entry in result.record["tasks"]:
        task_id = f"{entry['name']}@{entry['version']}"
        where = f"{result.path}: task '{task_id}'"
        listed = task_id in definitions and all((task_id, e["seed"]) in released for e in entry["episodes"])
        if listed:
            if entry["definition_sha256"] != definitions[task_id]:
                raise ResultError(f"{where}: its definition differs from the one in {name}")
            task = None
        else:
            task = recorded_task(entry, where)
        for episode in entry["episodes"]:
            if episode["episode_hash"] is None:
                continue
            if task is not None and split == "test":
                raise ResultError(f"{where}: test-split results are verified by the maintainers with the secret")
            expected = released[(task_id, episode["seed"])] if task is None else \
                cache.get(task, split, episode["seed"]).content_hash()
            if expected != episode["episode_hash"]:
                source = name if task is None else "the regenerated episode"
                raise ResultError(f"{where}, episode {task_id}/{split}/{episode['seed']}: episode hash "
                                  f"{episode['episode_hash'][:12]} differs from {source}'s {expected[:12]}")
            checked += 1
    return checked


#: Recomputed numbers may differ from recorded ones by rounding only.
REL_TOL, ABS_TOL = 1e-9, 1e-12
_ABSENT = object()


def _differences(recorded: Any, computed: Any, path: str) -> Iterator[tuple[str, Any, Any]]:
    """``(field, recorded, computed)`` for each place where two JSON values differ
    (numbers beyond rounding, see :data:`REL_TOL`)."""
    if isinstance(recorded, dict) and isinstance(computed, dict):
        for key in [*recorded, *(k for k in computed if k not in recorded)]:  # in the order written
            yield from _differences(recorded.get(key, _ABSENT), computed.get(key, _ABSENT), f"{path}.{key}".lstrip("."))
    elif isinstance(recorded, list) and isinstance(computed, list) and len(recorded) == len(computed):
        for index, (a, b) in enumerate(zip(recorded, computed)):
            yield from _differences(a, b, f"{path}[{index}]")
    elif _is_number(recorded) and _is_number(computed):
        if not math.isclose(recorded, computed, rel_tol=REL_TOL, abs_tol=ABS_TOL):
            yield path, recorded, computed
    elif recorded != computed:
        yield path, recorded, computed


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _shown(value: Any) -> str:
    text = "absent" if value is _ABSENT else json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


def _reject(file: Path, pairs: list[tuple[str, Any, Any]], source: str) -> None:
    """Raise naming the first field of ``pairs`` (field, recorded, computed) that
    differs; ``source`` says where the computed value comes from ("the rows give")."""
    found = [d for field, recorded, computed in pairs for d in _differences(recorded, computed, field)]
    if found:
        field, recorded, computed = found[0]
        more = f" (and {len(found) - 1} more field{'s' if len(found) > 2 else ''})" if len(found) > 1 else ""
        raise ResultError(f"{file}: field '{field}' is {_shown(recorded)} but {source} {_shown(computed)}{more}")


def check_derived(result: Result) -> None:
    """Raise :class:`ResultError` unless the record is what its rows give: the rows are
    the episodes its tasks list (same hashes), the metrics' units, directions, areas,
    roles and log floors are those of this wmbench's metrics, and the aggregates, pooled summaries,
    headline scores and intervals (recomputed with the recorded bootstrap settings) and
    the harness's overhead match. Names the file, the field and both values."""
    record, file = result.record, result.file
    _check_rows_listed(result)
    _reject(file, _definitions(record["tasks"]), "this wmbench's metric definitions give")
    method = record["headline"]["method"]
    derived = derive(result.rows, record["tasks"], **{k: method[k] for k in BOOTSTRAP if k in method})
    overheads = [(f"speed.{task}.harness_ms_per_episode",
                  record["speed"].get(task, {}).get("harness_ms_per_episode", _ABSENT), overhead)
                 for task, overhead in derived["harness_ms_per_episode"].items()]
    _reject(file, [("aggregates", record["aggregates"], derived["aggregates"]),
                   ("headline", record["headline"], derived["headline"]), *overheads],
            f"its rows ({record['rows']['file']}) give")
    run_file = file.parent / RUN_FILE
    if run_file.exists():
        _reject(run_file, [("", read_json(run_file, ResultError), record["run"])], f"{file.name} has")


def _check_rows_listed(result: Result) -> None:
    """One row per episode that the record lists with a hash, with that hash, and no other."""
    record = result.record
    rows_file, split = result.file.parent / record["rows"]["file"], record["run"]["split"]
    listed = {(t["name"], t["version"], split, e["seed"]): e["episode_hash"] for t in record["tasks"]
              for e in t["episodes"]}
    for number, row in enumerate(result.rows, start=1):
        key = row_key(row)
        if key not in listed:
            raise ResultError(f"{rows_file}: line {number}: episode {row['task']}@{row['version']}/{row['split']}/"
                              f"{row['seed']} is not among the episodes result.json lists")
        if listed[key] != row["episode_hash"]:
            raise ResultError(f"{rows_file}: line {number}: field 'episode_hash' is {row['episode_hash']}, "
                              f"result.json lists {listed[key]}")
    scored = {row_key(r) for r in result.rows}
    for (task, version, _, seed), digest in listed.items():
        if digest is not None and (task, version, split, seed) not in scored:
            raise ResultError(f"{result.path}: task '{task}@{version}' lists episode {seed} with a hash, "
                              "but no row has it")


def _definitions(tasks: list[dict[str, Any]]) -> list[tuple[str, Any, Any]]:
    """(field, recorded, this wmbench's) for each task's metric units, directions, areas,
    roles and log floors: the headline is recomputed with the recorded ones."""
    return [
        (f"tasks[{index}].{field}", task.get(field, _ABSENT), mine)
        for index, task in enumerate(tasks)
        for field, mine in metric_definitions(task["metrics"]).items()
    ]
