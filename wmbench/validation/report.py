"""The validation report: the sensitivity matrix and the properties as text, JSON and a heatmap."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from wmbench.errors import OutputError
from wmbench.files import write_json
from wmbench.validation.sensitivity import AREAS, Property

#: Area columns of the matrix, in order.
AREA_COLUMNS = (*AREAS, "fidelity")
REPORT_FILE, HEATMAP_FILE = "validate.json", "sensitivity.png"


def area_table(matrix: dict[str, Any]) -> pd.DataFrame:
    """Corruptions by areas: the mean index over the tasks each applies to."""
    rows = {
        name: {"kind": entry["kind"], "tasks": len(entry["tasks"]), **{a: entry["areas"].get(a) for a in AREA_COLUMNS}}
        for name, entry in matrix.items()
    }
    return pd.DataFrame.from_dict(rows, orient="index")


def metric_table(matrix: dict[str, Any]) -> pd.DataFrame:
    """Corruptions by metrics: the mean normalised score over the tasks each applies to."""
    return pd.DataFrame.from_dict({name: entry["metrics"] for name, entry in matrix.items()}, orient="index")


def properties_text(properties: list[Property]) -> str:
    lines = []
    for prop in properties:
        failed = sum(not c.passed for c in prop.checks)
        verdict = "PASS" if prop.passed else f"FAIL ({failed} of {len(prop.checks)})"
        lines.append(f"{verdict}  {prop.name}: {prop.promise}")
        lines += [f"    {'ok  ' if c.passed else 'FAIL'} {c.task}: {c.detail}" for c in prop.checks]
    return "\n".join(lines)


def report_data(selection: dict[str, Any], matrix: dict[str, Any], properties: list[Property]) -> dict[str, Any]:
    return {
        "selection": selection,
        "matrix": matrix,
        "properties": [
            {
                "name": p.name,
                "promise": p.promise,
                "passed": p.passed,
                "checks": [
                    {"task": c.task, "subject": c.subject, "passed": c.passed, "detail": c.detail} for c in p.checks
                ],
            }
            for p in properties
        ],
        "passed": all(p.passed for p in properties),
    }


def write_report(out: Path, data: dict[str, Any]) -> list[Path]:
    """``validate.json`` and ``sensitivity.png`` in ``out``; returns their paths."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot write {out}: {exc.strerror or exc}") from exc
    write_json(out / REPORT_FILE, data)
    heatmap(data["matrix"], out / HEATMAP_FILE)
    return [out / REPORT_FILE, out / HEATMAP_FILE]


def heatmap(matrix: dict[str, Any], path: Path) -> None:
    """Corruptions (rows, grouped by kind) by areas and metrics (columns), coloured from 0 to 100."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    areas, metrics = area_table(matrix), metric_table(matrix)
    values = pd.concat([areas[list(AREA_COLUMNS)], metrics], axis=1).astype(float)
    labels = [f"{name} ({kind})" for name, kind in zip(areas.index, areas["kind"])]
    fig, ax = pyplot.subplots(figsize=(0.42 * values.shape[1] + 3.5, 0.3 * values.shape[0] + 2.2))
    shown = np.ma.masked_invalid(values.to_numpy())
    image = ax.imshow(shown, cmap="viridis", vmin=0, vmax=100, aspect="auto")
    ax.set_xticks(
        range(values.shape[1]),
        [f"[{c}]" if c in AREA_COLUMNS else c for c in values.columns],
        rotation=70,
        ha="right",
        fontsize=7,
    )
    ax.set_yticks(range(values.shape[0]), labels, fontsize=7)
    for (i, j), value in np.ndenumerate(values.to_numpy()):
        if np.isfinite(value):
            ax.text(
                j, i, f"{value:.0f}", ha="center", va="center", fontsize=5.5, color="black" if value > 60 else "white"
            )
    ax.axvline(len(AREA_COLUMNS) - 0.5, color="white", linewidth=2)
    fig.colorbar(image, ax=ax, fraction=0.02, label="normalised score (0 frozen world, 100 physical variance)")
    ax.set_title("wmbench validate: corrupted true futures scored as predictions", fontsize=9)
    fig.tight_layout()
    try:
        fig.savefig(path, dpi=130, metadata={"Software": None})
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc
    finally:
        pyplot.close(fig)
