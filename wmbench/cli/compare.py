"""``wmbench compare``: two results metric by metric, a regression gate for CI."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from wmbench.cli.options import JSON, add_command, non_negative

EPILOG = """\
exit codes: 0 compared (and within the gate), 1 the gate failed (a regression),
2 a result cannot be read, 4 nothing in common to compare, 5 different suites,
suite versions, splits, resolutions or task versions, 6 the new result covers fewer
episodes or metrics than the base (see --partial).

tolerances: a change is within tolerance when |new - base| <= atol + rtol * |base|.
A relative tolerance allows no change where the base is 0: give --atol for metrics
whose base can be 0 (energy gain, overlaps).

examples:
  wmbench compare base/ new/ --gate metrics --rtol 0.02 --atol 1e-6
      fail when a metric mean got worse by more than 2% of the base plus 1e-6
  wmbench compare base/ new/ --gate headline --atol 2
      fail when a headline index dropped by more than 2 points and its 95% interval
      no longer overlaps the base's
"""


def compare(args: argparse.Namespace) -> int:
    from wmbench.results import load_result
    from wmbench.results.compare import (
        check_comparable,
        compare,
        compare_headline,
        headline_regressions,
        regressions,
    )

    gate, rtol = args.gate, args.rtol
    if args.fail_on_regression is not None:
        gate, rtol = gate or "metrics", args.fail_on_regression
    base, new = load_result(args.base), load_result(args.new)
    check_comparable(base, new, partial=args.partial)
    table = compare_headline(base, new) if gate == "headline" else compare(base, new)
    print(table.to_json(orient="records", indent=2) if args.json else table.to_markdown(index=False, floatfmt=".4g"))
    if gate is None:
        return 0
    failed = (headline_regressions if gate == "headline" else regressions)(table, args.atol, rtol)
    if len(failed):
        names = ", ".join(
            f"{r.task}/{r.metric} ({r.base:.4g} -> {r.new:.4g})"
            if gate == "metrics"
            else f"{r.group}/{r.index} ({r.base:.4g} -> {'missing' if r.new is None else format(r.new, '.4g')})"
            for r in failed.itertuples()
        )
        print(f"wmbench: regression beyond atol={args.atol:g}, rtol={rtol:g} in: {names}", file=sys.stderr)
        return 1
    return 0


def add(commands: Any) -> None:
    p = add_command(commands, "compare", compare, "compare two results metric by metric (a CI gate)", (JSON,))
    p.epilog = EPILOG
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.add_argument("base", type=Path)
    p.add_argument("new", type=Path)
    p.add_argument(
        "--gate",
        choices=("metrics", "headline"),
        help="fail (exit 1) on a regression: 'metrics' when a metric mean got worse beyond the tolerances; "
        "'headline' when a headline index dropped beyond them (in index points) and its interval no longer "
        "overlaps the base's",
    )
    p.add_argument("--atol", type=non_negative, default=0.0, help="absolute tolerance (default 0)")
    p.add_argument("--rtol", type=non_negative, default=0.0, help="relative tolerance, of |base| (default 0)")
    p.add_argument(
        "--fail-on-regression",
        type=non_negative,
        metavar="FRACTION",
        help="the same as --rtol FRACTION with --gate metrics (unless --gate says otherwise)",
    )
    p.add_argument(
        "--partial",
        action="store_true",
        help="compare what both results have even when the new one covers fewer episodes or metrics",
    )
