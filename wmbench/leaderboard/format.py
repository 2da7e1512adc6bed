"""How numbers read on the leaderboard: never "None", "nan" or "True"."""

from __future__ import annotations

import math

from wmbench.leaderboard.entries import Index

MISSING = "–"


def number(value: float | None, digits: int = 3) -> str:
    """``digits`` significant digits, thousands separated; ``–`` when missing."""
    if value is None or not math.isfinite(value):
        return MISSING
    if value == 0:
        return "0"
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(value))))
    return f"{round(value, decimals):,.{decimals}f}"


def score(value: float | None) -> str:
    """An index on the 0-100 scale, one decimal."""
    return MISSING if value is None else f"{value:.1f}"


def interval(index: Index | None) -> str:
    return f"[{index.ci[0]:.1f}, {index.ci[1]:.1f}]" if index is not None and index.ci else ""


def score_text(index: Index | None) -> str:
    """``38.1 [35.9, 40.2]``, with ``(partial)`` when parts are missing; ``–`` when missing."""
    if index is None or index.score is None:
        return MISSING
    text = f"{score(index.score)} {interval(index)}".strip()
    return f"{text} (partial)" if index.partial else text


def group_title(key: tuple[str, int, str] | None) -> str:
    if key is None:
        return "Results outside a versioned suite"
    suite, version, split = key
    return f"Suite {suite} v{version}, {split} split"
