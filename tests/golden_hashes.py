"""Golden content hashes: the first dev episode of every built-in task, at its version.

A change of scene code, engine or renderer that alters episodes changes these hashes;
the test then fails until the task's version is bumped (with a changelog line) and the
file is regenerated::

    python -m tests.golden_hashes --update
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from wmbench.tasks import builtin_tasks, get_task, split_seeds
from wmbench.worlds import engine_versions, generate_episode

GOLDEN = Path(__file__).with_name("golden_hashes.json")


def first_dev_hash(name: str) -> dict[str, object]:
    """``task@version`` and content hash of a task's first dev episode."""
    task = get_task(name)
    seed = split_seeds(task, "dev", 1)[0]
    return {"id": task.id, "seed": seed, "hash": generate_episode(task, "dev", seed).content_hash()}


def compute() -> dict[str, object]:
    return {"engine": engine_versions(), "tasks": {name: first_dev_hash(name) for name in sorted(builtin_tasks())}}


def load() -> dict[str, object]:
    return json.loads(GOLDEN.read_text())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.golden_hashes", description=__doc__.split("\n\n")[0])
    parser.add_argument("--update", action="store_true", help=f"rewrite {GOLDEN.name}")
    args = parser.parse_args(argv)
    data = compute()
    if args.update:
        GOLDEN.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
        print(f"wrote {GOLDEN} ({len(data['tasks'])} tasks)")
    else:
        print(json.dumps(data, indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
