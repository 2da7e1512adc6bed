"""Verifying a submitted result against this wmbench: tasks and episodes must match.

A leaderboard maintainer checks that a result follows the published schema
(:mod:`wmbench.results.schema`), record and rows, and that it was scored on the
current task definitions and on the exact episodes they define: every task's
definition hash must equal the local task's, and every episode's content hash must
equal the hash of the episode regenerated (or read from the cache) from the task
version and seed.
"""

from __future__ import annotations

from wmbench.errors import ResultError
from wmbench.results.io import Result
from wmbench.results.schema import check_schema
from wmbench.tasks.catalog import get_task
from wmbench.worlds.cache import EpisodeCache


def verify_result(result: Result, cache: EpisodeCache) -> int:
    """Check ``result`` against the local tasks and episodes; returns the number of
    episodes verified, or raises :class:`ResultError` naming the first mismatch."""
    check_schema(result.record, str(result.path))
    rows_file = result.path.parent / result.record["rows"]["file"]
    for number, row in enumerate(result.rows, start=1):
        check_schema(row, f"{rows_file}: line {number}", "row")
    checked = 0
    split = result.record["run"]["split"]
    for entry in result.record["tasks"]:
        task = get_task(entry["name"]).with_overrides(resolution=entry["resolution"], fps=entry["fps"])
        where = f"{result.path}: task '{task.name}'"
        if entry["version"] != task.version:
            raise ResultError(f"{where} was scored at version {entry['version']}, the current one is {task.version}")
        if entry["definition_sha256"] != task.definition_hash():
            raise ResultError(f"{where}: its definition differs from the local task file {task.source}")
        for episode in entry["episodes"]:
            if episode["episode_hash"] is None:
                continue
            if split == "test":
                raise ResultError(f"{where}: test-split results are verified by the maintainers with the secret")
            local = cache.get(task, split, episode["seed"]).content_hash()
            if local != episode["episode_hash"]:
                raise ResultError(f"{where}, seed {episode['seed']}: episode hash {episode['episode_hash'][:12]} "
                                  f"differs from the regenerated {local[:12]}")
            checked += 1
    return checked
