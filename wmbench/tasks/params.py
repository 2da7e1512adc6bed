"""Parameter ranges of a task file and how they are sampled.

In YAML a parameter is written as one of:

* a scalar (``0.8``, ``true``, ``"box"``): fixed;
* a two-element list ``[lo, hi]``: uniform on ``[lo, hi]``, integers inclusive when
  both ends are integers;
* a mapping ``{choice: [a, b, c]}``: one of the options, equally likely.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from wmbench.errors import TaskFileError


class RandomSource(Protocol):
    """What sampling needs of a random stream (:class:`wmbench.worlds.rng.Rng` provides it)."""

    def uniform(self, lo: float, hi: float) -> float: ...

    def integers(self, lo: int, hi: int | None = None) -> int: ...


Scalar = int | float | bool | str


@dataclass(frozen=True)
class Fixed:
    value: Scalar

    def sample(self, rng: RandomSource) -> Scalar:
        return self.value

    @property
    def bounds(self) -> tuple[Any, Any]:
        return self.value, self.value


@dataclass(frozen=True)
class Uniform:
    lo: float
    hi: float

    def sample(self, rng: RandomSource) -> float:
        return float(rng.uniform(self.lo, self.hi))

    @property
    def bounds(self) -> tuple[float, float]:
        return self.lo, self.hi


@dataclass(frozen=True)
class IntRange:
    lo: int
    hi: int

    def sample(self, rng: RandomSource) -> int:
        return int(rng.integers(self.lo, self.hi + 1))

    @property
    def bounds(self) -> tuple[int, int]:
        return self.lo, self.hi


@dataclass(frozen=True)
class Choice:
    options: tuple[Scalar, ...]

    def sample(self, rng: RandomSource) -> Scalar:
        return self.options[int(rng.integers(len(self.options)))]

    @property
    def bounds(self) -> tuple[Any, Any]:
        return self.options[0], self.options[-1]


ParamRange = Fixed | Uniform | IntRange | Choice


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def parse_param(value: Any, source: Path | None, field: str) -> ParamRange:
    """Parse one YAML parameter; errors name ``source`` and ``field``."""
    if isinstance(value, (bool, str)) or _is_number(value):
        if _is_number(value) and not np.isfinite(value):
            raise TaskFileError(source, field, f"value {value!r} is not finite")
        return Fixed(value)
    if isinstance(value, list):
        if len(value) != 2 or not all(_is_number(v) for v in value):
            raise TaskFileError(source, field, f"a range must be [lo, hi] of two numbers, got {value!r}")
        lo, hi = value
        if not (np.isfinite(lo) and np.isfinite(hi)):
            raise TaskFileError(source, field, f"range {value!r} is not finite")
        if lo > hi:
            raise TaskFileError(source, field, f"range is inverted: lo={lo} > hi={hi}")
        if isinstance(lo, int) and isinstance(hi, int):
            return IntRange(lo, hi)
        if lo == hi:
            raise TaskFileError(source, field, f"range [{lo}, {hi}] is empty; write a single value to fix it")
        return Uniform(float(lo), float(hi))
    if isinstance(value, dict) and set(value) == {"choice"}:
        options = value["choice"]
        if not isinstance(options, list) or not options:
            raise TaskFileError(source, field, "'choice' needs a non-empty list of options")
        return Choice(tuple(options))
    raise TaskFileError(source, field, f"expected a value, [lo, hi] or {{choice: [...]}}, got {value!r}")
