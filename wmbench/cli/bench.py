"""``wmbench bench generate``: generation speed per core and cache size per episode;
``wmbench bench speed``: the speed protocol's run-to-run spread on adapters of known cost."""

from __future__ import annotations

import argparse
import json
from typing import Any

from wmbench.cli.options import JSON, add_command, add_group, non_negative, positive, positive_number

#: How far two runs of the same adapter may be apart (run-to-run spread) to count as steady.
STEADY = 0.05

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


def bench_speed(args: argparse.Namespace) -> int:
    import pandas as pd

    from wmbench.run.speed import SpeedProtocol
    from wmbench.run.steadiness import COMPARED, measure_runs, run_to_run, value

    protocol = SpeedProtocol(min_calls=args.min_calls, min_time_s=args.min_time)
    report = []
    for ms in args.per_call_ms:
        records = measure_runs(ms / 1e3, args.runs, protocol)
        runs = [
            {
                "run": i + 1,
                **{name: value(r, name) for name in COMPARED},
                "step_relative_iqr": r["step_latency_ms"]["relative_iqr"],
                "steps": r["step_latency_ms"]["count"],
                "predict_calls": r["predict_latency_ms"]["count"],
                "spread_too_wide": r["spread_too_wide"],
            }
            for i, r in enumerate(records)
        ]
        report.append({"per_call_ms": ms, "runs": runs, "run_to_run": run_to_run(records)})
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(
        f"speed protocol (min {protocol.min_calls} calls and {protocol.min_time_s:g} s of each kind), "
        f"{args.runs} runs per adapter sleeping a known time per call, drop_single shape, batch 4"
    )
    for case in report:
        spread = case["run_to_run"]
        verdict = "steady" if max(spread.values()) <= STEADY else "NOT steady"
        print(
            f"\n{case['per_call_ms']:g} ms per call: run-to-run spread (max - min) / median: step p50 "
            f"{100 * spread['step_p50_ms']:.2f}%, throughput {100 * spread['throughput_frames_per_s']:.2f}% "
            f"({verdict} at {100 * STEADY:g}%)"
        )
        print(pd.DataFrame(case["runs"]).to_markdown(index=False, floatfmt=".4g"))
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

    p = add_command(
        bench,
        "speed",
        bench_speed,
        "the speed protocol's run-to-run spread: adapters sleeping a known time per call, measured several times",
        (JSON,),
    )
    p.add_argument(
        "--per-call-ms",
        type=positive_number,
        nargs="+",
        default=[1.0, 20.0],
        metavar="MS",
        help="the adapters' cost per call, ms (default: 1 20)",
    )
    p.add_argument("--runs", type=positive, default=2, help="protocol runs per adapter (default: 2)")
    p.add_argument(
        "--min-calls", type=positive, default=20, help="the protocol's minimum calls of each kind (default: 20)"
    )
    p.add_argument(
        "--min-time",
        type=non_negative,
        default=1.0,
        metavar="SECONDS",
        help="the protocol's minimum timed seconds of each kind (default: 1)",
    )
