"""``wmbench compare``: two results metric by metric, a regression gate for CI."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from wmbench.cli.options import JSON, add_command


def compare(args: argparse.Namespace) -> int:
    from wmbench.results import compare, load_result, regressions

    table = compare(load_result(args.base), load_result(args.new))
    if args.json:
        print(table.to_json(orient="records", indent=2))
    else:
        print(table.to_markdown(index=False, floatfmt=".4g") if len(table) else "nothing in common to compare")
    if args.fail_on_regression is not None:
        regressed = regressions(table, args.fail_on_regression)
        if len(regressed):
            print(
                f"regression beyond {args.fail_on_regression:.1%} in: "
                + ", ".join(f"{r.task}/{r.metric}" for r in regressed.itertuples()),
                file=sys.stderr,
            )
            return 1
    return 0


def add(commands: Any) -> None:
    p = add_command(commands, "compare", compare, "compare two results metric by metric", (JSON,))
    p.add_argument("base", type=Path)
    p.add_argument("new", type=Path)
    p.add_argument(
        "--fail-on-regression",
        type=float,
        metavar="FRACTION",
        help="exit 1 if a metric got worse by more than this relative amount (e.g. 0.02)",
    )
