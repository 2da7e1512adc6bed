"""Stage 7: the ``wmbench`` command line, thin: it parses arguments and calls the stages.

One module per command; each defines ``add(commands)``, which adds its parser (with
the shared options of :mod:`wmbench.cli.options` as parents) and the function that runs
it. Adding a command is adding its module and naming it in :data:`COMMANDS`.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings

from wmbench.cli import (
    adapters,
    bench,
    card,
    compare,
    data,
    demo,
    export,
    generate,
    leaderboard,
    physics_iq,
    pictures,
    run,
    score,
    selftest,
    submit,
    tasks,
    train,
    validate,
)
from wmbench.errors import WmbenchError

#: The commands, in the order ``wmbench --help`` lists them.
COMMANDS = (
    tasks,
    adapters,
    generate,
    data,
    pictures,
    bench,
    run,
    train,
    card,
    export,
    score,
    leaderboard,
    submit,
    compare,
    physics_iq,
    selftest,
    validate,
    demo,
)


def build_parser() -> argparse.ArgumentParser:
    from wmbench._version import __version__

    parser = argparse.ArgumentParser(prog="wmbench", description="A benchmark suite for world models.")
    parser.add_argument("--version", action="version", version=f"wmbench {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS:
        module.add(commands)
    return parser


def _format_warning(
    message: Warning | str, category: type[Warning], filename: str, lineno: int, line: str | None = None
) -> str:
    """wmbench's own warnings as one line; others as Python shows them."""
    if category.__module__.startswith("wmbench"):
        return f"wmbench: warning: {message}\n"
    return _python_format(message, category, filename, lineno, line)


_python_format = warnings.formatwarning


def main(argv: list[str] | None = None) -> int:
    warnings.formatwarning = _format_warning
    args = build_parser().parse_args(argv)
    try:
        code = args.func(args)
        sys.stdout.flush()  # here, where a closed pipe is caught, not at exit
        return code
    except BrokenPipeError:  # the reader went away (`wmbench tasks show ... | head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing left to flush at exit
        return 141  # 128 + SIGPIPE: what a shell reports for a process a closed pipe ended
    except WmbenchError as exc:
        print(f"wmbench: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("wmbench: interrupted; rerun the same command to resume", file=sys.stderr)
        return 130
