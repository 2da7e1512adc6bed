"""``wmbench physics-iq``: score a Physics-IQ submission as the official scripts do."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from wmbench.cli.options import add_command, positive, workers_of


def physics_iq(args: argparse.Namespace) -> int:
    from wmbench.cache_files import default_cache_dir
    from wmbench.metrics.physics_iq import score_submission, write_csv
    from wmbench.metrics.physics_iq.takes import TakesCache

    cache = None if args.no_cache else TakesCache(args.cache or default_cache_dir())
    summary, per_view = score_submission(
        args.generated,
        args.real,
        args.masks,
        args.fps,
        args.device,
        mask_video=not args.no_mask_video,
        progress=sys.stderr.isatty(),
        workers=workers_of(args),
        cache=cache,
    )
    if args.csv:
        write_csv(per_view, args.csv)
    print(json.dumps(summary, indent=2))
    return 0


def add(commands: Any) -> None:
    p = add_command(
        commands,
        "physics-iq",
        physics_iq,
        "score a Physics-IQ submission directory as the official "
        "scripts do; prints the per-view metrics, the Physics-IQ score and the physical variance as JSON",
    )
    p.add_argument("generated", type=Path, help="directory of generated videos named ID_*.mp4 (ID of the real take 1)")
    p.add_argument(
        "--real",
        type=Path,
        help="directory of the real takes, ID_testing-videos_{fps}FPS_VIEW_take-N_"
        "SCENARIO.mp4, at the generated videos' frame rate or at 30 FPS (then converted to it, "
        "as the official scripts do; default: the generated directory)",
    )
    p.add_argument(
        "--masks",
        type=Path,
        help="directory of precomputed real mask videos, ID_video-masks_{fps}FPS_"
        "VIEW_take-N_SCENARIO.mp4 (default: computed from the real takes)",
    )
    p.add_argument(
        "--fps",
        type=float,
        help="frame rate; the first fps*5 frames are scored (default: the "
        "generated videos' frame rate, as the official scripts read it)",
    )
    p.add_argument(
        "--device",
        default="cpu",
        help="where the motion masks are computed: cpu (OpenCV, the default) or a torch device "
        "such as cuda (the same masks; imports torch)",
    )
    p.add_argument(
        "--no-mask-video",
        action="store_true",
        help="use the computed masks as they are instead of "
        "passing them through an mp4v mask video as the official scripts do (faster; see docs/metrics.md)",
    )
    p.add_argument(
        "--cache",
        type=Path,
        help="where the real takes' frames and masks are kept for the next submission scored "
        "against them (default: $WMBENCH_CACHE or ~/.cache/wmbench, under physics-iq/; the numbers do not change)",
    )
    p.add_argument("--no-cache", action="store_true", help="read the real takes every time, keep nothing")
    p.add_argument("--csv", type=Path, help="also write the official per-scenario CSV (per-frame lists) here")
    p.add_argument(
        "--workers",
        type=positive,
        metavar="N",
        help="threads scoring views in parallel, one core "
        "each (default: every available core; the numbers do not depend on it)",
    )
