"""``wmbench validate``: corrupt true futures, score them as a run does, and check what the
indices promise (the sensitivity matrix)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from wmbench.cli.options import CACHE, JSON, PROGRESS, SELECTION, add_command, cache_of, positive, selection_of


def validate(args: argparse.Namespace) -> int:
    from wmbench.errors import UnknownNameError
    from wmbench.tasks import get_task
    from wmbench.validation.corruptions import CATALOGUE, CORRUPTIONS, KINDS
    from wmbench.validation.report import area_table, metric_table, properties_text, report_data, write_report
    from wmbench.validation.sensitivity import check_properties, matrix, validate

    names, _, split, limit = selection_of(args)
    wanted = [c for c in (args.corruptions or "").split(",") if c]
    for name in wanted:
        if name not in CORRUPTIONS:
            raise UnknownNameError("corruption", name, list(CORRUPTIONS))
    kinds = [k for k in (args.kinds or "").split(",") if k]
    for kind in kinds:
        if kind not in KINDS:
            raise UnknownNameError("corruption kind", kind, list(KINDS))
    chosen = [
        c
        for c in CATALOGUE
        if c.kind == "reference" or ((not wanted or c.name in wanted) and (not kinds or c.kind in kinds))
    ]
    tasks = [get_task(n) for n in names]
    scores, skipped = validate(
        tasks, split, limit, cache_of(args), chosen, args.test_secret, args.batch_size, progress=not args.no_progress
    )
    table, properties = matrix(scores), check_properties(scores)
    selection = {
        "suite": None if args.tasks else args.suite,
        "tasks": [s.task.name for s in scores],
        "split": split,
        "limit": limit,
        "episodes": {s.task.name: [e.key for e in s.episodes] for s in scores},
        "skipped": skipped,
        "corruptions": [c.name for c in chosen],
    }
    data = report_data(selection, table, properties)
    files = write_report(Path(args.out), data)
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        episodes = sum(len(s.episodes) for s in scores)
        print(
            f"sensitivity matrix: {len(chosen)} corruptions of {episodes} {split} episodes of "
            f"{len(scores)} tasks, mean normalised score over the tasks each applies to\n"
        )
        print(area_table(table).to_markdown(floatfmt=".1f"))
        print()
        print(metric_table(table).to_markdown(floatfmt=".0f"))
        print()
        for name, reason in skipped.items():
            print(f"{name}: not validated ({reason})")
        print(properties_text(properties))
        print(f"\nwritten: {', '.join(map(str, files))}")
    return 0 if data["passed"] else 1


def add(commands: Any) -> None:
    p = add_command(
        commands,
        "validate",
        validate,
        "score controlled corruptions of true futures through the run's scoring and check what the indices "
        "promise: the sensitivity matrix, each property PASS/FAIL (exit 1 if one fails)",
        (SELECTION, CACHE, JSON, PROGRESS),
    )
    p.add_argument(
        "--corruptions",
        help="comma-separated corruptions (default: all; the true future and the frozen world are always scored)",
    )
    p.add_argument("--kinds", help="comma-separated kinds: physical, appearance, coherence, ladder (default: all)")
    p.add_argument("--batch-size", type=positive, default=8, help="episodes scored at once (default: 8)")
    p.add_argument(
        "--out",
        default="wmbench-validate",
        help="directory for validate.json and sensitivity.png (default: wmbench-validate)",
    )
