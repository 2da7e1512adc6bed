"""``wmbench leaderboard``: validate results (or submission bundles) and build the leaderboard."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

from wmbench.cli.options import CACHE, add_command, cache_of


def leaderboard(args: argparse.Namespace) -> int:
    from wmbench.leaderboard import find_results, headline_markdown, write_leaderboard

    cache = cache_of(args)
    with tempfile.TemporaryDirectory(prefix="wmbench-bundles-") as unpacked:
        results = find_results(args.results, Path(unpacked))
        if args.verify:
            _verify(results, args, cache)
        paths = write_leaderboard(results, args.out, cache)
        print(headline_markdown(results))
    print("\n".join(f"{kind}: {path}" for kind, path in paths.items()))
    return 0


def _verify(results: list[Any], args: argparse.Namespace, cache: Any) -> None:
    from wmbench.results import verify_result
    from wmbench.results.verify import release_for
    from wmbench.worlds.release import load_manifest

    given = load_manifest(args.release) if args.release else None
    for result in results:
        release = given or release_for(result)
        against = f"the release {release['release']}" if release else "regenerated episodes"
        print(f"verified {verify_result(result, cache, release)} episodes of {result.path} against {against}")


def add(commands: Any) -> None:
    p = add_command(
        commands,
        "leaderboard",
        leaderboard,
        "validate results and build the leaderboard: a static site (index.html, a page per result and per task), "
        "Markdown and CSV",
        (CACHE,),
    )
    p.add_argument(
        "results",
        type=Path,
        nargs="+",
        help="result.json files, directories holding them, or submission bundles (wmbench submit)",
    )
    p.add_argument("--out", type=Path, default=Path("leaderboard/site"), help="output directory")
    p.add_argument(
        "--verify",
        action="store_true",
        help="check each result against the published schema, recompute its aggregates and headline scores from "
        "its rows (refusing any difference), and check its task definitions and episode content hashes against "
        "the release of its suite version (episodes no release lists are regenerated)",
    )
    p.add_argument(
        "--release",
        type=Path,
        help="with --verify: the release (directory or manifest.json) to check against (default: the published "
        "release of each result's suite version and split)",
    )
