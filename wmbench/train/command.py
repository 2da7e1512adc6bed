"""The ``wmbench train`` and ``wmbench card`` commands."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Callable



def cmd_train(args: argparse.Namespace) -> int:
    from wmbench.cli import _cache, _workers
    from wmbench.tasks import get_suite
    from wmbench.train.fit import Budget, TrainSpec, train
    from wmbench.worlds.release import Release

    releases = {split: Release(path) for split, path in (("train", args.data), ("dev", args.val_data)) if path}
    if "train" in releases:
        train_release = releases["train"]
        tasks, limit = tuple(t.name for t in train_release.tasks), args.limit
        suite = (train_release.manifest["suite"] or {}).get("name")
    elif args.tasks:
        tasks, suite, limit = tuple(t for t in args.tasks.split(",") if t), None, args.limit
    else:
        chosen = get_suite(args.suite)
        tasks, suite, limit = chosen.tasks, chosen.name, args.limit or chosen.episodes
    spec = TrainSpec(model=args.model, tasks=tasks, suite=suite, preset=args.preset, config=args.config,
                     data=releases["train"].manifest["release"] if "train" in releases else None,
                     val_data=releases["dev"].manifest["release"] if "dev" in releases else None,
                     train_limit=limit, val_limit=args.val_limit or limit, horizon=args.horizon,
                     windows=args.windows, batch_size=args.batch_size, lr=args.lr,
                     sampling_steps=args.sampling_steps, patience=args.patience, seed=args.seed)
    budget = Budget(accelerator=args.accelerator, devices=args.devices, strategy=args.strategy,
                    num_nodes=args.num_nodes, precision=args.precision, max_steps=args.max_steps,
                    max_time=args.max_time, max_epochs=args.max_epochs, num_workers=args.num_workers,
                    logger=args.logger, progress=not args.no_progress)
    saved = train(spec, args.out, _cache(args), budget, _workers(args), args.test_secret, releases)
    if saved is not None:
        t = saved["training"]
        print(json.dumps({"checkpoint": str(args.out / "model.pt"), "card": str(args.out / "model.md"),
                          "steps": t["steps"], "seconds": t["seconds"], "stopped": t["stopped"],
                          "best_val_mse": t["best_val_mse"], "val_mse_copy_last": t["val_mse_copy_last"]}, indent=2))
    return 0


def cmd_card(args: argparse.Namespace) -> int:
    from wmbench.adapters.learned import read_checkpoint
    from wmbench.leaderboard import find_results
    from wmbench.train.card import plot_curves, write_card

    results = find_results(args.results) if args.results else []
    for path in args.checkpoints:
        saved = read_checkpoint(path)
        print(write_card(path, saved, [r for r in results if r.adapter == saved["model"]]))
    if args.curves:
        print(plot_curves(args.checkpoints, args.curves))
    return 0


def register(command: Callable[..., argparse.ArgumentParser]) -> None:
    """Add ``train`` and ``card`` with ``command(name, func, help)`` (see :func:`wmbench.cli.build_parser`)."""
    from wmbench.cli import _add_cache_options, _devices, _json_arg, _positive

    p = command("train", cmd_train, "train a video predictor on a suite's train split with Lightning; writes "
                "checkpoints, logs, model.pt (the best weights, for --adapter-config) and its model card")
    p.add_argument("--model", required=True, help="a trainable adapter: convlstm, predrnn, simvp (or *_action), "
                   "package.module:Class or path/to/file.py:Class")
    p.add_argument("--preset", default="smoke", help="network size: smoke (minutes on a CPU), cpu, full (one GPU); "
                   "default: smoke")
    p.add_argument("--config", type=_json_arg, default={}, help="JSON object overriding the preset's network settings")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--suite", default="smoke", help="train on this suite's tasks (default: smoke); action-"
                       "conditioned models take its action_conditioned tasks")
    which.add_argument("--tasks", help="comma-separated task names or files")
    p.add_argument("--limit", type=_positive, metavar="N", help="train episodes per task (default: the suite's "
                   "cap, else all)")
    p.add_argument("--data", type=Path, metavar="RELEASE", help="train on a release of a train split (its tasks "
                   "and exact episodes, nothing generated) instead of the suite's episodes from the cache")
    p.add_argument("--val-data", type=Path, metavar="RELEASE", help="validate on a release of a dev split")
    p.add_argument("--out", type=Path, required=True, help="training directory (rerun to resume)")
    p.add_argument("--val-limit", type=_positive, metavar="N", help="dev episodes per task for validation "
                   "(default: --limit, else the suite's cap)")
    p.add_argument("--horizon", type=_positive, default=8, help="frames predicted per training window (default: 8)")
    p.add_argument("--windows", type=_positive, default=4, help="random windows per episode and epoch (default: 4)")
    p.add_argument("--batch-size", type=_positive, default=16)
    p.add_argument("--lr", type=float, default=1e-3, help="peak learning rate of AdamW (default: 1e-3)")
    p.add_argument("--sampling-steps", type=int, metavar="N", help="steps of scheduled sampling "
                   "(default: half of --max-steps, else 1000)")
    p.add_argument("--patience", type=_positive, default=5, help="validations without improvement before "
                   "early stopping (default: 5)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-steps", type=int, default=-1, help="stop after N optimiser steps")
    p.add_argument("--max-time", help="stop after this long, DD:HH:MM:SS (e.g. 00:00:05:00)")
    p.add_argument("--max-epochs", type=int, help="stop after N epochs")
    p.add_argument("--accelerator", default="auto", help="Lightning accelerator: auto, cpu, gpu, ...")
    p.add_argument("--devices", type=_devices, default="auto", help="Lightning devices: auto, N, ...")
    p.add_argument("--strategy", default="auto", help="Lightning strategy: auto, ddp, ...")
    p.add_argument("--num-nodes", type=int, default=1)
    p.add_argument("--precision", default=None, help="Lightning precision, e.g. 32-true, bf16-mixed")
    p.add_argument("--num-workers", type=int, default=0, help="data loader worker processes")
    p.add_argument("--logger", choices=("csv", "tensorboard", "none"), default="csv",
                   help="Lightning logger, under OUT/logs (default: csv)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--workers", type=_positive, metavar="N", help="processes generating missing episodes "
                   "(default: every available core)")
    _add_cache_options(p)

    p = command("card", cmd_card, "write trained checkpoints' model cards (with dev scores from results) "
                "and, with --curves, a picture of their training curves")
    p.add_argument("checkpoints", type=Path, nargs="+", help="checkpoints written by wmbench train")
    p.add_argument("--results", type=Path, nargs="+", help="result directories (or files) to take dev scores from")
    p.add_argument("--curves", type=Path, metavar="PNG", help="also draw the training curves here (needs matplotlib)")
