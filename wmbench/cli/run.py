"""``wmbench run``: evaluate an adapter on tasks and write a result (resumable)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wmbench.cli.generate import generation_jobs
from wmbench.cli.options import (
    CACHE,
    LIGHTNING,
    PROGRESS,
    SELECTION,
    add_command,
    cache_of,
    count,
    from_args,
    json_object,
    positive,
    positive_number,
    selection_of,
)
from wmbench.cli.summary import print_summary
from wmbench.errors import WmbenchError

if TYPE_CHECKING:
    from wmbench.run import RunLog


def run(args: argparse.Namespace) -> int:
    from wmbench.run import Execution, RunSpec, evaluate

    execution = from_args(Execution, args, progress=not args.no_progress, require=tuple(args.require))
    if args.data:
        release = _release(args)
        spec = RunSpec.of_release(release, args.adapter, args.limit, args.adapter_config)
        _record(evaluate(spec, args.out, cache_of(args), execution, release=release), args)
        return 0
    tasks, suite, split, limit = selection_of(args)
    if args.prefetch_workers:
        from wmbench.worlds.parallel import generate_all

        if args.no_cache:
            raise WmbenchError("--prefetch-workers fills the episode cache; it cannot be used with --no-cache")
        generate_all(
            generation_jobs(args, tasks, split, limit),
            cache_of(args),
            args.prefetch_workers,
            progress=not args.no_progress and sys.stderr.isatty(),
            desc="prefetch",
        )
    spec = from_args(
        RunSpec,
        args,
        tasks=tasks,
        split=split,
        limit=limit,
        suite=suite and suite.name,
        suite_version=suite and suite.version,
        data=None,
    )
    _record(evaluate(spec, args.out, cache_of(args), execution, args.test_secret), args)
    return 0


def _record(log: RunLog | None, args: argparse.Namespace) -> None:
    """Write the result of what ran (on the main process: ``log`` is ``None`` on the
    others), hand it to the run's loggers and print its summary."""
    from wmbench.results import write_result

    if log is None:
        return
    result = write_result(log)
    log.publish(result, cache_of(args))
    print_summary(result, args.out)


def _release(args: argparse.Namespace) -> Any:
    """The release ``--data`` names, refusing the options that would change it."""
    from wmbench.worlds.release import Release

    if args.tasks or args.resolution or args.split or args.prefetch_workers:
        raise WmbenchError(
            "--data evaluates a release as it is: --tasks, --split, --resolution and "
            "--prefetch-workers cannot be combined with it"
        )
    return Release(args.data)


def add(commands: Any) -> None:
    p = add_command(
        commands,
        "run",
        run,
        "evaluate an adapter on tasks and write a result (resumable)",
        (SELECTION, LIGHTNING, PROGRESS, CACHE),
    )
    p.add_argument("--out", type=Path, required=True, help="result directory (rerun to resume)")
    p.add_argument("--adapter", required=True, help="short name, package.module:Class or path/to/file.py:Class")
    p.add_argument("--adapter-config", type=json_object, default={}, help="JSON object of constructor arguments")
    p.add_argument("--batch-size", type=positive, default=4)
    p.add_argument(
        "--timeout",
        type=positive_number,
        default=600.0,
        metavar="SECONDS",
        help="end an adapter call that takes longer as a failure (default: 600; POSIX main thread only)",
    )
    p.add_argument(
        "--require",
        action="append",
        default=[],
        metavar="METRIC",
        help="fail before running if this metric would be missing here (e.g. lpips without its weights); repeatable",
    )
    p.add_argument(
        "--speed-budget",
        type=positive_number,
        default=180.0,
        metavar="SECONDS",
        help="time the speed protocol may take per task (half for the steps, the rest for predict calls); "
        "it records how many calls it made (default: 180)",
    )
    p.add_argument(
        "--isolate",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="run the adapter in a process of its own that sees only its inputs: no episode, seed, cache path or "
        "test secret (default: on for the test split, off otherwise; see docs/contracts.md for what it does not "
        "guard against)",
    )
    p.add_argument(
        "--on-error",
        choices=("stop", "skip"),
        default="stop",
        help="on an adapter failure: stop the run, or record it and skip the episode",
    )
    p.add_argument(
        "--prefetch-workers",
        type=positive,
        metavar="N",
        help="first generate the run's missing episodes into the cache with N processes",
    )
    p.add_argument(
        "--scoring-workers",
        type=count,
        default=0,
        metavar="N",
        help="score in N worker processes while the adapter predicts the next batch, on the CPU (the same "
        "numbers; default: 0, score in the run's process)",
    )
    p.add_argument(
        "--logger",
        choices=("csv", "tensorboard", "wandb", "none"),
        default="csv",
        help="Lightning logger for per-task metrics under OUT/logs (tensorboard and wandb need their package; "
        "wandb also logs the summary table and the kept predictions' strips)",
    )
    p.add_argument(
        "--save-predictions",
        type=count,
        default=0,
        metavar="N",
        help="keep the predicted frames of the first N episodes of each task under OUT/predictions (8-bit, "
        "lossless) for `wmbench pictures --result` and the leaderboard (default: 0)",
    )
    p.add_argument(
        "--data",
        type=Path,
        metavar="RELEASE",
        help="evaluate on a released dataset's exact episodes (its tasks, split and episodes; nothing is generated)",
    )
