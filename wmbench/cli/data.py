"""``wmbench data release|verify``: released datasets of a suite's episodes."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from wmbench.cli.options import CACHE, JSON, PROGRESS, WORKERS, add_command, add_group, cache_of, positive, workers_of
from wmbench.errors import WmbenchError
from wmbench.tasks.schema import SPLITS


def release(args: argparse.Namespace) -> int:
    from wmbench.tasks import get_suite, get_task
    from wmbench.worlds.release import Selection, published_manifest, write_release

    suite: dict[str, Any] | None = None
    if args.tasks:
        names, split, limit = tuple(t for t in args.tasks.split(",") if t), args.split or "dev", args.limit
    else:
        found = get_suite(args.suite)
        names, split, limit = found.tasks, args.split or found.split, args.limit or found.episodes
        suite = {"name": found.name, "version": found.version, "description": " ".join(found.description.split())}
    selection = Selection(tuple(get_task(n) for n in names), split, limit, suite)
    manifest = write_release(
        selection,
        args.out,
        cache_of(args),
        args.test_secret,
        workers_of(args),
        progress=not args.no_progress and sys.stderr.isatty(),
    )
    episodes = sum(len(t["episodes"]) for t in manifest["tasks"])
    print(f"release {manifest['release']}: {episodes} episodes of {len(manifest['tasks'])} tasks in {args.out}")
    published = published_manifest(suite["name"], suite["version"], split) if suite else None
    if published is None or manifest["inputs_only"]:
        return 0
    return _compare_with_published(manifest, published)


def _compare_with_published(manifest: dict[str, Any], published: Path) -> int:
    """0 if ``manifest`` is the published release, else 1 with one line naming the differences."""
    from wmbench.worlds.release import load_manifest, published_hashes

    official = load_manifest(published)
    if official["content_sha256"] == manifest["content_sha256"]:
        print(f"identical to the published release {official['release']} ({published})")
        return 0
    ours = published_hashes(manifest)
    differ = [
        f"{task} seed {seed}"
        for (task, seed), expected in published_hashes(official).items()
        if ours.get((task, seed)) != expected
    ]
    print(
        f"wmbench: error: this release differs from the published {official['release']} ({published}) in "
        f"{len(differ)} episodes ({', '.join(differ[:3])}{', ...' if len(differ) > 3 else ''}): this machine does "
        "not reproduce it; publish nothing from here (see docs/generation.md)",
        file=sys.stderr,
    )
    return 1


def verify(args: argparse.Namespace) -> int:
    from wmbench.tasks import get_suite
    from wmbench.worlds.release import load_manifest, published_manifest, verify_release

    path = args.release
    if not path.exists():
        suite = get_suite(str(path))
        split = args.split or suite.split
        found = published_manifest(suite.name, suite.version, split)
        if found is None:
            raise WmbenchError(f"suite {suite.id} has no published release of its {split} split")
        path = found
    manifest = load_manifest(path)
    checks = verify_release(manifest, path, workers_of(args), progress=not args.no_progress and sys.stderr.isatty())
    if args.json:
        print(
            json.dumps(
                {
                    "release": manifest["release"],
                    "reproduced": all(c.ok for c in checks),
                    "tasks": [dict(vars(c), mismatches=list(c.mismatches)) for c in checks],
                },
                indent=2,
            )
        )
    else:
        print(f"release {manifest['release']} on this machine:")
        for c in checks:
            first = c.mismatches[0] if c.mismatches else None
            detail = (
                (
                    f"; first: seed {first['seed']}, released {first['released'][:12]}, "
                    f"regenerated {first['regenerated'][:12]}"
                )
                if first
                else ""
            )
            print(f"  {c.task}: {c.reproduced}/{c.episodes} reproduced{detail}")
    return 0 if all(c.ok for c in checks) else 1


def add(commands: Any) -> None:
    data = add_group(commands, "data", "released datasets: write and verify")
    p = add_command(
        data,
        "release",
        release,
        "write a content-addressed release of a suite's split (the test "
        "split inputs-only, with the secret): Parquet files, manifest and dataset card",
        (WORKERS, PROGRESS, CACHE),
    )
    which = p.add_mutually_exclusive_group()
    which.add_argument("--suite", default="smoke", help="suite name or file (default: smoke)")
    which.add_argument("--tasks", help="comma-separated task names or files")
    p.add_argument("--split", choices=SPLITS, help="default: the suite's, else dev")
    p.add_argument("--limit", type=positive, help="first N episodes per task (default: the suite's cap, else all)")
    p.add_argument("--out", type=Path, required=True, help="release directory (must be empty or absent)")
    p = add_command(
        data,
        "verify",
        verify,
        "regenerate a release's episodes on this machine and report, per task, "
        "whether they are reproduced (exit 1 if not)",
        (WORKERS, JSON, PROGRESS),
    )
    p.add_argument(
        "release", type=Path, help="release directory or manifest.json, or a suite name (its published release)"
    )
    p.add_argument("--split", choices=SPLITS, help="with a suite name: default the suite's")
