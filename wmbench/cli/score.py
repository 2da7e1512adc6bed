"""``wmbench score``: score predictions made elsewhere against an export's manifest."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from wmbench.cli.options import CACHE, PROGRESS, add_command, cache_of, count, positive
from wmbench.cli.summary import print_summary


def score(args: argparse.Namespace) -> int:
    from wmbench.results import write_result
    from wmbench.run.offline import score_predictions

    log = score_predictions(
        args.manifest,
        args.predictions,
        args.out,
        cache_of(args),
        args.adapter_name,
        args.test_secret,
        args.batch_size,
        args.device,
        progress=not args.no_progress,
        workers=args.workers,
    )
    print_summary(write_result(log), args.out)
    return 0


def add(commands: Any) -> None:
    p = add_command(
        commands,
        "score",
        score,
        "check a directory of predictions (videos or PNG frames) against an "
        "export's manifest, score it and write a result",
        (PROGRESS, CACHE),
    )
    p.add_argument("--manifest", type=Path, required=True, help="the export's manifest.json")
    p.add_argument("--predictions", type=Path, required=True, help="directory of <id>.mkv files or <id>/ PNG frames")
    p.add_argument("--out", type=Path, required=True, help="result directory (must be empty or absent)")
    p.add_argument("--adapter-name", help="name of the model in the result (default: the predictions directory's)")
    p.add_argument("--batch-size", type=positive, default=4, help="episodes scored at once")
    p.add_argument("--device", default="cpu", help="torch device the metrics run on (cpu, cuda, ...)")
    p.add_argument(
        "--workers",
        type=count,
        default=0,
        metavar="N",
        help="score in N worker processes on the CPU while the next predictions are read (the same numbers; "
        "default: 0, score in this process)",
    )
