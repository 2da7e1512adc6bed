"""The ``wmbench`` command line: parses arguments and calls the stages."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Callable

from wmbench.errors import WmbenchError

DEMO_ADAPTERS = ("copy_last", "oracle")


def _json_arg(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("must be a JSON object")
    return value


def _devices(text: str) -> int | str:
    return int(text) if text.isdigit() else text


def _cache(args: argparse.Namespace):
    from wmbench.worlds import EpisodeCache, default_cache_dir

    return EpisodeCache(None if args.no_cache else (args.cache or default_cache_dir()))


def _add_cache_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--cache", type=Path, help="episode cache directory (default: $WMBENCH_CACHE or ~/.cache/wmbench)")
    p.add_argument("--no-cache", action="store_true", help="generate episodes in memory only")
    p.add_argument("--test-secret", help="secret for the test split's seeds (default: $WMBENCH_TEST_SECRET)")


# -- tasks -------------------------------------------------------------------------------

def cmd_tasks_list(args: argparse.Namespace) -> int:
    from wmbench.tasks import builtin_tasks, get_task

    tasks = [get_task(name) for name in builtin_tasks()]
    if args.family:
        tasks = [t for t in tasks if t.family == args.family]
    rows = [{"name": t.name, "version": t.version, "family": t.family, "scene": t.scene,
             "resolution": t.resolution, "fps": t.fps, "context": t.context, "horizon": t.horizon}
            for t in tasks]
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        import pandas as pd

        print(pd.DataFrame(rows).to_string(index=False) if rows else "no tasks")
    return 0


def cmd_tasks_show(args: argparse.Namespace) -> int:
    from wmbench.tasks import get_task

    task = get_task(args.task)
    print(f"# {task.source}\n" + Path(task.source).read_text() if task.source else task)
    return 0


def cmd_suites_list(args: argparse.Namespace) -> int:
    from wmbench.tasks import builtin_suites, get_suite

    for name in builtin_suites():
        suite = get_suite(name)
        print(f"{suite.name}: split={suite.split} episodes={suite.episodes or 'all'} tasks={', '.join(suite.tasks)}")
    return 0


# -- generate ------------------------------------------------------------------------------

def cmd_generate(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from wmbench.tasks import get_task, split_seeds

    task = get_task(args.task).with_overrides(resolution=args.resolution)
    cache = _cache(args)
    seeds = split_seeds(task, args.split, args.limit, args.test_secret)
    hashes = {}
    for seed in tqdm(seeds, desc=f"generate {task.id}", disable=not sys.stderr.isatty()):
        hashes[seed] = cache.get(task, args.split, seed).content_hash()
    print(json.dumps({"task": task.id, "split": args.split, "resolution": task.resolution,
                      "cache": str(cache.root), "episodes": hashes}, indent=2))
    return 0


# -- run -----------------------------------------------------------------------------------

def _task_names(args: argparse.Namespace) -> tuple[tuple[str, ...], str | None, str, int | None]:
    from wmbench.tasks import get_suite

    if args.tasks:
        return tuple(t for t in args.tasks.split(",") if t), None, args.split or "dev", args.limit
    suite = get_suite(args.suite)
    return suite.tasks, suite.name, args.split or suite.split, args.limit or suite.episodes


def cmd_run(args: argparse.Namespace) -> int:
    from wmbench.run import Execution, RunSpec, evaluate

    tasks, suite, split, limit = _task_names(args)
    spec = RunSpec(adapter=args.adapter, tasks=tasks, split=split, limit=limit,
                   adapter_config=args.adapter_config, suite=suite, resolution=args.resolution)
    execution = Execution(accelerator=args.accelerator, devices=args.devices, strategy=args.strategy,
                          num_nodes=args.num_nodes, precision=args.precision, batch_size=args.batch_size,
                          num_workers=args.num_workers, on_error=args.on_error, progress=not args.no_progress)
    result = evaluate(spec, args.out, _cache(args), execution, args.test_secret)
    if result is not None:
        _print_summary(result, args.out)
    return 0


def _print_summary(result: dict[str, Any], out: Path) -> None:
    print(f"\n{result['adapter']['name']} on {result['run']['split']}: {out / 'result.json'}")
    for task, entry in result["aggregates"].items():
        scores = ", ".join(f"{m}={s['mean']:.4g}" if s["mean"] is not None else f"{m}=missing"
                           for m, s in entry["metrics"].items())
        failed = f", {entry['failed']} failed" if entry["failed"] else ""
        print(f"  {task}: {entry['episodes']} episodes{failed}; {scores}")


# -- leaderboard, compare, demo -------------------------------------------------------------

def cmd_leaderboard(args: argparse.Namespace) -> int:
    from wmbench.leaderboard import find_results, leaderboard_table, write_leaderboard

    results = find_results(args.results)
    paths = write_leaderboard(results, args.out)
    print(leaderboard_table(results).to_markdown(index=False, floatfmt=".4g"))
    print("\n" + "\n".join(f"{kind}: {path}" for kind, path in paths.items()))
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from wmbench.results import compare, load_result

    table = compare(load_result(args.base), load_result(args.new))
    if args.json:
        print(table.to_json(orient="records", indent=2))
    else:
        print(table.to_markdown(index=False, floatfmt=".4g") if len(table) else "nothing in common to compare")
    if args.fail_on_regression is not None:
        scale = table["base"].abs().clip(lower=1e-12)
        regressed = table[table["worse"] & (table["change"].abs() / scale > args.fail_on_regression)]
        if len(regressed):
            print(f"regression beyond {args.fail_on_regression:.1%} in: "
                  + ", ".join(f"{r.task}/{r.metric}" for r in regressed.itertuples()), file=sys.stderr)
            return 1
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from wmbench.leaderboard import find_results, leaderboard_table, write_leaderboard
    from wmbench.run import Execution, RunSpec, evaluate
    from wmbench.tasks import get_suite

    suite = get_suite(args.suite)
    results_dir = args.out / "results"
    for adapter in DEMO_ADAPTERS:
        spec = RunSpec(adapter=adapter, tasks=suite.tasks, split=suite.split, limit=suite.episodes, suite=suite.name)
        result = evaluate(spec, results_dir / f"{suite.name}-{adapter}", _cache(args),
                          Execution(progress=sys.stderr.isatty()), args.test_secret)
        _print_summary(result, results_dir / f"{suite.name}-{adapter}")
    results = find_results([results_dir / f"{suite.name}-{a}" for a in DEMO_ADAPTERS])
    paths = write_leaderboard(results, args.out / "leaderboard")
    print("\n" + leaderboard_table(results).to_markdown(index=False, floatfmt=".4g"))
    print(f"\nresults: {results_dir}\n" + "\n".join(f"leaderboard ({k}): {p}" for k, p in paths.items()))
    return 0


def cmd_selftest(args: argparse.Namespace) -> int:
    from wmbench.errors import UnknownNameError
    from wmbench.metrics.selftest import VIOLATIONS, build_all_metrics, detection_table, run_selftest
    from wmbench.tasks import get_task, split_seeds

    violations = tuple(v for v in (args.violations or ",".join(VIOLATIONS)).split(",") if v)
    for name in violations:
        if name not in VIOLATIONS:
            raise UnknownNameError("violation", name, list(VIOLATIONS))
    metrics, missing = build_all_metrics()
    if args.metrics:
        wanted = [m for m in args.metrics.split(",") if m]
        for name in wanted:
            if name not in metrics and name not in missing:
                raise UnknownNameError("metric", name, list(metrics) + list(missing))
        metrics = {n: m for n, m in metrics.items() if n in wanted}
    task = get_task(args.task)
    cache = _cache(args)
    episodes = [cache.get(task, args.split, s) for s in split_seeds(task, args.split, args.episodes, args.test_secret)]
    rows = run_selftest(task, episodes, violations, metrics)
    table = detection_table(rows)
    failed = rows[rows["claimed"] & rows["scored"] & ~rows["detected"]]
    if args.json:
        print(json.dumps({"task": task.id, "split": args.split, "episodes": [e.key for e in episodes],
                          "unavailable": missing, "table": json.loads(table.to_json(orient="index")),
                          "rows": json.loads(rows.to_json(orient="records"))}, indent=2))
    else:
        print(f"self-test on {task.id} ({len(episodes)} {args.split} episodes): episodes where the violated "
              "future scores worse than the truth by the metric's margin / episodes scored; "
              "* = the metric claims to catch it, - = not scored\n")
        print(table.to_markdown())
        for name, reason in missing.items():
            print(f"\n{name}: not run ({reason})")
    for r in failed.itertuples():
        print(f"missed: {r.metric} did not catch {r.violation} on {r.episode} "
              f"(truth {r.truth:.4g}, violated {r.violated:.4g}, margin {r.margin:.4g})", file=sys.stderr)
    return 1 if len(failed) else 0


def cmd_adapters_list(args: argparse.Namespace) -> int:
    from wmbench.adapters import available

    print("\n".join(available()))
    return 0


# -- parser --------------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    from wmbench import __version__

    parser = argparse.ArgumentParser(prog="wmbench", description="A benchmark suite for world models.")
    parser.add_argument("--version", action="version", version=f"wmbench {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, func: Callable, help: str, parent=sub) -> argparse.ArgumentParser:
        p = parent.add_parser(name, help=help, description=help)
        p.set_defaults(func=func)
        return p

    tasks = sub.add_parser("tasks", help="list and show tasks").add_subparsers(dest="action", required=True)
    p = command("list", cmd_tasks_list, "list the built-in tasks", tasks)
    p.add_argument("--family", help="only this family")
    p.add_argument("--json", action="store_true", help="print JSON")
    p = command("show", cmd_tasks_show, "print a task file", tasks)
    p.add_argument("task", help="task name or path to a task file")
    command("suites", cmd_suites_list, "list the built-in suites", tasks)

    adapters = sub.add_parser("adapters", help="list adapters").add_subparsers(dest="action", required=True)
    command("list", cmd_adapters_list, "list adapters by short name (built-ins and entry points)", adapters)

    p = command("generate", cmd_generate, "generate (and cache) a task's episodes; prints their hashes")
    p.add_argument("task", help="task name or path to a task file")
    p.add_argument("--split", default="dev", choices=("train", "dev", "test"))
    p.add_argument("--limit", type=int, help="first N episodes only")
    p.add_argument("--resolution", type=int, help="override the task's resolution (pixels)")
    _add_cache_options(p)

    p = command("run", cmd_run, "evaluate an adapter on tasks and write a result (resumable)")
    p.add_argument("--adapter", required=True, help="short name, package.module:Class or path/to/file.py:Class")
    p.add_argument("--adapter-config", type=_json_arg, default={}, help="JSON object of constructor arguments")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--suite", default="smoke", help="suite name or file (default: smoke)")
    which.add_argument("--tasks", help="comma-separated task names or files")
    p.add_argument("--split", choices=("train", "dev", "test"), help="default: the suite's, else dev")
    p.add_argument("--limit", type=int, help="first N episodes per task")
    p.add_argument("--resolution", type=int, help="override the tasks' resolution (pixels)")
    p.add_argument("--out", type=Path, required=True, help="result directory (rerun to resume)")
    p.add_argument("--accelerator", default="auto", help="Lightning accelerator: auto, cpu, gpu, ...")
    p.add_argument("--devices", type=_devices, default="auto", help="Lightning devices: auto, N, ...")
    p.add_argument("--strategy", default="auto", help="Lightning strategy: auto, ddp, ...")
    p.add_argument("--num-nodes", type=int, default=1)
    p.add_argument("--precision", default=None, help="Lightning precision, e.g. 32-true, bf16-mixed")
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--num-workers", type=int, default=0, help="data loader worker processes")
    p.add_argument("--on-error", choices=("stop", "skip"), default="stop",
                   help="on an adapter failure: stop the run, or record it and skip the episode")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    _add_cache_options(p)

    p = command("leaderboard", cmd_leaderboard, "build leaderboard tables (Markdown, CSV) from results")
    p.add_argument("results", type=Path, nargs="+", help="result.json files or directories holding them")
    p.add_argument("--out", type=Path, default=Path("leaderboard"), help="output directory")

    p = command("compare", cmd_compare, "compare two results metric by metric")
    p.add_argument("base", type=Path)
    p.add_argument("new", type=Path)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--fail-on-regression", type=float, metavar="FRACTION",
                   help="exit 1 if a metric got worse by more than this relative amount (e.g. 0.02)")

    p = command("selftest", cmd_selftest,
                "inject physics violations into true futures and show which metrics detect each "
                "(exit 1 if a metric misses a violation it claims to catch)")
    p.add_argument("--task", default="drop_single", help="task name or file (default: drop_single)")
    p.add_argument("--episodes", type=int, default=3, help="episodes to test (default: 3)")
    p.add_argument("--split", default="dev", choices=("train", "dev", "test"))
    p.add_argument("--violations", help="comma-separated violations (default: all)")
    p.add_argument("--metrics", help="comma-separated metrics (default: every registered metric)")
    p.add_argument("--json", action="store_true", help="print JSON (table and per-episode scores)")
    _add_cache_options(p)

    p = command("demo", cmd_demo, "the main job: evaluate the built-in baselines on a suite, build the leaderboard")
    p.add_argument("--suite", default="smoke")
    p.add_argument("--out", type=Path, default=Path("wmbench-out"))
    _add_cache_options(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except WmbenchError as exc:
        print(f"wmbench: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("wmbench: interrupted; rerun the same command to resume", file=sys.stderr)
        return 130
