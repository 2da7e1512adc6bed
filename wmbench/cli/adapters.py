"""``wmbench adapters list``: adapters by short name, with the extras they need."""

from __future__ import annotations

import argparse
import json
from typing import Any

from wmbench.cli.options import JSON, add_command, add_group


def list_adapters(args: argparse.Namespace) -> int:
    from wmbench.adapters.registry import listing

    rows = listing()
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for row in rows:
        needs = "".join(f"  [{extra}]" for extra in row["extras"])
        missing = f"  (not installed: {', '.join(row['missing'])})" if row["missing"] else ""
        print(f"{row['name']:<22} {row['source']}{needs}{missing}")
    return 0


def add(commands: Any) -> None:
    adapters = add_group(commands, "adapters", "list adapters")
    add_command(
        adapters,
        "list",
        list_adapters,
        "list adapters by short name (built-ins and entry points) with the extras they need "
        "(pip install 'wmbench[EXTRA]')",
        (JSON,),
    )
