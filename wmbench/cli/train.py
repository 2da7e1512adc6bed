"""``wmbench train``: train a video predictor on a suite's train split with Lightning."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from wmbench.cli.options import (
    CACHE,
    LIGHTNING,
    PROGRESS,
    WORKERS,
    add_command,
    cache_of,
    count,
    json_object,
    positive,
    positive_number,
    workers_of,
)


def train(args: argparse.Namespace) -> int:
    from wmbench.tasks import get_suite
    from wmbench.train import Budget, TrainSpec, fit
    from wmbench.worlds.release import Release

    releases = {split: Release(path) for split, path in (("train", args.data), ("dev", args.val_data)) if path}
    if "train" in releases:
        tasks, limit = tuple(t.name for t in releases["train"].tasks), args.limit
        suite = (releases["train"].manifest["suite"] or {}).get("name")
    elif args.tasks:
        tasks, suite, limit = tuple(t for t in args.tasks.split(",") if t), None, args.limit
    else:
        chosen = get_suite(args.suite)
        tasks, suite, limit = chosen.tasks, chosen.name, args.limit or chosen.episodes
    spec = TrainSpec(
        model=args.model,
        tasks=tasks,
        suite=suite,
        data=releases["train"].manifest["release"] if "train" in releases else None,
        val_data=releases["dev"].manifest["release"] if "dev" in releases else None,
        preset=args.preset,
        config=args.config,
        train_limit=limit,
        val_limit=args.val_limit or limit,
        horizon=args.horizon,
        windows=args.windows,
        batch_size=args.batch_size,
        lr=args.lr,
        sampling_steps=args.sampling_steps,
        patience=args.patience,
        seed=args.seed,
    )
    budget = Budget(
        accelerator=args.accelerator,
        devices=args.devices,
        strategy=args.strategy,
        num_nodes=args.num_nodes,
        precision=args.precision,
        max_steps=args.max_steps,
        max_time=args.max_time,
        max_epochs=args.max_epochs,
        num_workers=args.num_workers,
        logger=args.logger,
        progress=not args.no_progress,
    )
    saved = fit.train(spec, args.out, cache_of(args), budget, workers_of(args), args.test_secret, releases)
    if saved is not None:
        t = saved["training"]
        report = {"checkpoint": str(args.out / "model.pt"), "card": str(args.out / "model.md")}
        report.update({k: t[k] for k in ("steps", "seconds", "stopped", "best_val_mse", "val_mse_copy_last")})
        print(json.dumps(report, indent=2))
    return 0


def add(commands: Any) -> None:
    p = add_command(
        commands,
        "train",
        train,
        "train a video predictor on a suite's train split with Lightning; writes checkpoints, logs, model.pt "
        "(the best weights, for --adapter-config) and its model card",
        (LIGHTNING, PROGRESS, WORKERS, CACHE),
    )
    p.add_argument(
        "--model",
        required=True,
        help="a trainable adapter: convlstm, predrnn, simvp (or *_action), package.module:Class or path/to/file.py:Class",
    )
    p.add_argument(
        "--preset", default="smoke", help="network size: smoke (minutes on a CPU), cpu, full (one GPU); default: smoke"
    )
    p.add_argument("--config", type=json_object, default={}, help="JSON object overriding the preset's settings")
    which = p.add_mutually_exclusive_group()
    which.add_argument(
        "--suite",
        default="smoke",
        help="train on this suite's tasks (default: smoke); action-conditioned models take its "
        "action_conditioned tasks",
    )
    which.add_argument("--tasks", help="comma-separated task names or files")
    p.add_argument("--limit", type=positive, metavar="N", help="train episodes per task (default: the suite's cap)")
    p.add_argument(
        "--data",
        type=Path,
        metavar="RELEASE",
        help="train on a release of a train split (its tasks and exact episodes, nothing generated)",
    )
    p.add_argument("--val-data", type=Path, metavar="RELEASE", help="validate on a release of a dev split")
    p.add_argument("--out", type=Path, required=True, help="training directory (rerun to resume)")
    p.add_argument(
        "--val-limit", type=positive, metavar="N", help="dev episodes per task to validate on (default: --limit)"
    )
    p.add_argument("--horizon", type=positive, default=8, help="frames predicted per training window (default: 8)")
    p.add_argument("--windows", type=positive, default=4, help="random windows per episode and epoch (default: 4)")
    p.add_argument("--batch-size", type=positive, default=16)
    p.add_argument("--lr", type=positive_number, default=1e-3, help="peak learning rate of AdamW (default: 1e-3)")
    p.add_argument(
        "--sampling-steps",
        type=count,
        metavar="N",
        help="steps of scheduled sampling (default: half of --max-steps, else 1000)",
    )
    p.add_argument(
        "--patience",
        type=positive,
        default=5,
        help="validations without improvement before early stopping (default: 5)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-steps", type=int, default=-1, help="stop after N optimiser steps")
    p.add_argument("--max-time", help="stop after this long, DD:HH:MM:SS (e.g. 00:00:05:00)")
    p.add_argument("--max-epochs", type=positive, help="stop after N epochs")
    p.add_argument(
        "--logger",
        choices=("csv", "tensorboard", "none"),
        default="csv",
        help="Lightning logger of the training curves, under OUT/logs (tensorboard needs the package)",
    )
