"""Verifying a submitted result: it must have been scored on the released episodes.

A leaderboard maintainer checks that a result follows the published schema
(:mod:`wmbench.results.schema`), record and rows, and that it was scored on the task
definitions and on the exact episodes everyone else is scored on. The reference is the
release manifest of the result's suite version and split (the published one shipped
with wmbench, or one given explicitly): every task's definition hash and every
episode's content hash must equal the manifest's. Episodes the manifest does not list
(a task outside a suite, or rendered at another resolution) are regenerated (or read
from the cache) here instead, and their tasks compared with the local task files.
"""

from __future__ import annotations

from typing import Any

from wmbench.errors import ResultError
from wmbench.results.io import Result
from wmbench.results.schema import check_schema
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
    check_schema(result.record, str(result.path))
    rows_file = result.path.parent / result.record["rows"]["file"]
    for number, row in enumerate(result.rows, start=1):
        check_schema(row, f"{rows_file}: line {number}", "row")
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
