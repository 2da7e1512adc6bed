"""``wmbench adapters list``: adapters by short name."""

from __future__ import annotations

import argparse
from typing import Any

from wmbench.cli.options import add_command, add_group


def list_adapters(args: argparse.Namespace) -> int:
    from wmbench.adapters import available

    print("\n".join(available()))
    return 0


def add(commands: Any) -> None:
    adapters = add_group(commands, "adapters", "list adapters")
    add_command(adapters, "list", list_adapters, "list adapters by short name (built-ins and entry points)")
