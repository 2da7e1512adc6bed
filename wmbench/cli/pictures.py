"""``wmbench pictures``: draw a task's episodes as a strip or an animation, or a run's
kept predictions next to the truth."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from wmbench.cli.generate import generation_jobs
from wmbench.cli.options import CACHE, RENDER, add_command, cache_of, positive
from wmbench.errors import WmbenchError
from wmbench.tasks.schema import SPLITS


def pictures(args: argparse.Namespace) -> int:
    from wmbench.tasks import builtin_tasks, get_task
    from wmbench.worlds.pictures import check_picture_path, save_picture

    if args.result:
        return _result_pictures(args)
    if args.all:
        targets = [(name, (args.out_dir or Path("docs/images")) / f"{name}.png") for name in builtin_tasks()]
    elif args.task:
        targets = [(args.task, check_picture_path(args.out or f"{get_task(args.task).name}.png"))]
    else:
        raise WmbenchError("pictures: name a TASK or pass --all")
    cache = cache_of(args)
    for name, out in targets:
        jobs = generation_jobs(args, (name,), args.split, args.episodes)
        if not jobs:
            raise WmbenchError(f"task '{name}' has no {args.split} episodes to draw")
        episodes = [cache.get(job.task, job.split, job.seed) for job in jobs]
        print(save_picture(episodes, out, args.every, args.tracks, args.occluders))
    return 0


def _result_pictures(args: argparse.Namespace) -> int:
    from wmbench.results import load_result
    from wmbench.run.pictures import draw_result

    if args.task or args.all:
        raise WmbenchError("pictures: --result draws a result's saved predictions; it takes no TASK or --all")
    result = load_result(args.result)
    out_dir = args.out_dir if args.out_dir is not None else result.file.parent / "pictures"
    drawn = draw_result(
        result.file.parent, result.record, out_dir, cache_of(args), args.tracks, args.animation, args.every
    )
    for task in drawn:
        for seed in task.strips:
            print(f"{task.strips[seed]}  {task.animations[seed]}")
        print(task.curves)
    return 0


def add(commands: Any) -> None:
    p = add_command(
        commands,
        "pictures",
        pictures,
        "draw a task's episodes: a strip (.png) or an animation (.gif); or, with --result, a run's saved "
        "predictions next to the truth",
        (RENDER, CACHE),
    )
    p.add_argument("task", nargs="?", help="task name or path to a task file")
    p.add_argument("--out", type=Path, help="FILE.png (strip) or FILE.gif (animation); default: TASK.png")
    p.add_argument("--all", action="store_true", help="a strip of every built-in task into --out-dir")
    p.add_argument(
        "--result",
        type=Path,
        metavar="DIR",
        help="draw the predictions a run kept (--save-predictions): per episode a strip (truth, prediction, "
        "difference) and an animation, per task the per-step error curves; into --out-dir (default: DIR/pictures)",
    )
    p.add_argument("--animation", choices=("gif", "mp4"), default="gif", help="with --result (default: gif)")
    p.add_argument("--out-dir", type=Path, help="with --all (default: docs/images) or --result")
    p.add_argument("--episodes", type=positive, default=3, metavar="N", help="episodes drawn, one per row (default: 3)")
    p.add_argument("--split", default="dev", choices=SPLITS)
    p.add_argument(
        "--tracks",
        action="store_true",
        help="overlay the object tracks: the true ones where objects are visible; with --result, the ones "
        "extracted from the predicted frames",
    )
    p.add_argument("--occluders", action="store_true", help="outline the occluders")
    p.add_argument("--every", type=positive, metavar="K", help="show every K-th frame (default: at most 12 columns)")
