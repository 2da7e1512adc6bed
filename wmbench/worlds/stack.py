"""The generator stack: what, besides wmbench's own code, decides an episode's bytes.

wmbench computes its random numbers and elementary functions itself
(:mod:`wmbench.worlds.rng`, :mod:`wmbench.worlds.exactmath`), so NumPy's version, SIMD
level and BLAS kernel do not change episodes. Two libraries still do:

* **pymunk** bundles the physics engine (Chipmunk2D); another engine release simulates
  differently. Episodes are generated only with the pymunk releases listed in
  :data:`VERIFIED`.
* **OpenCV** rasterises the frames; its drawing code changed between releases (4.10
  and 4.11 draw some anti-aliased edges differently). Episodes are generated only with
  the OpenCV releases listed in :data:`VERIFIED`.

Both ranges are also the ones ``pyproject.toml`` accepts; an environment outside them
(installed without pip's resolver, say) is refused with :class:`GeneratorStackError`.

One dependency cannot be pinned by a package manager: the platform's math library,
whose ``sin``/``cos`` the physics engine calls to rotate bodies. glibc on x86-64
computes them by different code on CPUs with and without FMA, and other systems
(macOS, musl, Windows) have their own. :func:`math_library` probes them through pymunk
itself and compares with the reference platform; where they differ, episodes of scenes
with rotating bodies may differ in their last bits from the published release, so
generation warns (:class:`GeneratorStackWarning`) and points to the release.
"""

from __future__ import annotations

import hashlib
import platform
import struct
import warnings
from functools import lru_cache
from typing import Any

import cv2
import numpy as np
import pymunk

from wmbench.errors import GeneratorStackError

#: Libraries verified to reproduce the golden episodes: the package to install and the
#: verified releases ``[lowest, first unverified)``, compared by (major, minor).
VERIFIED = {
    "pymunk": ("pymunk", (6, 6), (7, 4)),
    "opencv": ("opencv-python-headless", (4, 11), (5, 1)),
}
#: SHA-256 of the probe's rotations on the reference platform (x86-64 Linux, glibc, FMA).
REFERENCE_MATH_LIBRARY = "17b5d0d6e1db092935125936eac06d5ed0254044588783be1e15e34e0c73ebac"
_PROBE_ANGLES = 20000


class GeneratorStackWarning(UserWarning):
    """This machine's math library rounds differently from the reference platform."""


def _minor(version: str) -> tuple[int, int]:
    parts = [int("".join(c for c in p if c.isdigit()) or 0) for p in version.split(".")[:2]]
    return (parts + [0])[0], (parts + [0, 0])[1]


def versions() -> dict[str, str]:
    """The versions of the libraries in the generator stack."""
    return {
        "pymunk": pymunk.version,
        "chipmunk": pymunk.chipmunk_version.split("-")[0],
        "opencv": cv2.__version__,
        "numpy": np.__version__,
    }


def check_versions(found: dict[str, str] | None = None) -> None:
    """Raise :class:`GeneratorStackError` naming the first library outside :data:`VERIFIED`."""
    found = found or versions()
    for name, (package, lo, hi) in VERIFIED.items():
        if not lo <= _minor(found[name]) < hi:
            wanted = f">={lo[0]}.{lo[1]},<{hi[0]}.{hi[1]}"
            raise GeneratorStackError(
                f"{name} {found[name]} is not verified to reproduce wmbench's episodes (verified: {wanted}); "
                f"install a verified release (pip install '{package}{wanted}'), or evaluate on a released "
                "dataset (wmbench run --data RELEASE)"
            )


def _probe_digest() -> str:
    """SHA-256 of the rotations ``(cos, sin)`` that the physics engine computes for a
    fixed set of angles (about one in a thousand rounds differently between glibc's FMA
    and non-FMA code, so the probe tells them apart)."""
    body = pymunk.Body(1.0, 1.0)
    digest = hashlib.sha256()
    for k in range(_PROBE_ANGLES):
        body.angle = k * 0.0061 - 12.5  # -12.5 .. 109.5 rad
        rotation = body.rotation_vector
        digest.update(struct.pack("<2d", rotation.x, rotation.y))
    return digest.hexdigest()


@lru_cache(maxsize=1)
def math_library() -> dict[str, Any]:
    """The probe of the platform's ``sin``/``cos`` as the physics engine calls them:
    its digest, whether it matches the reference platform, and the platform."""
    digest = _probe_digest()
    return {
        "digest": digest,
        "matches_reference": digest == REFERENCE_MATH_LIBRARY,
        "platform": f"{platform.system()}-{platform.machine()}",
        "libc": "-".join(platform.libc_ver()) or "unknown",
    }


def check_math_library() -> None:
    """Warn once per process when the platform's math library is not the reference's."""
    probe = math_library()
    if not probe["matches_reference"]:
        warnings.warn(
            f"this machine's math library ({probe['platform']}, {probe['libc']}) rotates bodies with "
            "sin/cos that round differently from the reference platform's (x86-64 Linux, glibc, FMA): "
            "episodes of scenes with rotating bodies may differ in their last bits from the published "
            "release; evaluate on the release (wmbench run --data RELEASE) and check a machine with "
            "wmbench data verify",
            GeneratorStackWarning,
            stacklevel=3,
        )


def check_stack() -> None:
    """What generation checks first: verified versions (error), the math library (warning)."""
    check_versions()
    check_math_library()


def engine_versions() -> dict[str, str]:
    """The generator stack as recorded with results and releases: library versions and
    whether the math library is the reference platform's."""
    probe = math_library()
    verdict = "reference" if probe["matches_reference"] else f"differs ({probe['platform']}, {probe['libc']})"
    return {**versions(), "math_library": verdict}
