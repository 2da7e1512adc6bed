"""``wmbench card``: trained checkpoints' model cards and training curves."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from wmbench.cli.options import add_command


def card(args: argparse.Namespace) -> int:
    from wmbench.adapters.learned import read_checkpoint
    from wmbench.leaderboard import find_results
    from wmbench.train import plot_curves, write_card

    results = find_results(args.results) if args.results else []
    for path in args.checkpoints:
        saved = read_checkpoint(path)
        print(write_card(path, saved, [r for r in results if r.adapter == saved["model"]]))
    if args.curves:
        print(plot_curves(args.checkpoints, args.curves))
    return 0


def add(commands: Any) -> None:
    p = add_command(
        commands,
        "card",
        card,
        "write trained checkpoints' model cards (with dev scores from results) and, with --curves, "
        "a picture of their training curves",
    )
    p.add_argument("checkpoints", type=Path, nargs="+", help="checkpoints written by wmbench train")
    p.add_argument("--results", type=Path, nargs="+", help="result directories (or files) to take dev scores from")
    p.add_argument("--curves", type=Path, metavar="PNG", help="also draw the training curves here (needs matplotlib)")
