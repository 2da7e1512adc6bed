"""``wmbench leaderboard``: validate results and build the leaderboard."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from wmbench.cli.options import CACHE, add_command, cache_of


def leaderboard(args: argparse.Namespace) -> int:
    from wmbench.leaderboard import find_results, headline_markdown, write_leaderboard

    results = find_results(args.results)
    if args.verify:
        from wmbench.results import verify_result

        cache = cache_of(args)
        for result in results:
            print(f"verified {verify_result(result, cache)} episodes of {result.path}")
    paths = write_leaderboard(results, args.out)
    print(headline_markdown(results))
    print("\n".join(f"{kind}: {path}" for kind, path in paths.items()))
    return 0


def add(commands: Any) -> None:
    p = add_command(
        commands,
        "leaderboard",
        leaderboard,
        "validate results and build the leaderboard (Markdown, CSV, HTML)",
        (CACHE,),
    )
    p.add_argument("results", type=Path, nargs="+", help="result.json files or directories holding them")
    p.add_argument("--out", type=Path, default=Path("leaderboard/site"), help="output directory")
    p.add_argument(
        "--verify",
        action="store_true",
        help="check each result against the published schema and the "
        "task definitions, and regenerate every episode to compare content hashes",
    )
