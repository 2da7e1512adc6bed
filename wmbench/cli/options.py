"""Options shared by several commands, as argparse parent parsers, and their readers."""

from __future__ import annotations

import argparse
import json
from dataclasses import fields
from pathlib import Path
from typing import Any, TypeVar

from wmbench.tasks.schema import SPLITS

T = TypeVar("T")


def json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("must be a JSON object")
    return value


def _integer(text: str, minimum: int, wanted: str) -> int:
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"must be {wanted}, got {text!r}") from exc
    if value < minimum:
        raise argparse.ArgumentTypeError(f"must be {wanted}, got {value}")
    return value


def positive(text: str) -> int:
    """An integer >= 1."""
    return _integer(text, 1, "a positive integer")


def count(text: str) -> int:
    """An integer >= 0."""
    return _integer(text, 0, "an integer >= 0")


def positive_number(text: str) -> float:
    """A finite number > 0 (seconds, frames per second)."""
    value = non_negative(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be a number > 0, got 0")
    return value


def non_negative(text: str) -> float:
    """A finite number >= 0."""
    try:
        value = float(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from exc
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text}")
    return value


def devices(text: str) -> int | str:
    return int(text) if text.isdigit() else text


def _parent() -> argparse.ArgumentParser:
    return argparse.ArgumentParser(add_help=False)


#: ``--cache``, ``--no-cache``, ``--test-secret``: where episodes come from.
CACHE = _parent()
CACHE.add_argument("--cache", type=Path, help="episode cache directory (default: $WMBENCH_CACHE or ~/.cache/wmbench)")
CACHE.add_argument("--no-cache", action="store_true", help="generate episodes in memory only")
CACHE.add_argument("--test-secret", help="secret for the test split's seeds (default: $WMBENCH_TEST_SECRET)")

#: ``--no-progress``.
PROGRESS = _parent()
PROGRESS.add_argument("--no-progress", action="store_true", help="no progress bar")

#: ``--json``.
JSON = _parent()
JSON.add_argument("--json", action="store_true", help="print JSON")

#: ``--workers``.
WORKERS = _parent()
WORKERS.add_argument("--workers", type=positive, metavar="N", help="worker processes (default: every available core)")

#: ``--resolution``, ``--fps``: the tasks rendered otherwise.
RENDER = _parent()
RENDER.add_argument("--resolution", type=positive, help="override the task's resolution (pixels, e.g. 64, 128, 256)")
RENDER.add_argument("--fps", type=positive_number, help="override the task's frame rate (frames per second)")

#: ``--split`` (default: the suite's, else dev) and ``--limit``.
SPLIT = _parent()
SPLIT.add_argument("--split", choices=SPLITS, help="default: the suite's, else dev")
SPLIT.add_argument("--limit", type=positive, metavar="N", help="first N episodes per task")

#: Which episodes: a suite or tasks, their split and limit, a resolution.
SELECTION = _parent()
_which = SELECTION.add_mutually_exclusive_group()
_which.add_argument("--suite", default="smoke", help="suite name or file (default: smoke)")
_which.add_argument("--tasks", help="comma-separated task names or files")
SELECTION.add_argument("--split", choices=SPLITS, help="default: the suite's, else dev")
SELECTION.add_argument("--limit", type=positive, metavar="N", help="first N episodes per task")
SELECTION.add_argument("--resolution", type=positive, help="override the tasks' resolution (pixels)")


#: How Lightning runs it: passed to the ``Trainer`` (and the data loaders' workers).
LIGHTNING = _parent()
LIGHTNING.add_argument("--accelerator", default="auto", help="Lightning accelerator: auto, cpu, gpu, ...")
LIGHTNING.add_argument("--devices", type=devices, default="auto", help="Lightning devices: auto, N, ...")
LIGHTNING.add_argument("--strategy", default="auto", help="Lightning strategy: auto, ddp, ...")
LIGHTNING.add_argument("--num-nodes", type=positive, default=1)
LIGHTNING.add_argument(
    "--precision",
    default=None,
    help="Lightning precision, e.g. 32-true, bf16-mixed, 16-mixed (run: of the adapter's calls only, so 32-true, "
    "16-mixed or bf16-mixed; scoring is always float32/float64)",
)
LIGHTNING.add_argument("--num-workers", type=count, default=0, help="data loader worker processes")


def cache_of(args: argparse.Namespace) -> Any:
    """The episode cache the options name."""
    from wmbench.worlds import EpisodeCache, default_cache_dir

    return EpisodeCache(None if args.no_cache else (args.cache or default_cache_dir()))


def workers_of(args: argparse.Namespace) -> int:
    from wmbench.workers import available_cores

    return args.workers if args.workers is not None else available_cores()


def selection_of(args: argparse.Namespace) -> tuple[tuple[str, ...], Any, str, int | None]:
    """``(tasks, suite or None, split, limit)`` from :data:`SELECTION`'s options."""
    from wmbench.tasks import select

    return select(args.suite, args.tasks, args.split, args.limit)


def from_args(cls: type[T], args: argparse.Namespace, **given: Any) -> T:
    """A dataclass from the options named as its fields, and ``given`` values."""
    values = {f.name: getattr(args, f.name) for f in fields(cls) if hasattr(args, f.name)}  # type: ignore[arg-type]
    return cls(**{**values, **given})


def add_command(
    commands: Any, name: str, run: Any, help: str, parents: tuple[argparse.ArgumentParser, ...] = ()
) -> argparse.ArgumentParser:
    """A subcommand whose arguments ``run(args) -> exit code`` receives."""
    parser = commands.add_parser(name, help=help, description=help, parents=list(parents))
    parser.set_defaults(func=run)
    return parser


def add_group(commands: Any, name: str, help: str) -> Any:
    """A command with subcommands of its own (``wmbench tasks list``)."""
    return commands.add_parser(name, help=help).add_subparsers(dest="action", required=True)
