"""``wmbench demo``: the main job behind ``make demo``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from wmbench.cli.options import CACHE, add_command, cache_of
from wmbench.cli.summary import print_summary

DEMO_ADAPTERS = ("copy_last", "linear_extrapolation", "oracle")
#: Predictions kept per task by each demo run, drawn on the leaderboard's model pages.
DEMO_SAVED_PREDICTIONS = 2


def demo(args: argparse.Namespace) -> int:
    from wmbench.leaderboard import find_results, headline_markdown, write_leaderboard
    from wmbench.results import write_result
    from wmbench.run import Execution, RunSpec, evaluate
    from wmbench.tasks import get_suite

    suite = get_suite(args.suite)
    results_dir = args.out / "results"
    for adapter in DEMO_ADAPTERS:
        spec = RunSpec(
            adapter=adapter,
            tasks=suite.tasks,
            split=suite.split,
            limit=suite.episodes,
            suite=suite.name,
            suite_version=suite.version,
        )
        out = results_dir / f"{suite.name}-{adapter}"
        execution = Execution(progress=sys.stderr.isatty(), save_predictions=DEMO_SAVED_PREDICTIONS)
        log = evaluate(spec, out, cache_of(args), execution, args.test_secret)
        if log is not None:
            print_summary(write_result(log), out)
    results = find_results([results_dir / f"{suite.name}-{a}" for a in DEMO_ADAPTERS])
    paths = write_leaderboard(results, args.out / "leaderboard", cache_of(args))
    print("\n" + headline_markdown(results))
    print(f"\nresults: {results_dir}\n" + "\n".join(f"leaderboard ({k}): {p}" for k, p in paths.items()))
    return 0


def add(commands: Any) -> None:
    p = add_command(
        commands,
        "demo",
        demo,
        "the main job: evaluate the built-in baselines on a suite, build the leaderboard",
        (CACHE,),
    )
    p.add_argument("--suite", default="smoke")
    p.add_argument("--out", type=Path, default=Path("wmbench-out"))
