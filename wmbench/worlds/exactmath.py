"""Elementary functions that give the same bits on every machine.

NumPy's ``sin``, ``exp``, ``arctan2``... dispatch to SIMD kernels chosen by the CPU
(AVX-512, AVX2, baseline) or to the platform's C library, and these round differently
in the last bit on a few inputs in a thousand; so do the C library's own FMA and non-FMA
code paths. Episodes must not depend on that, so the generator computes every
transcendental function here, from IEEE-754 operations that are correctly rounded on
every conforming machine (``+``, ``-``, ``*``, ``/``, ``sqrt``, ``rint``, ``floor``,
``ldexp``, ``frexp``), each applied as its own NumPy ufunc, so no compiler can fuse two of
them. The results are within a few units in the last place of the exact values
(``tests/test_exactmath.py``), and identical everywhere.

Every function takes a float or an array of floats and returns the same kind.
"""

from __future__ import annotations

import math

import numpy as np

PI = 3.141592653589793
#: pi/2 as the sum of a 33-bit head (so ``k * head`` is exact for |k| < 2^20) and a tail.
_PIO2_HI = 1.57079632673412561417e00
_PIO2_LO = 6.07710050650619224932e-11
#: ln 2 as a head with 32 trailing zero bits and a tail.
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
_INV_LN2 = 1.44269504088896338700e00
_SQRT_HALF = 0.7071067811865476
#: Angles are reduced exactly while |x| / (pi/2) < 2^20 (about 1.6 million radians).
_MAX_REDUCIBLE = 1.6e6

#: Series coefficients (integer division by exact factorials is correctly rounded).
_SIN = tuple((-1) ** k / math.factorial(2 * k + 1) for k in range(1, 10))
_COS = tuple((-1) ** k / math.factorial(2 * k) for k in range(1, 10))
_EXP = tuple(1 / math.factorial(k) for k in range(2, 15))
_ODD = tuple(1 / (2 * k + 1) for k in range(15))

Real = float | np.ndarray


def _out(value: np.ndarray, *inputs: Real) -> Real:
    """``value`` as a float when every input was a scalar, else as an array."""
    return float(value) if all(np.ndim(i) == 0 for i in inputs) else value


def _horner(x: np.ndarray, coefficients: tuple[float, ...]) -> np.ndarray:
    """``c0 + x * (c1 + x * (c2 + ...))``, one rounding per operation."""
    total = np.full_like(x, coefficients[-1])
    for c in coefficients[-2::-1]:
        total = np.add(np.multiply(total, x), c)
    return total


def _reduce(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(r, q)``: ``x = r + k pi/2`` with ``|r| <= pi/4`` and ``q = k mod 4``."""
    if np.any(np.abs(x) > _MAX_REDUCIBLE):
        raise ValueError(f"angle beyond +-{_MAX_REDUCIBLE:g} rad cannot be reduced exactly")
    k = np.rint(np.multiply(x, 2.0 / PI))
    r = np.subtract(np.subtract(x, np.multiply(k, _PIO2_HI)), np.multiply(k, _PIO2_LO))
    return r, np.mod(k.astype(np.int64), 4)


def _sin_cos_reduced(r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Taylor series of sine and cosine on ``|r| <= pi/4`` (terms to r^19 and r^18)."""
    r2 = np.multiply(r, r)
    sin = np.add(r, np.multiply(np.multiply(r, r2), _horner(r2, _SIN)))
    cos = np.add(1.0, np.multiply(r2, _horner(r2, _COS)))
    return sin, cos


def sincos(x: Real) -> tuple[Real, Real]:
    """``(sin x, cos x)``, ``x`` in radians."""
    a = np.asarray(x, np.float64)
    r, q = _reduce(a)
    s, c = _sin_cos_reduced(r)
    sin = np.choose(q, (s, c, -s, -c))
    cos = np.choose(q, (c, -s, -c, s))
    return _out(sin, x), _out(cos, x)


def sin(x: Real) -> Real:
    return sincos(x)[0]


def cos(x: Real) -> Real:
    return sincos(x)[1]


def tan(x: Real) -> Real:
    s, c = sincos(x)
    return _out(np.divide(s, c), x)


def exp(x: Real) -> Real:
    """``e ** x``."""
    a = np.asarray(x, np.float64)
    k = np.rint(np.multiply(a, _INV_LN2))
    r = np.subtract(np.subtract(a, np.multiply(k, _LN2_HI)), np.multiply(k, _LN2_LO))
    series = np.add(1.0, np.multiply(r, np.add(1.0, np.multiply(r, _horner(r, _EXP)))))
    return _out(np.ldexp(series, k.astype(np.int64)), x)


def log(x: Real) -> Real:
    """Natural logarithm of ``x > 0``."""
    a = np.asarray(x, np.float64)
    if np.any(~(a > 0)) or np.any(~np.isfinite(a)):
        raise ValueError("log needs finite positive values")
    m, e = np.frexp(a)  # a = m * 2**e, m in [0.5, 1)
    low = m < _SQRT_HALF
    m = np.where(low, np.multiply(m, 2.0), m)
    e = np.where(low, e - 1, e).astype(np.float64)
    f = np.subtract(m, 1.0)
    s = np.divide(f, np.add(2.0, f))  # log m = 2 atanh(s), |s| < 0.1716
    s2 = np.multiply(s, s)
    odd = _horner(s2, _ODD[:12])
    log_m = np.multiply(2.0, np.multiply(s, odd))
    return _out(np.add(np.multiply(e, _LN2_HI), np.add(log_m, np.multiply(e, _LN2_LO))), x)


def _atan_unit(t: np.ndarray) -> np.ndarray:
    """``atan t`` for ``|t| <= 1``: halve the angle twice, then a Taylor series."""
    for _ in range(2):  # atan t = 2 atan(t / (1 + sqrt(1 + t^2)))
        t = np.divide(t, np.add(1.0, np.sqrt(np.add(1.0, np.multiply(t, t)))))
    t2 = np.multiply(t, t)  # |t| <= tan(pi/16) < 0.2
    series = _horner(np.negative(t2), _ODD)
    return np.multiply(4.0, np.multiply(t, series))


def atan2(y: Real, x: Real) -> Real:
    """The angle of the point ``(x, y)`` in ``[-pi, pi]``; ``atan2(0, 0) = 0``."""
    ya, xa = np.broadcast_arrays(np.asarray(y, np.float64), np.asarray(x, np.float64))
    ay, ax = np.abs(ya), np.abs(xa)
    steep = ay > ax
    big = np.where(steep, ay, ax)
    ratio = np.divide(np.where(steep, ax, ay), np.where(big == 0, 1.0, big))
    angle = _atan_unit(ratio)
    angle = np.where(steep, np.subtract(PI / 2, angle), angle)
    angle = np.where(xa < 0, np.subtract(PI, angle), angle)
    angle = np.where(ya < 0, np.negative(angle), angle)
    return _out(angle, y, x)


def hypot(x: Real, y: Real) -> Real:
    """``sqrt(x^2 + y^2)`` (correctly rounded square root of the rounded sum)."""
    xa, ya = np.asarray(x, np.float64), np.asarray(y, np.float64)
    return _out(np.sqrt(np.add(np.multiply(xa, xa), np.multiply(ya, ya))), x, y)


def radians(degrees: Real) -> Real:
    return _out(np.multiply(np.asarray(degrees, np.float64), PI / 180.0), degrees)


def wrap_angle(x: Real) -> Real:
    """``x`` moved by whole turns into ``[-pi, pi)``."""
    a = np.asarray(x, np.float64)
    turns = np.floor(np.divide(np.add(a, PI), 2 * PI))
    return _out(np.subtract(a, np.multiply(turns, 2 * PI)), x)


def interp(x: Real, xp: np.ndarray, fp: np.ndarray) -> Real:
    """Piecewise-linear interpolation of the points ``(xp, fp)`` (``xp`` increasing),
    held constant outside them, as ``np.interp`` but with a fixed formula."""
    a = np.asarray(x, np.float64)
    xp, fp = np.asarray(xp, np.float64), np.asarray(fp, np.float64)
    if len(xp) == 1:
        return _out(np.full_like(a, fp[0]), x)
    j = np.clip(np.searchsorted(xp, a, side="right") - 1, 0, len(xp) - 2)
    x0, x1, f0, f1 = xp[j], xp[j + 1], fp[j], fp[j + 1]
    span = np.subtract(x1, x0)
    weight = np.divide(np.subtract(a, x0), np.where(span == 0, 1.0, span))
    value = np.add(f0, np.multiply(np.subtract(f1, f0), np.clip(weight, 0.0, 1.0)))
    value = np.where(span == 0, f1, value)
    return _out(np.where(a <= xp[0], fp[0], np.where(a >= xp[-1], fp[-1], value)), x)
