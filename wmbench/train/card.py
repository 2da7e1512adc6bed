"""Model cards and training curves of trained video predictors.

A model card (``<checkpoint>.md`` beside the checkpoint) says what the network is,
what it was trained on, for how many steps, on what hardware and how long, its
validation error, its dev scores when results of it are given, and its licence; all of
it read from the checkpoint's training record and the results. The curves picture
(matplotlib) draws each checkpoint's training and
validation error against the steps, with a frozen world's error on the same windows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from wmbench.adapters.learned import read_checkpoint
from wmbench.errors import OutputError
from wmbench.media import pyplot, save_figure
from wmbench.results.io import Result

LICENCE = (
    "Apache-2.0, like wmbench: the weights were trained only on episodes wmbench generates, "
    "and may be used, changed and shared under the same terms."
)


def _hardware(record: dict[str, Any]) -> str:
    hw = record["environment"]["hardware"]
    gpus = ", ".join(hw.get("gpus") or []) or "no GPU"
    return (
        f"{record['accelerator'].removesuffix('Accelerator')} x{record['devices']} "
        f"({record['strategy'].removesuffix('Strategy')}); {hw.get('processor') or hw.get('machine')}, "
        f"{hw.get('cpu_count')} cores, {hw.get('memory_gib')} GiB; {gpus}"
    )


def _scores(results: list[Result]) -> list[str]:
    lines = []
    for result in results:
        run, head = result.record["run"], result.record["headline"]
        where = f"result `{result.path.parent.name}`" if result.path else "a result"
        limit = f", the first {run['limit']} of each task" if run.get("limit") else ""
        suite = f"{run['suite']}@{run.get('suite_version', 1)} suite" if run.get("suite") else ", ".join(run["tasks"])
        lines.append(
            f"\n{suite}, {run['split']} split "
            f"({sum(e['episodes'] for e in result.record['aggregates'].values())} episodes{limit}; {where}); "
            "indices: 0 = a frozen world, 100 = the physical variance, 95% bootstrap intervals.\n"
        )
        lines.append("| index | score |\n|---|---|")
        for group in ("areas", "families"):
            for name, entry in head.get(group, {}).items():
                ci = entry.get("ci")
                shown = (
                    "missing"
                    if entry["score"] is None
                    else (f"{entry['score']:.1f}" + (f" [{ci[0]:.1f}, {ci[1]:.1f}]" if ci else ""))
                )
                lines.append(f"| {group[:-1] if group == 'areas' else 'family'}: {name} | {shown} |")
    return lines or ["\nNo results given (`wmbench card CHECKPOINT --results DIR`)."]


def card_text(path: Path, saved: dict[str, Any], results: Sequence[Result] = ()) -> str:
    """The model card of checkpoint ``path`` holding ``saved``, with the dev scores of ``results``."""
    t = saved["training"]
    size = path.stat().st_size if path.exists() else 0
    digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else "?"
    params = sum(v.numel() for v in saved["state_dict"].values())
    hours, rest = divmod(int(round(t["seconds"])), 3600)
    episodes = sum(t["train_episodes"].values())
    copy = f"{t['val_mse_copy_last']:.5f}" if t["val_mse_copy_last"] is not None else "missing"
    best = f"{t['best_val_mse']:.5f}" if t["best_val_mse"] is not None else "missing"
    lines = [
        f"# {saved['model']}: model card",
        "",
        f"`{path.name}`: {params:,} parameters, {size / 1e6:.1f} MB, sha256 `{digest[:16]}`.",
        f"Evaluate it with `wmbench run --adapter {saved['model']}` (this checkpoint is its default) or "
        f'`--adapter-config \'{{"checkpoint": "{path.name}"}}\'` for another file.',
        "",
        "## Model",
        "",
        f"- network: `{saved['model']}`, preset `{t['preset']}`, configuration `{saved['config']}`",
        f"- input: the last {saved['context']} context frames at {saved['resolution']}x{saved['resolution']} pixels"
        + (f", and {saved['action_dim']} action values per step" if saved["action_dim"] else ", no actions"),
        "",
        "## Data",
        "",
        f"- suite `{t['suite']}`, tasks: {', '.join(t['tasks'])}",
        f"- train split: {episodes} episodes ({', '.join(f'{k}: {v}' for k, v in t['train_episodes'].items())}); "
        f"{t['windows']['per_episode']} random windows of {t['windows']['context']} + {t['windows']['horizon']} "
        "frames per episode and epoch",
        f"- validation (early stopping, best checkpoint): the first {t['windows']['horizon']} future frames of "
        f"{sum(t['val_episodes'].values())} dev episodes",
        "",
        "## Training",
        "",
        f"- {t['steps']} steps ({t['epochs']} epochs) in {hours} h {rest // 60} min {rest % 60} s; stopped by "
        f"{t['stopped']}",
        f"- batch {t['batch_size']}, AdamW at {t['lr']:g} (warm-up, then cosine or constant), scheduled sampling "
        f"over {t['sampling_steps']} steps, seed {t['seed']}, precision {t['precision']}",
        f"- hardware: {_hardware(t)}",
        f"- software: wmbench {t['wmbench']['version']} ({t['wmbench']['git_revision'] or 'installed'}), "
        f"Python {t['environment']['python']}, "
        + ", ".join(
            f"{k} {v}" for k, v in t["environment"]["libraries"].items() if k in ("torch", "pytorch-lightning")
        ),
        f"- trained {t['created']}",
        "",
        "## Validation",
        "",
        f"Best mean squared error on the validation windows: {best} (a frozen world: {copy}).",
        "",
        "## Dev scores",
        *_scores(list(results)),
        "",
        "## Licence",
        "",
        LICENCE,
        "",
    ]
    return "\n".join(lines)


def write_card(path: Path, saved: dict[str, Any] | None = None, results: Sequence[Result] = ()) -> Path:
    """Write checkpoint ``path``'s model card beside it (``.md``); returns the card's path."""
    saved = saved if saved is not None else read_checkpoint(path)
    card = path.with_suffix(".md")
    try:
        card.write_text(card_text(path, saved, results), encoding="utf-8")
    except OSError as exc:
        raise OutputError(f"model card {card} cannot be written: {exc.strerror or exc}") from exc
    return card


def plot_curves(checkpoints: list[Path], out: Path) -> Path:
    """One panel per checkpoint: training and validation MSE against steps, and a frozen world's."""
    columns = min(3, len(checkpoints))
    rows = -(-len(checkpoints) // columns)
    figure, axes = pyplot().subplots(rows, columns, figsize=(4.2 * columns, 3.2 * rows), squeeze=False)
    for ax, path in zip(axes.flat, checkpoints):
        saved = read_checkpoint(path)
        curves, t = saved["training"]["curves"], saved["training"]
        if curves["train"]:
            steps, mse = zip(*curves["train"])
            ax.plot(steps, mse, color="#9ab", lw=1, label="train")
        if curves["val"]:
            steps, val, copy = zip(*curves["val"])
            ax.plot(steps, val, "o-", color="#c33", ms=3, lw=1.5, label="dev")
            ax.plot(steps, copy, "--", color="#555", lw=1, label="dev, frozen world")
        ax.set_yscale("log")
        ax.set_title(f"{saved['model']} ({t['steps']} steps, {t['seconds'] / 60:.0f} min)", fontsize=10)
        ax.set_xlabel("step")
        ax.set_ylabel("MSE")
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(checkpoints) :]:
        ax.axis("off")
    figure.tight_layout()
    return save_figure(figure, out, dpi=110)
