"""``wmbench generate``: generate and cache episodes in parallel, print their hashes."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from wmbench.cli.options import CACHE, PROGRESS, RENDER, SPLIT, WORKERS, add_command, cache_of, workers_of
from wmbench.errors import WmbenchError


def generation_jobs(args: argparse.Namespace, tasks: tuple[str, ...], split: str, limit: int | None) -> list:
    """One job per episode of ``tasks`` (rendered as :data:`RENDER`'s options ask)."""
    from wmbench.tasks import get_task, split_seeds
    from wmbench.worlds.parallel import Job

    jobs = []
    for name in tasks:
        task = get_task(name).with_overrides(resolution=args.resolution, fps=getattr(args, "fps", None))
        jobs += [Job(task, split, seed) for seed in split_seeds(task, split, limit, args.test_secret)]
    return jobs


def generate(args: argparse.Namespace) -> int:
    from wmbench.tasks import get_suite
    from wmbench.worlds.parallel import generate_all

    if args.suite:
        suite = get_suite(args.suite)
        tasks, split, limit = suite.tasks, args.split or suite.split, args.limit or suite.episodes
    elif args.task:
        tasks, split, limit = (args.task,), args.split or "dev", args.limit
    else:
        raise WmbenchError("generate: name a TASK or a --suite")
    cache = cache_of(args)
    jobs = generation_jobs(args, tasks, split, limit)
    if not jobs:
        raise WmbenchError(f"no {split} episodes to generate for {', '.join(tasks)}")
    progress = not args.no_progress and sys.stderr.isatty()
    done = generate_all(jobs, cache, workers_of(args), progress=progress)
    if args.references:
        from wmbench.run.prepare import measure_references

        measure_references(jobs, cache, workers_of(args), progress=progress)
    entries: dict[str, dict[str, Any]] = {}
    for job, result in zip(jobs, done):
        entry = entries.setdefault(
            job.task.id,
            {
                "task": job.task.id,
                "split": split,
                "resolution": job.task.resolution,
                "fps": job.task.fps,
                "cache": str(cache.root),
                "episodes": {},
            },
        )
        entry["episodes"][str(result.seed)] = result.content_hash
    report = {"suite": args.suite, "tasks": list(entries.values())} if args.suite else entries[jobs[0].task.id]
    print(json.dumps(report, indent=2))
    return 0


def add(commands: Any) -> None:
    p = add_command(
        commands,
        "generate",
        generate,
        "generate (and cache) episodes in parallel; prints their hashes",
        (SPLIT, RENDER, WORKERS, PROGRESS, CACHE),
    )
    which = p.add_mutually_exclusive_group()
    which.add_argument("task", nargs="?", help="task name or path to a task file")
    which.add_argument("--suite", help="every task of a suite (name or file), its split and episode cap")
    p.add_argument(
        "--references",
        action="store_true",
        help="also measure each episode's reference scores "
        "(frozen world, physical variance) into the cache, for runs on the CPU",
    )
