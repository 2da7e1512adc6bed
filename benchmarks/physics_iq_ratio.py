"""``wmbench physics-iq`` against the official procedure, side by side on the same cores.

A synthetic submission in the Physics-IQ layout (``--scenarios`` x 3 views, 150 frames
at 256x256 and 30 FPS per video: real takes 1 and 2, the generated video, the real
takes' mask videos) is scored by the independent reference of the official procedure
(``tests/physics_iq_reference.py``: mask videos of the real takes unless given and of
the generated videos, the per-view metrics as ``calculate_and_write_metrics_to_csv``
computes them, the CSV and ``calculate_iq_score``) and by ``wmbench physics-iq``
(default worker count), each in a fresh process pinned with ``taskset`` to 1 and to 2
CPUs, with and without the real masks given, alternating, ``--repeats`` times:
wmbench reading every video (``--no-cache``) and wmbench with the real takes' side kept
from an earlier run (``--cache``, filled by one untimed run: every later submission
scored against the same takes). It prints wall times (median), the ratios wmbench /
reference (target: at most 0.33) and the scores (they must be equal).

Run: ``python -m benchmarks.physics_iq_ratio [--scenarios 8] [--repeats 2]``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from tests import physics_iq_reference as ref

FPS, FRAMES, SIZE = 30, 150, 256
TARGET = 0.33


def _frames(seed: int, speed: float) -> list[np.ndarray]:
    """Two discs moving over a lightly textured background (per ``seed``), the first at
    ``speed`` pixels a frame."""
    rng = np.random.default_rng(seed)
    background = np.clip(rng.normal(110, 6, (SIZE, SIZE, 3)), 0, 255).astype(np.uint8)
    out = []
    for t in range(FRAMES):
        frame = background.copy()
        cv2.circle(frame, (int(30 + speed * t), int(30 + 0.015 * t * t) % (SIZE - 30)), 14, (30, 200, 230), -1)
        cv2.circle(frame, (int(SIZE - 30 - speed * t / 2), 180), 10, (200, 40, 40), -1)
        out.append(frame)
    return out


def make_submission(root: Path, scenarios: int) -> tuple[Path, Path, Path]:
    """``(generated, real, masks)`` directories of a synthetic submission."""
    generated, real, masks = root / "generated", root / "real", root / "masks"
    for folder in (generated, real, masks):
        folder.mkdir()
    n = 0
    for s in range(scenarios):
        scenario = f"synthetic-{s:02d}.mp4"
        for view in ref.VIEWS:
            n += 1
            for take in (1, 2):
                name = f"{n + 500 * (take - 1):04d}_testing-videos_{FPS}FPS_{view}_take-{take}_{scenario}"
                ref.write_video(real / name, _frames(n, 1.0 + 0.03 * take), FPS)
                ref.write_mask_video(real / name, masks / name.replace("testing-videos", "video-masks"))
            ref.write_video(generated / f"{n:04d}_{view}_{scenario}", _frames(n, 0.7 + 0.1 * (n % 4)), FPS)
    return generated, real, masks


def _run(command: list[str], cpus: str) -> tuple[float, float, dict]:
    """Wall seconds, CPU seconds (user + system) and the JSON printed by ``command``
    run on ``cpus``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(["taskset", "-c", cpus, *command], capture_output=True, text=True, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, cpu, json.loads(done.stdout)


def _compare(generated: Path, real: Path, masks: Path | None, cpus: str, repeats: int, kept: Path) -> dict:
    """Median wall and CPU seconds of each tool, alternating, and the scores they print;
    ``kept``: the cache directory of the runs with the real takes kept."""
    python = sys.executable
    wmbench_masks = [] if masks is None else ["--masks", str(masks)]
    mask_args = {"reference": [] if masks is None else [str(masks)], "wmbench": wmbench_masks, "kept": wmbench_masks}
    wmbench = [python, "-m", "wmbench", "physics-iq", str(generated), "--real", str(real)]
    commands = {
        "reference": [python, "-m", "tests.physics_iq_reference", str(generated), str(real)],
        "wmbench": [*wmbench, "--no-cache"],
        "kept": [*wmbench, "--cache", str(kept)],
    }
    _run(commands["kept"] + mask_args["kept"], cpus)  # keeps the real takes' side
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    scores = {}
    for _ in range(repeats):
        for name, command in commands.items():
            wall, cpu, out = _run(command + mask_args[name], cpus)
            runs[name].append((wall, cpu))
            scores[name] = out["physics_iq_score"] if name == "reference" else out["scores"]["physics_iq_score"]
    medians = {name: [statistics.median(r[i] for r in runs[name]) for i in (0, 1)] for name in runs}
    return {"seconds": medians, "scores": scores}


def _workers(generated: Path, real: Path, masks: Path, cpus: str, repeats: int) -> None:
    """``wmbench physics-iq`` with its default worker count against ``--workers 1``."""
    command = [
        sys.executable,
        "-m",
        "wmbench",
        "physics-iq",
        str(generated),
        "--real",
        str(real),
        "--masks",
        str(masks),
        "--no-cache",
    ]
    walls: dict[str, list[float]] = {"default": [], "1": []}
    for _ in range(repeats):
        for workers, extra in (("default", []), ("1", ["--workers", "1"])):
            walls[workers].append(_run(command + extra, cpus)[0])
    default, one = (statistics.median(walls[k]) for k in ("default", "1"))
    print(
        f"wmbench on CPUs {cpus}, masks given: default workers {default:.2f} s, --workers 1 {one:.2f} s "
        f"(default / one: {default / one:.2f})"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenarios", type=int, default=8, help="scenarios of 3 views each (default 8: 24 views)")
    parser.add_argument("--repeats", type=int, default=2, help="runs of each tool per setting (default 2)")
    args = parser.parse_args(argv)
    cores = sorted(os.sched_getaffinity(0))
    with tempfile.TemporaryDirectory(prefix="wmbench-bench-physics-iq-") as tmp:
        generated, real, masks = make_submission(Path(tmp), args.scenarios)
        print(
            f"physics-iq: {3 * args.scenarios} views of {FRAMES} frames at {SIZE}x{SIZE}, {FPS} FPS; "
            f"medians of {args.repeats} alternating runs; seconds as wall (CPU)"
        )
        print(
            f"{'CPUs':>4} {'masks':>6} {'reference':>15} {'wmbench':>15} {'ratio wall':>10} {'ratio CPU':>9} "
            f"{'takes kept':>15} {'ratio wall':>10} {'ratio CPU':>9}  scores"
        )
        worst = worst_kept = 0.0
        for count in (1, 2):
            if count > len(cores):
                print(f"{count:>4}  skipped: only {len(cores)} CPU(s) available")
                continue
            cpus = ",".join(map(str, cores[:count]))
            for given in (masks, None):
                result = _compare(generated, real, given, cpus, args.repeats, Path(tmp) / f"takes-{count}")
                seconds, scores = result["seconds"], result["scores"]
                (ref_wall, ref_cpu), (our_wall, our_cpu) = seconds["reference"], seconds["wmbench"]
                kept_wall, kept_cpu = seconds["kept"]
                worst, worst_kept = max(worst, our_wall / ref_wall), max(worst_kept, kept_wall / ref_wall)
                same = "" if len(set(scores.values())) == 1 else "  SCORES DIFFER"
                print(
                    f"{count:>4} {'given' if given else 'none':>6} {ref_wall:>7.2f} ({ref_cpu:>5.2f}) "
                    f"{our_wall:>7.2f} ({our_cpu:>5.2f}) {our_wall / ref_wall:>10.2f} {our_cpu / ref_cpu:>9.2f} "
                    f"{kept_wall:>7.2f} ({kept_cpu:>5.2f}) {kept_wall / ref_wall:>10.2f} {kept_cpu / ref_cpu:>9.2f}  "
                    f"{', '.join(map(str, scores.values()))}{same}"
                )
        print(
            f"worst wall-time ratio wmbench / reference: {worst:.2f}, with the real takes kept {worst_kept:.2f} "
            f"(target <= {TARGET})"
        )
        if len(cores) > 1:
            _workers(generated, real, masks, ",".join(map(str, cores)), args.repeats)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
