"""``wmbench export``: a split's inputs and a manifest, for models that run elsewhere."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from wmbench.cli.options import CACHE, PROGRESS, SELECTION, add_command, cache_of, selection_of


def export(args: argparse.Namespace) -> int:
    from wmbench.run.offline import MANIFEST_FILE, Selection, export_split

    tasks, suite, split, limit = selection_of(args)
    selection = Selection(tasks=tasks, split=split, limit=limit, suite=suite and suite.name, resolution=args.resolution)
    manifest = export_split(selection, args.out, cache_of(args), args.test_secret, progress=not args.no_progress)
    for task in manifest["tasks"]:
        print(
            f"{task['name']}@{task['version']}: {task['episodes']} episodes, predict {task['horizon']} frames "
            f"of {task['resolution']}x{task['resolution']} at {task['fps']:g} fps"
        )
    print(f"manifest: {args.out / MANIFEST_FILE}")
    return 0


def add(commands: Any) -> None:
    p = add_command(
        commands,
        "export",
        export,
        "write a split's inputs (context video and PNG frames, actions) and "
        "a manifest of the predictions expected, for models that run elsewhere",
        (SELECTION, PROGRESS, CACHE),
    )
    p.add_argument("--out", type=Path, required=True, help="export directory (must be empty or absent)")
