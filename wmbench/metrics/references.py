"""Reference scores that anchor the normalised scale, per episode and metric.

* ``frozen``: the metric's score for a frozen world, the last context frame repeated
  over the horizon (the 0 of the normalised scale);
* ``variance``: the mean score of the physical-variance rollouts, each ensemble
  member's future scored as if it were a prediction (the 100 of the scale): what a
  perfect model can expect given what the context frames cannot show.

Metrics that are not scored on predicted frames (control, surprise) declare constant
anchors instead (``EpisodeMetric.fixed_references``, e.g. chance and perfect). Laws
that a frozen world obeys trivially (permanence, continuity, ...) take a clear
violation as their 0 instead (``EpisodeMetric.violation_anchor``).

**The reference cache.** The references do not
depend on the model, yet cost several times the model's own scoring. They are kept in
the episode cache's root, one small JSON file per episode and scoring shape::

    <root>/references/<fingerprint>/<episode content hash>-<T>x<H>x<W>.json
    {"episode_hash": ..., "fingerprint": ..., "shape": [T, H, W],
     "frozen": {metric: value or null}, "variance": {metric: value or null}}

Only measured references are stored (metrics with ``fixed_references`` have constants;
those with a ``violation_anchor`` store their variance only). The fingerprint
(:func:`fingerprint`) changes whenever scores could: with wmbench's version, the source
of every metric module and of the renderer, the numerical libraries' versions and the
device and dtypes scoring runs in; other fingerprints' entries are never read. Metrics
missing from an entry are computed for the whole batch and merged in; entries are
written atomically. A corrupt or mismatched entry is recomputed and overwritten with a
:class:`~wmbench.cache_files.CacheWarning`, never trusted; an unwritable cache raises
:class:`~wmbench.errors.CacheError`, as the episode cache does.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import warnings
from importlib import metadata
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

import wmbench.frames
from wmbench._version import __version__
from wmbench.cache_files import CacheWarning, write_atomically
from wmbench.frames import unit_float
from wmbench.metrics.base import EpisodeMetric, Truth
from wmbench.worlds import meta, render, scenes
from wmbench.worlds.cache import EpisodeCache

REFERENCES = ("frozen", "variance")


def frozen_prediction(truth: Truth) -> torch.Tensor:
    """The last context frame repeated over the horizon, ``(B, T, 3, H, W)``."""
    horizon = truth.frames.shape[1]
    return truth.context[:, -1:].expand(-1, horizon, -1, -1, -1)


def ensemble_predictions(truth: Truth) -> list[torch.Tensor]:
    """Each ensemble member's future as a prediction ``(B, T, 3, H, W)``; empty when the
    episodes carry no ensemble."""
    members = min(len(e.ensemble) for e in truth.episodes)
    horizon = truth.frames.shape[1]
    predictions = []
    for k in range(members):
        frames = np.stack([e.ensemble[k].frames[e.context : e.context + horizon] for e in truth.episodes])
        predictions.append(unit_float(frames, truth.frames.device))
    return predictions


def measured_references(metrics: dict[str, EpisodeMetric], truth: Truth) -> dict[str, dict[str, torch.Tensor]]:
    """The references that are measured, of metrics without ``fixed_references``:
    ``{"frozen": {metric: (B,)}, "variance": {metric: (B,)}}``, the frozen score only of
    metrics without a ``violation_anchor``; NaN where a reference cannot be had (no
    ensemble, or the metric is missing on every member)."""
    batch = truth.frames.shape[0]
    frozen, variance = {}, {}
    members = ensemble_predictions(truth) if metrics else []
    for name, metric in metrics.items():
        if metric.violation_anchor is None:
            frozen[name] = metric.score(frozen_prediction(truth), truth).cpu()
        if members:
            scores = torch.stack([metric.score(m, truth).cpu() for m in members])
            variance[name] = scores.nanmean(0)
        else:
            variance[name] = torch.full((batch,), float("nan"), dtype=torch.float64)
    return {"frozen": frozen, "variance": variance}


def reference_scores(metrics: dict[str, EpisodeMetric], truth: Truth,
                     cache: ReferenceCache | None = None) -> dict[str, dict[str, torch.Tensor]]:
    """``{"frozen": {metric: (B,)}, "variance": {metric: (B,)}}`` for every metric: its
    fixed references, its violation anchor, or the measured ones, read from ``cache``
    where it holds them (``None``: measured every time)."""
    batch = truth.frames.shape[0]
    measure = {name: m for name, m in metrics.items() if m.fixed_references is None}
    measured = measured_references(measure, truth) if cache is None else cache.references(measure, truth)
    frozen, variance = {}, {}
    for name, metric in metrics.items():
        if metric.fixed_references is not None:
            low, high = metric.fixed_references
            frozen[name] = torch.full((batch,), low, dtype=torch.float64)
            variance[name] = torch.full((batch,), high, dtype=torch.float64)
            continue
        if metric.violation_anchor is not None:
            frozen[name] = torch.full((batch,), metric.violation_anchor, dtype=torch.float64)
        else:
            frozen[name] = measured["frozen"][name]
        variance[name] = measured["variance"][name]
    return {"frozen": frozen, "variance": variance}


# -- the reference cache ----------------------------------------------------------------------

REFERENCES_DIR = "references"
#: The code that scores: every metric module, the frames' conversion, the renderer (object
#: extraction's colours) and the episodes' metadata (scale, whether objects collide).
SOURCES = (
    *sorted(Path(__file__).parent.rglob("*.py")),
    Path(wmbench.frames.__file__),
    Path(render.__file__),
    Path(meta.__file__),
    *sorted(Path(scenes.__file__).parent.rglob("*.py")),
)


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "absent"


def scoring_context(device: torch.device) -> str:
    """The device type and the dtypes float maths runs in there (mixed precision's
    autocast, the default dtype): what else makes a score's last bits differ."""
    probe = torch.ones(1, 1, device=device)
    return f"{device.type} default={torch.get_default_dtype()} matmul={(probe @ probe).dtype}"


@functools.cache
def fingerprint(context: str) -> str:
    """SHA-256 over what reference scores depend on besides the episode: wmbench's
    version, the bytes of :data:`SOURCES`, the torch, numpy, OpenCV, torchvision and
    lpips versions and the :func:`scoring_context`. Computed once per process and context."""
    digest = hashlib.sha256()
    lines = [f"wmbench {__version__}", f"torch {torch.__version__}", f"numpy {np.__version__}",
             f"opencv {cv2.__version__}", f"torchvision {_version('torchvision')}", f"lpips {_version('lpips')}",
             f"context {context}"]
    digest.update("\n".join(lines).encode())
    root = Path(__file__).parents[1]
    for path in SOURCES:
        data = path.read_bytes()
        digest.update(f"\n{Path(os.path.relpath(path, root)).as_posix()} {len(data)}\n".encode())
        digest.update(data)
    return digest.hexdigest()


def _entry_problem(entry: Any, identity: dict[str, Any]) -> str | None:
    """Why ``entry`` (parsed JSON) is not a usable entry for ``identity``, or ``None``."""
    if not isinstance(entry, dict):
        return f"is corrupt (a JSON {type(entry).__name__}, not an object)"
    wrong = [f"{k} {entry.get(k)!r} (expected {v!r})" for k, v in identity.items() if entry.get(k) != v]
    if wrong:
        return f"holds other references: {', '.join(wrong)}"
    for kind in REFERENCES:
        values = entry.get(kind)
        if not isinstance(values, dict):
            return f"is corrupt ('{kind}' is {values!r}, not an object)"
        for name, value in values.items():
            if value is not None and not isinstance(value, float):
                return f"is corrupt ({kind} {name} is {value!r}, not a number or null)"
    return None


def _holds(entry: dict[str, Any], name: str, metric: EpisodeMetric) -> bool:
    """Whether ``entry`` holds every measured reference of ``metric``."""
    return name in entry["variance"] and (metric.violation_anchor is not None or name in entry["frozen"])


class ReferenceCache:
    """Measured reference scores per episode on disk under ``<root>/references``."""

    def __init__(self, root: Path | str):
        self.root = Path(root)

    @classmethod
    def alongside(cls, episodes: EpisodeCache) -> ReferenceCache | None:
        """The reference cache in the episode cache's root; ``None`` when caching is disabled."""
        return None if episodes.root is None else cls(episodes.root)

    def path(self, fingerprint: str, episode_hash: str, shape: tuple[int, int, int]) -> Path:
        return self.root / REFERENCES_DIR / fingerprint / f"{episode_hash}-{'x'.join(map(str, shape))}.json"

    def references(self, metrics: dict[str, EpisodeMetric], truth: Truth) -> dict[str, dict[str, torch.Tensor]]:
        """:func:`measured_references` of ``metrics`` (none with
        fixed references) for ``truth``'s batch: read where every episode's entry holds
        them, else computed for the whole batch and merged into the entries."""
        if not metrics:
            return {kind: {} for kind in REFERENCES}
        _, horizon, _, height, width = truth.frames.shape
        shape, digest = (horizon, height, width), fingerprint(scoring_context(truth.frames.device))
        identities: list[dict[str, Any]] = [{"episode_hash": h, "fingerprint": digest, "shape": list(shape)}
                      for h in truth.episode_hashes()]
        paths = [self.path(digest, i["episode_hash"], shape) for i in identities]
        entries = [self._read(path, i) for path, i in zip(paths, identities)]
        missing = {n: m for n, m in metrics.items() if not all(_holds(e, n, m) for e in entries)}
        if missing:
            computed = measured_references(missing, truth)
            for index, (path, entry) in enumerate(zip(paths, entries)):
                new = [n for n, m in missing.items() if not _holds(entry, n, m)]
                for kind, values in computed.items():
                    entry[kind].update({n: _stored(values[n][index]) for n in new if n in values})
                if new:
                    write_atomically(path, json.dumps(entry, sort_keys=True).encode(), self.root)
        return {kind: {n: torch.tensor([_restored(e[kind][n]) for e in entries], dtype=torch.float64)
                       for n, m in metrics.items() if kind == "variance" or m.violation_anchor is None}
                for kind in REFERENCES}

    def _read(self, path: Path, identity: dict[str, Any]) -> dict[str, Any]:
        """The entry at ``path``; a fresh one when it is absent or unusable (with a warning)."""
        fresh = dict(identity, **{kind: {} for kind in REFERENCES})
        problem: str | None
        try:
            entry = json.loads(path.read_bytes())
        except (FileNotFoundError, NotADirectoryError):
            return fresh
        except (OSError, ValueError) as exc:  # unreadable, not UTF-8, not JSON
            problem = f"is corrupt ({type(exc).__name__}: {exc})"
        else:
            problem = _entry_problem(entry, identity)
            if problem is None:
                return entry
        warnings.warn(f"reference cache entry {path} {problem}; recomputing", CacheWarning, stacklevel=3)
        return fresh


def _stored(value: torch.Tensor) -> float | None:
    """A reference as JSON stores it: NaN (missing) as null."""
    number = float(value)
    return None if np.isnan(number) else number


def _restored(value: float | None) -> float:
    return float("nan") if value is None else value
