"""``wmbench submit``: pack a result into one checked bundle for the leaderboard."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from wmbench.cli.options import add_command


def submit(args: argparse.Namespace) -> int:
    from wmbench.results.bundle import pack

    manifest = pack(args.result, args.out)
    suite = manifest["suite"]
    ran = f"{suite['name']} v{suite['version']}" if suite else "loose tasks"
    print(
        f"{args.out}: {manifest['adapter']} on {ran}, {manifest['split']} split; {len(manifest['files'])} files "
        f"({manifest['predictions']} kept predictions), each with its SHA-256 in bundle.json"
    )
    return 0


def add(commands: Any) -> None:
    p = add_command(
        commands,
        "submit",
        submit,
        "pack a result with its kept predictions, run record and checksums into one validated bundle for the "
        "leaderboard",
    )
    p.add_argument("result", type=Path, help="result directory (wmbench run --out)")
    p.add_argument("--out", type=Path, required=True, help="bundle file to write, e.g. my-model.tar.gz")
