"""``wmbench selftest``: corrupt true futures and show which metrics detect each corruption
and which stay quiet on appearance changes."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from wmbench.cli.options import CACHE, JSON, add_command, cache_of, positive
from wmbench.tasks.schema import SPLITS


def selftest(args: argparse.Namespace) -> int:
    from wmbench.errors import UnknownNameError
    from wmbench.tasks import get_task, split_seeds
    from wmbench.validation.selftest import VIOLATIONS, build_all_metrics, detection_table, run_selftest

    violations = tuple(v for v in (args.violations or ",".join(VIOLATIONS)).split(",") if v)
    for name in violations:
        if name not in VIOLATIONS:
            raise UnknownNameError("violation", name, list(VIOLATIONS))
    metrics, missing = build_all_metrics()
    if args.metrics:
        wanted = [m for m in args.metrics.split(",") if m]
        for name in wanted:
            if name not in metrics and name not in missing:
                raise UnknownNameError("metric", name, list(metrics) + list(missing))
        metrics = {n: m for n, m in metrics.items() if n in wanted}
    task = get_task(args.task)
    cache = cache_of(args)
    episodes = [cache.get(task, args.split, s) for s in split_seeds(task, args.split, args.episodes, args.test_secret)]
    rows = run_selftest(task, episodes, violations, metrics)
    table = detection_table(rows)
    failed = rows[rows["claimed"] & rows["scored"] & ~rows["detected"]]
    alarms = rows[rows["false_alarm"]]
    if args.json:
        print(
            json.dumps(
                {
                    "task": task.id,
                    "split": args.split,
                    "episodes": [e.key for e in episodes],
                    "unavailable": missing,
                    "table": json.loads(table.to_json(orient="index")),
                    "rows": json.loads(rows.to_json(orient="records")),
                },
                indent=2,
            )
        )
    else:
        print(
            f"self-test on {task.id} ({len(episodes)} {args.split} episodes): episodes where the corrupted "
            "future scores worse than the truth by the metric's margin / episodes scored; "
            "* = the metric claims to catch it, ! = it must stay quiet (an appearance change), - = not scored\n"
        )
        print(table.to_markdown())
        for name, reason in missing.items():
            print(f"\n{name}: not run ({reason})")
    for r in failed.itertuples():
        print(
            f"missed: {r.metric} did not catch {r.violation} on {r.episode} "
            f"(truth {r.truth:.4g}, violated {r.violated:.4g}, margin {r.margin:.4g})",
            file=sys.stderr,
        )
    for r in alarms.itertuples():
        print(
            f"false alarm: {r.metric} reacts to {r.violation} on {r.episode} "
            f"(truth {r.truth:.4g}, changed {r.violated:.4g}, margin {r.margin:.4g})",
            file=sys.stderr,
        )
    return 1 if len(failed) or len(alarms) else 0


def add(commands: Any) -> None:
    p = add_command(
        commands,
        "selftest",
        selftest,
        "corrupt true futures and show which metrics detect each corruption (exit 1 if a metric misses one "
        "it claims to catch, or a physics or coherence metric reacts to an appearance change)",
        (JSON, CACHE),
    )
    p.add_argument("--task", default="drop_single", help="task name or file (default: drop_single)")
    p.add_argument("--episodes", type=positive, default=3, help="episodes to test (default: 3)")
    p.add_argument("--split", default="dev", choices=SPLITS)
    p.add_argument("--violations", help="comma-separated corruptions (default: all)")
    p.add_argument("--metrics", help="comma-separated metrics (default: every registered metric)")
