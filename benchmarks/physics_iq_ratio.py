"""``wmbench physics-iq`` against the official procedure, side by side on the same cores.

A synthetic submission in the Physics-IQ layout (``--scenarios`` x 3 views, 150 frames
at 256x256 and 30 FPS per video: real takes 1 and 2, the generated video, the real
takes' mask videos) is scored by the independent reference of the official procedure
(``tests/physics_iq_reference.py``: mask videos of the real takes unless given and of
the generated videos, the per-view metrics as ``calculate_and_write_metrics_to_csv``
computes them, the CSV and ``calculate_iq_score``) and by ``wmbench physics-iq``
(default worker count), each in a fresh process pinned with ``taskset`` to 1 and to 2
CPUs, with and without the real masks given, alternating, ``--repeats`` times. It
prints wall times (median), the ratio wmbench / reference (target: at most 0.33) and
both scores (they must be equal).

Run: ``python -m benchmarks.physics_iq_ratio [--scenarios 8] [--repeats 2]``.
"""

from __future__ import annotations

import argparse
import json
import os
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


def _run(command: list[str], cpus: str) -> tuple[float, dict]:
    """Wall seconds and the JSON printed by ``command`` run on ``cpus``."""
    start = time.perf_counter()
    done = subprocess.run(["taskset", "-c", cpus, *command], capture_output=True, text=True, check=True)
    return time.perf_counter() - start, json.loads(done.stdout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenarios", type=int, default=8, help="scenarios of 3 views each (default 8: 24 views)")
    parser.add_argument("--repeats", type=int, default=2, help="runs of each tool per setting (default 2)")
    args = parser.parse_args(argv)
    cores = sorted(os.sched_getaffinity(0))
    python = sys.executable
    with tempfile.TemporaryDirectory(prefix="wmbench-bench-physics-iq-") as tmp:
        generated, real, masks = make_submission(Path(tmp), args.scenarios)
        print(f"{3 * args.scenarios} views of {FRAMES} frames at {SIZE}x{SIZE}; median wall seconds of "
              f"{args.repeats} alternating runs each")
        print(f"{'CPUs':>4} {'masks':>6} {'reference s':>12} {'wmbench s':>10} {'ratio':>6}  scores (reference, wmbench)")
        worst = 0.0
        for count in (1, 2):
            if count > len(cores):
                print(f"{count:>4}  skipped: only {len(cores)} CPU available")
                continue
            cpus = ",".join(map(str, cores[:count]))
            for given in (True, False):
                mask_args = [str(masks)] if given else []
                times: dict[str, list[float]] = {"reference": [], "wmbench": []}
                scores = {}
                for _ in range(args.repeats):
                    reference_command = [python, "-m", "tests.physics_iq_reference", str(generated), str(real)]
                    seconds, out = _run(reference_command + mask_args, cpus)
                    times["reference"].append(seconds)
                    scores["reference"] = out["physics_iq_score"]
                    command = [python, "-m", "wmbench", "physics-iq", str(generated), "--real", str(real)]
                    seconds, out = _run(command + (["--masks", str(masks)] if given else []), cpus)
                    times["wmbench"].append(seconds)
                    scores["wmbench"] = out["scores"]["physics_iq_score"]
                reference, ours = (statistics.median(times[k]) for k in ("reference", "wmbench"))
                worst = max(worst, ours / reference)
                print(f"{count:>4} {'given' if given else 'none':>6} {reference:>12.2f} {ours:>10.2f} "
                      f"{ours / reference:>6.2f}  {scores['reference']}, {scores['wmbench']}"
                      + ("" if scores["reference"] == scores["wmbench"] else "  SCORES DIFFER"))
        print(f"worst ratio {worst:.2f} (target <= {TARGET})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
