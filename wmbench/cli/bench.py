"""``wmbench bench generate``: generation speed per core and cache size per episode."""

from __future__ import annotations

import argparse
import json
from typing import Any

from wmbench.cli.options import JSON, add_command, add_group, positive, positive_number

COLUMNS = {
    "task": "task",
    "episodes_per_s_per_core": "episodes/s",
    "truth_frames_per_s_per_core": "truth frames/s",
    "ensemble_frames_per_s_per_core": "ensemble frames/s",
    "all_frames_per_s_per_core": "all frames/s",
    "cache_bytes_per_episode": "cache bytes/episode",
    "cache_write_ms_per_episode": "cache write ms/episode",
    "cache_read_ms_per_episode": "cache read ms/episode",
}


def bench_generate(args: argparse.Namespace) -> int:
    import pandas as pd

    from wmbench.tasks import builtin_tasks, get_task
    from wmbench.worlds.speed import measure_generation

    names = args.tasks or list(builtin_tasks())
    rows = []
    for name in names:
        task = get_task(name).with_overrides(resolution=args.resolution, fps=args.fps)
        rows.append(measure_generation(task, args.episodes).summary())
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        table = pd.DataFrame(rows)[list(COLUMNS)].rename(columns=COLUMNS)
        print(f"per core (CPU time of one process), {args.resolution} px, {args.episodes} episodes per task")
        print(table.to_markdown(index=False, floatfmt=".4g"))
    return 0


def add(commands: Any) -> None:
    bench = add_group(commands, "bench", "benchmarks")
    p = add_command(
        bench,
        "generate",
        bench_generate,
        "episodes and frames generated per second per core, and cache size per episode",
        (JSON,),
    )
    p.add_argument("tasks", nargs="*", help="task names or files (default: every built-in task)")
    p.add_argument("--episodes", type=positive, default=4, metavar="N", help="timed episodes per task (default: 4)")
    p.add_argument("--resolution", type=positive, default=128, help="frame size in pixels (default: 128)")
    p.add_argument("--fps", type=positive_number, help="override the tasks' frame rate")
