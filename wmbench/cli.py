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


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


def _add_render_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--resolution", type=int, help="override the task's resolution (pixels, e.g. 64, 128, 256)")
    p.add_argument("--fps", type=float, help="override the task's frame rate (frames per second)")


def _add_workers_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--workers", type=_positive, metavar="N", help="worker processes (default: every available core)")


def _add_selection_options(p: argparse.ArgumentParser, out_help: str) -> None:
    """Which episodes (a suite or tasks, split, limit, resolution) and where the output goes."""
    which = p.add_mutually_exclusive_group()
    which.add_argument("--suite", default="smoke", help="suite name or file (default: smoke)")
    which.add_argument("--tasks", help="comma-separated task names or files")
    p.add_argument("--split", choices=("train", "dev", "test"), help="default: the suite's, else dev")
    p.add_argument("--limit", type=int, help="first N episodes per task")
    p.add_argument("--resolution", type=int, help="override the tasks' resolution (pixels)")
    p.add_argument("--out", type=Path, required=True, help=out_help)


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
    from wmbench.metrics.base import check_metric_names
    from wmbench.tasks import get_task
    from wmbench.worlds import check_task

    task = get_task(args.task)
    check_task(task)
    check_metric_names(task.metrics, task.source)
    print(f"# {task.source}\n" + Path(task.source).read_text() if task.source else task)
    return 0


def cmd_suites_list(args: argparse.Namespace) -> int:
    from wmbench.tasks import builtin_suites, get_suite

    for name in builtin_suites():
        suite = get_suite(name)
        print(f"{suite.name}: split={suite.split} episodes={suite.episodes or 'all'} tasks={', '.join(suite.tasks)}")
    return 0


# -- generate, pictures, bench -------------------------------------------------------------

def _generation_jobs(args: argparse.Namespace, tasks: tuple[str, ...], split: str, limit: int | None) -> list:
    from wmbench.tasks import get_task, split_seeds
    from wmbench.worlds.parallel import Job

    jobs = []
    for name in tasks:
        task = get_task(name).with_overrides(resolution=args.resolution, fps=getattr(args, "fps", None))
        jobs += [Job(task, split, seed) for seed in split_seeds(task, split, limit, args.test_secret)]
    return jobs


def _workers(args: argparse.Namespace) -> int:
    from wmbench.workers import available_cores

    return args.workers if args.workers is not None else available_cores()


def cmd_generate(args: argparse.Namespace) -> int:
    from wmbench.tasks import get_suite
    from wmbench.worlds.parallel import generate_all

    if args.suite:
        suite = get_suite(args.suite)
        tasks, split, limit = suite.tasks, args.split or suite.split, args.limit or suite.episodes
    elif args.task:
        tasks, split, limit = (args.task,), args.split or "dev", args.limit
    else:
        raise WmbenchError("generate: name a TASK or a --suite")
    cache = _cache(args)
    jobs = _generation_jobs(args, tasks, split, limit)
    if not jobs:
        raise WmbenchError(f"no {split} episodes to generate for {', '.join(tasks)}")
    progress = not args.no_progress and sys.stderr.isatty()
    done = generate_all(jobs, cache, _workers(args), progress=progress)
    if args.references:
        from wmbench.run.prepare import measure_references

        measure_references(jobs, cache, _workers(args), progress=progress)
    entries: dict[str, dict[str, Any]] = {}
    for job, result in zip(jobs, done):
        entry = entries.setdefault(job.task.id, {"task": job.task.id, "split": split, "resolution":
                                                 job.task.resolution, "fps": job.task.fps,
                                                 "cache": str(cache.root), "episodes": {}})
        entry["episodes"][str(result.seed)] = result.content_hash
    report = {"suite": args.suite, "tasks": list(entries.values())} if args.suite else entries[jobs[0].task.id]
    print(json.dumps(report, indent=2))
    return 0


def cmd_pictures(args: argparse.Namespace) -> int:
    from wmbench.tasks import builtin_tasks, get_task
    from wmbench.worlds.pictures import check_picture_path, save_picture

    if args.all:
        targets = [(name, args.out_dir / f"{name}.png") for name in builtin_tasks()]
    elif args.task:
        targets = [(args.task, check_picture_path(args.out or f"{get_task(args.task).name}.png"))]
    else:
        raise WmbenchError("pictures: name a TASK or pass --all")
    cache = _cache(args)
    for name, out in targets:
        jobs = _generation_jobs(args, (name,), args.split, args.episodes)
        if not jobs:
            raise WmbenchError(f"task '{name}' has no {args.split} episodes to draw")
        episodes = [cache.get(job.task, job.split, job.seed) for job in jobs]
        print(save_picture(episodes, out, args.every, args.tracks, args.occluders))
    return 0


def cmd_bench_generate(args: argparse.Namespace) -> int:
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
        columns = {"task": "task", "episodes_per_s_per_core": "episodes/s", "truth_frames_per_s_per_core":
                   "truth frames/s", "ensemble_frames_per_s_per_core": "ensemble frames/s",
                   "all_frames_per_s_per_core": "all frames/s", "cache_bytes_per_episode": "cache bytes/episode",
                   "cache_write_ms_per_episode": "cache write ms/episode",
                   "cache_read_ms_per_episode": "cache read ms/episode"}
        table = pd.DataFrame(rows)[list(columns)].rename(columns=columns)
        print(f"per core (CPU time of one process), {args.resolution} px, {args.episodes} episodes per task")
        print(table.to_markdown(index=False, floatfmt=".4g"))
    return 0


# -- run -----------------------------------------------------------------------------------

def _task_names(args: argparse.Namespace) -> tuple[tuple[str, ...], str | None, str, int | None]:
    from wmbench.tasks import get_suite

    if args.tasks:
        return tuple(t for t in args.tasks.split(",") if t), None, args.split or "dev", args.limit
    suite = get_suite(args.suite)
    return suite.tasks, suite.name, args.split or suite.split, args.limit or suite.episodes


def _release_run(args: argparse.Namespace):
    """The release ``--data`` names and the run spec's fields that come from it."""
    from wmbench.worlds.release import Release

    if args.tasks or args.resolution or args.split or args.prefetch_workers:
        raise WmbenchError("--data evaluates a release as it is: --tasks, --split, --resolution and "
                           "--prefetch-workers cannot be combined with it")
    release = Release(args.data)
    suite = release.manifest["suite"] or {}
    fields = {"tasks": tuple(t.name for t in release.tasks), "split": release.split, "limit": args.limit,
              "suite": suite.get("name"), "suite_version": suite.get("version"), "data": release.manifest["release"]}
    return release, fields


def cmd_run(args: argparse.Namespace) -> int:
    from wmbench.run import RunSpec, evaluate
    from wmbench.tasks import get_suite

    if args.data:
        release, chosen = _release_run(args)
        spec = RunSpec(adapter=args.adapter, adapter_config=args.adapter_config, **chosen)
        result = evaluate(spec, args.out, _cache(args), _execution(args), release=release)
        if result is not None:
            _print_summary(result, args.out)
        return 0
    tasks, suite, split, limit = _task_names(args)
    if args.prefetch_workers:
        from wmbench.worlds.parallel import generate_all

        if args.no_cache:
            raise WmbenchError("--prefetch-workers fills the episode cache; it cannot be used with --no-cache")
        generate_all(_generation_jobs(args, tasks, split, limit), _cache(args), args.prefetch_workers,
                     progress=not args.no_progress and sys.stderr.isatty(), desc="prefetch")
    spec = RunSpec(adapter=args.adapter, tasks=tasks, split=split, limit=limit,
                   adapter_config=args.adapter_config, suite=suite, resolution=args.resolution,
                   suite_version=get_suite(suite).version if suite else None)
    result = evaluate(spec, args.out, _cache(args), _execution(args), args.test_secret)
    if result is not None:
        _print_summary(result, args.out)
    return 0


def _execution(args: argparse.Namespace):
    from wmbench.run import Execution

    return Execution(accelerator=args.accelerator, devices=args.devices, strategy=args.strategy,
                     num_nodes=args.num_nodes, precision=args.precision, batch_size=args.batch_size,
                     num_workers=args.num_workers, on_error=args.on_error, progress=not args.no_progress,
                     logger=args.logger)


def _print_summary(result: dict[str, Any], out: Path) -> None:
    """One table row per task: episodes, failures, the normalised index of each area
    (0 = frozen world, 100 = physical variance), throughput and latency."""
    import pandas as pd

    rows = []
    for task, entry in result["aggregates"].items():
        speed = result.get("speed", {}).get(task, {})
        row = {"task": task, "episodes": entry["episodes"], "failed": entry["failed"]}
        row.update(result["headline"]["task_areas"].get(task, {}))
        if speed.get("measured"):
            row.update({"frames/s": speed["throughput_frames_per_s"], "step p50 ms": speed["step_latency_ms"]["p50"]})
        rows.append(row)
    print(f"\n{result['adapter']['name']} on {result['run']['split']} (area indices: 0 = frozen world, "
          f"100 = physical variance; raw scores in {out / 'result.json'})")
    table = pd.DataFrame(rows)
    print(table.astype(object).where(table.notna(), None).to_markdown(index=False, floatfmt=".4g", missingval="–"))
    failed = sum(r["failed"] for r in rows)
    if failed:
        print(f"{failed} failed (errors and tracebacks: {out / 'episodes.jsonl'})")


# -- data: releases ---------------------------------------------------------------------------

def cmd_data_release(args: argparse.Namespace) -> int:
    from wmbench.tasks import get_suite, get_task
    from wmbench.worlds.release import Selection, published_manifest, write_release

    if args.tasks:
        names, suite, split = tuple(t for t in args.tasks.split(",") if t), None, args.split or "dev"
    else:
        found = get_suite(args.suite)
        names, split = found.tasks, args.split or found.split
        suite = {"name": found.name, "version": found.version, "description": " ".join(found.description.split())}
    limit = args.limit or (None if args.tasks else get_suite(args.suite).episodes)
    selection = Selection(tuple(get_task(n) for n in names), split, limit, suite)
    manifest = write_release(selection, args.out, _cache(args), args.test_secret, _workers(args),
                             progress=not args.no_progress and sys.stderr.isatty())
    episodes = sum(len(t["episodes"]) for t in manifest["tasks"])
    print(f"release {manifest['release']}: {episodes} episodes of {len(manifest['tasks'])} tasks in {args.out}")
    published = published_manifest(suite["name"], suite["version"], split) if suite else None
    if published is not None and not manifest["inputs_only"]:
        return _compare_with_published(manifest, published)
    return 0


def _compare_with_published(manifest: dict[str, Any], published: Path) -> int:
    from wmbench.worlds.release import load_manifest, published_hashes

    official = load_manifest(published)
    if official["content_sha256"] == manifest["content_sha256"]:
        print(f"identical to the published release {official['release']} ({published})")
        return 0
    ours = published_hashes(manifest)
    differ = [f"{task} seed {seed}" for (task, seed), expected in published_hashes(official).items()
              if ours.get((task, seed)) != expected]
    print(f"wmbench: error: this release differs from the published {official['release']} ({published}) in "
          f"{len(differ)} episodes ({', '.join(differ[:3])}{', ...' if len(differ) > 3 else ''}): this machine does "
          "not reproduce it; publish nothing from here (see docs/generation.md)", file=sys.stderr)
    return 1


def cmd_data_verify(args: argparse.Namespace) -> int:
    from wmbench.tasks import get_suite
    from wmbench.worlds.release import load_manifest, published_manifest, verify_release

    path = args.release
    if not path.exists():
        suite = get_suite(str(path))
        path = published_manifest(suite.name, suite.version, args.split or suite.split)
        if path is None:
            raise WmbenchError(f"suite {suite.id} has no published release of its {args.split or suite.split} split")
    manifest = load_manifest(path)
    checks = verify_release(manifest, path, _workers(args), progress=not args.no_progress and sys.stderr.isatty())
    if args.json:
        print(json.dumps({"release": manifest["release"], "reproduced": all(c.ok for c in checks),
                          "tasks": [dict(vars(c), mismatches=list(c.mismatches)) for c in checks]}, indent=2))
    else:
        print(f"release {manifest['release']} on this machine:")
        for c in checks:
            first = c.mismatches[0] if c.mismatches else None
            detail = (f"; first: seed {first['seed']}, released {first['released'][:12]}, "
                      f"regenerated {first['regenerated'][:12]}") if first else ""
            print(f"  {c.task}: {c.reproduced}/{c.episodes} reproduced{detail}")
    return 0 if all(c.ok for c in checks) else 1


# -- offline: export, score -----------------------------------------------------------------

def cmd_export(args: argparse.Namespace) -> int:
    from wmbench.run.offline import MANIFEST_FILE, Selection, export_split

    tasks, suite, split, limit = _task_names(args)
    selection = Selection(tasks=tasks, split=split, limit=limit, suite=suite, resolution=args.resolution)
    manifest = export_split(selection, args.out, _cache(args), args.test_secret, progress=not args.no_progress)
    for task in manifest["tasks"]:
        print(f"{task['name']}@{task['version']}: {task['episodes']} episodes, predict {task['horizon']} frames "
              f"of {task['resolution']}x{task['resolution']} at {task['fps']:g} fps")
    print(f"manifest: {args.out / MANIFEST_FILE}")
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    from wmbench.run.offline import score_predictions

    result = score_predictions(args.manifest, args.predictions, args.out, _cache(args), args.adapter_name,
                               args.test_secret, args.batch_size, args.device, progress=not args.no_progress)
    _print_summary(result, args.out)
    return 0


# -- leaderboard, compare, demo -------------------------------------------------------------

def cmd_leaderboard(args: argparse.Namespace) -> int:
    from wmbench.leaderboard import find_results, write_leaderboard

    results = find_results(args.results)
    if args.verify:
        from wmbench.results import verify_result
        from wmbench.results.verify import release_for
        from wmbench.worlds.release import load_manifest

        cache = _cache(args)
        given = load_manifest(args.release) if args.release else None
        for result in results:
            release = given or release_for(result)
            against = f"the release {release['release']}" if release else "regenerated episodes"
            print(f"verified {verify_result(result, cache, release)} episodes of {result.path} against {against}")
    paths = write_leaderboard(results, args.out)
    print(_headline_markdown(paths["markdown"]))
    print("\n".join(f"{kind}: {path}" for kind, path in paths.items()))
    return 0


def _headline_markdown(path: Path) -> str:
    """The leaderboard page without its (wide) raw-score table."""
    return path.read_text().split("\n## Raw scores")[0]


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
    from wmbench.leaderboard import find_results, write_leaderboard
    from wmbench.run import Execution, RunSpec, evaluate
    from wmbench.tasks import get_suite

    suite = get_suite(args.suite)
    results_dir = args.out / "results"
    for adapter in DEMO_ADAPTERS:
        spec = RunSpec(adapter=adapter, tasks=suite.tasks, split=suite.split, limit=suite.episodes, suite=suite.name,
                       suite_version=suite.version)
        result = evaluate(spec, results_dir / f"{suite.name}-{adapter}", _cache(args),
                          Execution(progress=sys.stderr.isatty()), args.test_secret)
        _print_summary(result, results_dir / f"{suite.name}-{adapter}")
    results = find_results([results_dir / f"{suite.name}-{a}" for a in DEMO_ADAPTERS])
    paths = write_leaderboard(results, args.out / "leaderboard")
    print("\n" + _headline_markdown(paths["markdown"]))
    print(f"\nresults: {results_dir}\n" + "\n".join(f"leaderboard ({k}): {p}" for k, p in paths.items()))
    return 0


def cmd_physics_iq(args: argparse.Namespace) -> int:
    import torch

    from wmbench.metrics.physics_iq import score_submission, write_csv

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    summary, per_view = score_submission(args.generated, args.real, args.masks, args.fps, device,
                                         mask_video=not args.no_mask_video, progress=sys.stderr.isatty(),
                                         workers=_workers(args))
    if args.csv:
        write_csv(per_view, args.csv)
    print(json.dumps(summary, indent=2))
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

    p = command("generate", cmd_generate, "generate (and cache) episodes in parallel; prints their hashes")
    which = p.add_mutually_exclusive_group()
    which.add_argument("task", nargs="?", help="task name or path to a task file")
    which.add_argument("--suite", help="every task of a suite (name or file), its split and episode cap")
    p.add_argument("--split", choices=("train", "dev", "test"), help="default: the suite's, else dev")
    p.add_argument("--limit", type=int, help="first N episodes per task")
    _add_render_options(p)
    _add_workers_option(p)
    p.add_argument("--references", action="store_true", help="also measure each episode's reference scores "
                   "(frozen world, physical variance) into the cache, for runs on the CPU")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    _add_cache_options(p)

    p = command("pictures", cmd_pictures, "draw a task's episodes: a strip (.png) or an animation (.gif)")
    p.add_argument("task", nargs="?", help="task name or path to a task file")
    p.add_argument("--out", type=Path, help="FILE.png (strip) or FILE.gif (animation); default: TASK.png")
    p.add_argument("--all", action="store_true", help="a strip of every built-in task into --out-dir")
    p.add_argument("--out-dir", type=Path, default=Path("docs/images"), help="with --all (default: docs/images)")
    p.add_argument("--episodes", type=_positive, default=3, metavar="N", help="episodes drawn, one per row (default: 3)")
    p.add_argument("--split", default="dev", choices=("train", "dev", "test"))
    p.add_argument("--tracks", action="store_true", help="overlay ground-truth tracks where objects are visible")
    p.add_argument("--occluders", action="store_true", help="outline the occluders")
    p.add_argument("--every", type=_positive, metavar="K", help="show every K-th frame (default: at most 12 columns)")
    _add_render_options(p)
    _add_cache_options(p)

    bench = sub.add_parser("bench", help="benchmarks").add_subparsers(dest="action", required=True)
    p = command("generate", cmd_bench_generate,
                "episodes and frames generated per second per core, and cache size per episode", bench)
    p.add_argument("tasks", nargs="*", help="task names or files (default: every built-in task)")
    p.add_argument("--episodes", type=_positive, default=4, metavar="N", help="timed episodes per task (default: 4)")
    p.add_argument("--resolution", type=int, default=128, help="frame size in pixels (default: 128)")
    p.add_argument("--fps", type=float, help="override the tasks' frame rate")
    p.add_argument("--json", action="store_true", help="print JSON")

    p = command("run", cmd_run, "evaluate an adapter on tasks and write a result (resumable)")
    p.add_argument("--adapter", required=True, help="short name, package.module:Class or path/to/file.py:Class")
    p.add_argument("--adapter-config", type=_json_arg, default={}, help="JSON object of constructor arguments")
    _add_selection_options(p, out_help="result directory (rerun to resume)")
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
    p.add_argument("--prefetch-workers", type=_positive, metavar="N",
                   help="first generate the run's missing episodes into the cache with N processes")
    p.add_argument("--logger", choices=("csv", "tensorboard", "none"), default="csv",
                   help="Lightning logger for per-task metrics under OUT/logs (tensorboard needs the package)")
    p.add_argument("--data", type=Path, metavar="RELEASE", help="evaluate on a released dataset's exact episodes "
                   "(its tasks, split and episodes; nothing is generated)")
    _add_cache_options(p)

    data = sub.add_parser("data", help="released datasets: write and verify").add_subparsers(dest="action",
                                                                                               required=True)
    p = command("release", cmd_data_release, "write a content-addressed release of a suite's split (the test "
                "split inputs-only, with the secret): Parquet files, manifest and dataset card", data)
    which = p.add_mutually_exclusive_group()
    which.add_argument("--suite", default="smoke", help="suite name or file (default: smoke)")
    which.add_argument("--tasks", help="comma-separated task names or files")
    p.add_argument("--split", choices=("train", "dev", "test"), help="default: the suite's, else dev")
    p.add_argument("--limit", type=_positive, help="first N episodes per task (default: the suite's cap, else all)")
    p.add_argument("--out", type=Path, required=True, help="release directory (must be empty or absent)")
    _add_workers_option(p)
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    _add_cache_options(p)
    p = command("verify", cmd_data_verify, "regenerate a release's episodes on this machine and report, per task, "
                "whether they are reproduced (exit 1 if not)", data)
    p.add_argument("release", type=Path, help="release directory or manifest.json, or a suite name (its "
                   "published release)")
    p.add_argument("--split", choices=("train", "dev", "test"), help="with a suite name: default the suite's")
    _add_workers_option(p)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")

    p = command("export", cmd_export, "write a split's inputs (context video and PNG frames, actions) and a "
                "manifest of the predictions expected, for models that run elsewhere")
    _add_selection_options(p, out_help="export directory (must be empty or absent)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    _add_cache_options(p)

    p = command("score", cmd_score, "check a directory of predictions (videos or PNG frames) against an "
                "export's manifest, score it and write a result")
    p.add_argument("--manifest", type=Path, required=True, help="the export's manifest.json")
    p.add_argument("--predictions", type=Path, required=True, help="directory of <id>.mkv files or <id>/ PNG frames")
    p.add_argument("--out", type=Path, required=True, help="result directory (must be empty or absent)")
    p.add_argument("--adapter-name", help="name of the model in the result (default: the predictions directory's)")
    p.add_argument("--batch-size", type=int, default=4, help="episodes scored at once")
    p.add_argument("--device", default="cpu", help="torch device the metrics run on (cpu, cuda, ...)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    _add_cache_options(p)

    p = command("leaderboard", cmd_leaderboard, "validate results and build the leaderboard (Markdown, CSV, HTML)")
    p.add_argument("results", type=Path, nargs="+", help="result.json files or directories holding them")
    p.add_argument("--out", type=Path, default=Path("leaderboard/site"), help="output directory")
    p.add_argument("--verify", action="store_true",
                   help="check task definitions and episode content hashes against the release of each result's "
                   "suite version (episodes no release lists are regenerated)")
    p.add_argument("--release", type=Path, help="with --verify: the release (directory or manifest.json) to check "
                   "against (default: the published release of each result's suite version and split)")
    _add_cache_options(p)

    p = command("compare", cmd_compare, "compare two results metric by metric")
    p.add_argument("base", type=Path)
    p.add_argument("new", type=Path)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--fail-on-regression", type=float, metavar="FRACTION",
                   help="exit 1 if a metric got worse by more than this relative amount (e.g. 0.02)")

    p = command("physics-iq", cmd_physics_iq, "score a Physics-IQ submission directory as the official scripts "
                "do; prints the per-view metrics and the Physics-IQ score as JSON")
    p.add_argument("generated", type=Path, help="directory of generated videos named ID_*.mp4 (ID of the real take 1)")
    p.add_argument("--real", type=Path, help="directory of the real takes, ID_testing-videos_{fps}FPS_VIEW_take-N_"
                   "SCENARIO.mp4 (default: the generated directory)")
    p.add_argument("--masks", type=Path, help="directory of precomputed real mask videos, ID_video-masks_{fps}FPS_"
                   "VIEW_take-N_SCENARIO.mp4 (default: computed from the real takes)")
    p.add_argument("--fps", type=float, help="frame rate; the first fps*5 frames are scored (default: the "
                   "generated videos' frame rate, as the official scripts read it)")
    p.add_argument("--device", help="torch device for the masks and metrics (default: cuda if available, else cpu)")
    p.add_argument("--no-mask-video", action="store_true", help="use the computed masks as they are instead of "
                   "passing them through an mp4v mask video as the official scripts do (faster; see docs/metrics.md)")
    p.add_argument("--csv", type=Path, help="also write the official per-scenario CSV (per-frame lists) here")
    p.add_argument("--workers", type=_positive, metavar="N", help="processes scoring views in parallel, one core "
                   "each (default: every available core; each takes a few seconds to start)")

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

    from wmbench.train.command import register

    register(command)

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
