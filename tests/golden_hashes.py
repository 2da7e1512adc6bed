"""Golden content hashes: the first dev episode of every built-in task, at its version.

A change of scene code, engine or renderer that alters episodes changes these hashes;
the test then fails until the task's version is bumped (with a changelog line) and the
files are regenerated::

    python -m tests.golden_hashes --update

which rewrites ``tests/golden_hashes.json`` and the released task definitions
``tasks/released.json``. Without ``--update`` it prints the hashes this machine
computes (``tests/test_determinism.py`` compares them across BLAS kernels, SIMD levels
and thread counts).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from wmbench._resources import tasks_dir
from wmbench.tasks import builtin_tasks, get_task, split_seeds
from wmbench.tasks.released import RELEASED_FILE
from wmbench.worlds import engine_versions, generate_episode

GOLDEN = Path(__file__).with_name("golden_hashes.json")


def first_dev_hash(name: str) -> dict[str, object]:
    """``task@version`` and content hash of a task's first dev episode."""
    task = get_task(name)
    seed = split_seeds(task, "dev", 1)[0]
    return {"id": task.id, "seed": seed, "hash": generate_episode(task, "dev", seed).content_hash()}


def compute() -> dict[str, object]:
    return {"engine": engine_versions(), "tasks": {name: first_dev_hash(name) for name in sorted(builtin_tasks())}}


def released() -> dict[str, str]:
    """Every built-in ``name@version`` and the SHA-256 of its definition as written.
    A version released before keeps its definition: changing one is refused."""
    path = tasks_dir() / RELEASED_FILE
    before = json.loads(path.read_text()) if path.exists() else {}
    now = {}
    for name in sorted(builtin_tasks()):
        task = get_task(name)
        now[task.id] = task.definition_hash(as_written=True)
        if before.get(task.id, now[task.id]) != now[task.id]:
            raise SystemExit(
                f"{task.source}: {task.id} was released with another definition; "
                "bump its version and add a changelog line"
            )
    return now


def load() -> dict[str, object]:
    return json.loads(GOLDEN.read_text())


def _write(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    print(f"wrote {path}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.golden_hashes", description=__doc__.split("\n\n")[0])
    parser.add_argument("--update", action="store_true", help=f"rewrite {GOLDEN.name} and tasks/{RELEASED_FILE}")
    args = parser.parse_args(argv)
    if args.update:
        _write(tasks_dir() / RELEASED_FILE, released())
    data = compute()
    if args.update:
        _write(GOLDEN, data)
    else:
        print(json.dumps(data, indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
