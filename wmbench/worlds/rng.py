"""Seeded random numbers that are the same on every machine and with every library version.

NumPy keeps its bit generators stable but not the methods that turn bits into
distributions (``normal``, ``exponential``, ``dirichlet`` may change between releases,
and they call the platform's ``exp``/``log``). Episodes therefore draw from
:class:`Rng`: 64-bit words from BLAKE2b in counter mode, keyed by the stream's path of
integers (for example ``(seed, 1)`` for building a world), turned into distributions by
the formulas written below, with :mod:`wmbench.worlds.exactmath` for the functions.
"""

from __future__ import annotations

import hashlib
import math
from typing import Sequence, TypeVar

import numpy as np

from wmbench.worlds import exactmath

T = TypeVar("T")

_WORDS_PER_BLOCK = 8  # one 64-byte BLAKE2b digest
_UNIT = 2.0**-53


class Rng:
    """An independent random stream named by ``key`` (non-negative integers).

    Streams with different keys are unrelated; the same key gives the same numbers,
    in any process, on any machine.
    """

    def __init__(self, *key: int):
        if not key or any(not isinstance(k, (int, np.integer)) or k < 0 for k in key):
            raise ValueError(f"a random stream is keyed by non-negative integers, got {key!r}")
        self.key = tuple(int(k) for k in key)
        self._prefix = ("wmbench-rng/" + "/".join(map(str, self.key)) + "#").encode()
        self._block = 0
        self._words: list[int] = []

    def bits(self) -> int:
        """The next uniformly random 64-bit unsigned integer."""
        if not self._words:
            digest = hashlib.blake2b(self._prefix + str(self._block).encode(), digest_size=64).digest()
            self._words = [int.from_bytes(digest[i : i + 8], "little") for i in range(56, -1, -8)]
            self._block += 1
        return self._words.pop()

    def random(self) -> float:
        """Uniform on ``[0, 1)``, a multiple of 2^-53."""
        return (self.bits() >> 11) * _UNIT

    def uniform(self, lo: float, hi: float, size: int | None = None) -> float | np.ndarray:
        """Uniform on ``[lo, hi)``: ``lo + (hi - lo) * u``; an array of ``size`` draws if given."""
        if size is None:
            return lo + (hi - lo) * self.random()
        return np.array([lo + (hi - lo) * self.random() for _ in range(size)], np.float64)

    def integers(self, lo: int, hi: int | None = None) -> int:
        """Uniform on ``lo .. hi - 1`` (``0 .. lo - 1`` when ``hi`` is omitted), without bias."""
        if hi is None:
            lo, hi = 0, lo
        n = hi - lo
        if n < 1:
            raise ValueError(f"empty range [{lo}, {hi})")
        limit = (1 << 64) - (1 << 64) % n  # reject the incomplete last block of n values
        while True:
            word = self.bits()
            if word < limit:
                return lo + word % n

    def choice(self, options: Sequence[T]) -> T:
        """One of ``options``, equally likely."""
        return options[self.integers(len(options))]

    def permutation(self, n: int) -> np.ndarray:
        """A uniformly random order of ``0 .. n - 1`` (Fisher-Yates)."""
        order = list(range(n))
        for i in range(n - 1, 0, -1):
            j = self.integers(i + 1)
            order[i], order[j] = order[j], order[i]
        return np.array(order, np.int64)

    def normal(self, mean: float = 0.0, std: float = 1.0, size: int | None = None) -> float | np.ndarray:
        """Gaussian draws by the Box-Muller transform, one pair of uniforms per draw:
        ``mean + std * sqrt(-2 log(1 - u)) * cos(2 pi v)``."""
        if size is not None:
            return np.array([self.normal(mean, std) for _ in range(size)], np.float64)
        radius = math.sqrt(-2.0 * float(exactmath.log(1.0 - self.random())))
        return mean + std * (radius * float(exactmath.cos(2.0 * exactmath.PI * self.random())))

    def exponential(self, scale: float = 1.0) -> float:
        """Exponential with mean ``scale``: ``-scale log(1 - u)``."""
        return -scale * float(exactmath.log(1.0 - self.random()))

    def dirichlet(self, k: int) -> np.ndarray:
        """A flat Dirichlet draw on ``k`` parts (uniform on the simplex): normalised
        standard exponentials, summed left to right."""
        parts = [self.exponential() for _ in range(k)]
        total = 0.0
        for p in parts:
            total += p
        return np.array([p / total for p in parts], np.float64)
