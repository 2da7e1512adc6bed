"""The episode: one seeded instance of a task, with ground truth for every frame.

Conventions (all arrays are NumPy, C-contiguous):

* ``frames``: ``uint8 (T, H, W, 3)``, RGB.
* ``instance_ids``: ``uint8 (T, H, W)``; 0 is background and static scenery, ``k``
  is object ``k`` (``objects[k - 1]``), :data:`OCCLUDER_ID` is an occluder in front.
* ``states``: ``float64 (T, N, 6)``: ``x, y, angle, vx, vy, omega`` of each object in
  world units (metres, radians, seconds; y points up, gravity is ``-y``).
* ``pixels``: ``float32 (T, N, 2)``: each object's centre in image coordinates
  (x right, y down, pixel centres at integers); may lie outside the frame.
* ``visibility``: ``float32 (T, N)``: fraction of the object's area that is visible
  (occluders and frame edges taken into account), in ``[0, 1]``.
* ``actions``: ``float32 (T - 1, A)`` or ``None``; ``actions[t]`` is applied between
  frame ``t`` and frame ``t + 1``.
* ``camera``: ``float64 (T, 3)`` or ``None``: ``cx, cy, ppm`` of each frame's camera
  (view centre in metres, pixels per metre); ``pixels`` use each frame's camera.

An episode holds its true rollout, an ensemble of physical-variance re-simulations
(states perturbed below what the frames show 8 frames before the horizon) and
alternatives re-simulated from the same start: other action sequences (action tasks)
or impossible twins (violation of expectation); ``meta`` says what each is. Its
:meth:`Episode.content_hash` is a SHA-256 over every array's dtype, shape and bytes and
the canonical metadata: regenerating from the same task version and seed gives the
same hash.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import zstandard

OCCLUDER_ID = 255
#: How an episode is stored (:meth:`Episode.to_bytes`): a Zstandard frame (content size
#: and checksum in its header) of ``MAGIC``, the length of the JSON header (4 bytes,
#: little-endian), the canonical JSON header (with ``content_hash`` and ``arrays``: each
#: array's key, dtype and shape, in order) and each array's bytes (C order) in that order.
FORMAT = "wmbench episode 1"
MAGIC = b"WMBENCH-EPISODE 1\n"
#: Zstandard's default level: entries are written 3-8x faster than with the former
#: deflate at level 6 (the content hash included) and are smaller (benchmarks/README.md).
ZSTD_LEVEL = 3
ZIP_MAGIC = b"PK\x03\x04"  # the former format, a compressed .npz
STATE_FIELDS = ("x", "y", "angle", "vx", "vy", "omega")


@dataclass(frozen=True)
class ObjectSpec:
    """What an object looks like: enough to find it in any frame by colour and shape.

    ``size`` is the radius for circles and the bounding width and height for boxes and
    polygons, in metres; ``vertices`` are body-local polygon corners in metres.
    """

    id: int
    shape: str
    colour: tuple[int, int, int]
    mass: float
    size: tuple[float, ...]
    vertices: tuple[tuple[float, float], ...] = ()
    dynamic: bool = True


@dataclass
class Rollout:
    """One simulated future of an episode (the truth, an ensemble member or a branch)."""

    frames: np.ndarray
    instance_ids: np.ndarray
    states: np.ndarray
    pixels: np.ndarray
    visibility: np.ndarray
    actions: np.ndarray | None = None
    camera: np.ndarray | None = None

    ARRAYS = ("frames", "instance_ids", "states", "pixels", "visibility", "actions", "camera")

    def arrays(self) -> dict[str, np.ndarray]:
        return {k: getattr(self, k) for k in self.ARRAYS if getattr(self, k) is not None}

    def validate(self) -> None:
        """Check dtypes and shapes against each other; raises ``ValueError``."""
        t, h, w, c = self.frames.shape
        checks = [
            (self.frames.dtype == np.uint8 and c == 3, "frames must be uint8 (T, H, W, 3)"),
            (self.instance_ids.shape == (t, h, w) and self.instance_ids.dtype == np.uint8,
             "instance_ids must be uint8 (T, H, W)"),
            (self.states.ndim == 3 and self.states.shape[0] == t and self.states.shape[2] == 6,
             "states must be (T, N, 6)"),
            (self.pixels.shape == self.states.shape[:2] + (2,), "pixels must be (T, N, 2)"),
            (self.visibility.shape == self.states.shape[:2], "visibility must be (T, N)"),
            (self.actions is None or (self.actions.ndim == 2 and self.actions.shape[0] == t - 1),
             "actions must be (T - 1, A)"),
            (self.camera is None or (self.camera.shape == (t, 3) and self.camera.dtype == np.float64),
             "camera must be float64 (T, 3)"),
        ]
        for ok, problem in checks:
            if not ok:
                raise ValueError(problem)


@dataclass
class Episode:
    """One seeded instance of a task (see the module docstring for array conventions)."""

    task: str
    version: int
    split: str
    seed: int
    fps: float
    context: int
    horizon: int
    objects: list[ObjectSpec]
    truth: Rollout
    ensemble: list[Rollout] = field(default_factory=list)
    alternatives: list[Rollout] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """``task@version/split/seed``: how results and errors name the episode."""
        return f"{self.task}@{self.version}/{self.split}/{self.seed}"

    @property
    def frames(self) -> np.ndarray:
        return self.truth.frames

    @property
    def resolution(self) -> tuple[int, int]:
        return self.truth.frames.shape[1:3]

    @property
    def context_frames(self) -> np.ndarray:
        return self.truth.frames[: self.context]

    @property
    def future_frames(self) -> np.ndarray:
        return self.truth.frames[self.context : self.context + self.horizon]

    def header(self) -> dict[str, Any]:
        """Everything but the arrays, as canonical JSON-able data."""
        return {
            "task": self.task, "version": self.version, "split": self.split, "seed": self.seed,
            "fps": self.fps, "context": self.context, "horizon": self.horizon,
            "objects": [asdict(o) for o in self.objects], "meta": self.meta,
        }

    def rollouts(self) -> dict[str, Rollout]:
        named = {"truth": self.truth}
        named.update({f"ensemble/{i}": r for i, r in enumerate(self.ensemble)})
        named.update({f"alternatives/{i}": r for i, r in enumerate(self.alternatives)})
        return named

    def content_hash(self) -> str:
        """SHA-256 of the canonical header and every array (dtype, shape and bytes)."""
        digest = hashlib.sha256(_canonical_json(self.header()))
        for prefix, rollout in self.rollouts().items():
            for name, array in rollout.arrays().items():
                digest.update(f"{prefix}/{name}:{array.dtype.str}:{array.shape}".encode())
                digest.update(np.ascontiguousarray(array).tobytes())
        return digest.hexdigest()

    def to_bytes(self) -> bytes:
        """Lossless serialisation (:data:`FORMAT`: a Zstandard frame of a JSON header,
        which carries the content hash, and every array's bytes)."""
        arrays = {f"{prefix}/{name}": np.ascontiguousarray(a)
                  for prefix, r in self.rollouts().items() for name, a in r.arrays().items()}
        index = [[key, a.dtype.str, list(a.shape)] for key, a in arrays.items()]
        header = _canonical_json(dict(self.header(), content_hash=self.content_hash(), arrays=index))
        parts: list[bytes | memoryview] = [MAGIC, len(header).to_bytes(4, "little"), header]
        parts += [a.reshape(-1).view(np.uint8).data for a in arrays.values()]
        compressor = zstandard.ZstdCompressor(level=ZSTD_LEVEL, write_checksum=True)
        out = io.BytesIO()
        with compressor.stream_writer(out, size=sum(len(p) for p in parts), closefd=False) as writer:
            for part in parts:
                writer.write(part)
        return out.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> "Episode":
        """Inverse of :meth:`to_bytes` (also reads the former compressed ``.npz`` entries);
        raises ``ValueError`` if the data is damaged or the content hash does not match."""
        header, grouped = _read_npz(data) if data[:4] == ZIP_MAGIC else _read_zstd(data)
        expected = header.pop("content_hash")

        def rollouts(kind: str) -> list[Rollout]:
            count = sum(1 for p in grouped if p.startswith(kind + "/"))
            return [Rollout(**grouped[f"{kind}/{i}"]) for i in range(count)]

        episode = cls(
            **{k: header[k] for k in ("task", "version", "split", "seed", "fps", "context", "horizon", "meta")},
            objects=[_object_from_dict(o) for o in header["objects"]],
            truth=Rollout(**grouped["truth"]),
            ensemble=rollouts("ensemble"),
            alternatives=rollouts("alternatives"),
        )
        if episode.content_hash() != expected:
            raise ValueError(f"content hash mismatch for {episode.key}")
        return episode

    def save(self, path: Path | str) -> None:
        Path(path).write_bytes(self.to_bytes())

    @classmethod
    def load(cls, path: Path | str) -> "Episode":
        return cls.from_bytes(Path(path).read_bytes())


def _grouped(arrays: dict[str, np.ndarray]) -> dict[str, dict[str, np.ndarray]]:
    """``{"truth/frames": a, ...}`` as ``{"truth": {"frames": a, ...}, ...}``."""
    grouped: dict[str, dict[str, np.ndarray]] = {}
    for key, array in arrays.items():
        prefix, name = key.rsplit("/", 1)
        grouped.setdefault(prefix, {})[name] = array
    return grouped


def _read_zstd(data: bytes) -> tuple[dict[str, Any], dict[str, dict[str, np.ndarray]]]:
    """The header and the arrays of :data:`FORMAT` data (arrays writable, sharing one buffer)."""
    try:
        size = zstandard.frame_content_size(data)
        if size < 0:
            raise ValueError("no content size in its frame header")
        buffer = bytearray(size)
        with zstandard.ZstdDecompressor().stream_reader(data) as reader:
            filled = 0
            while filled < size and (count := reader.readinto(memoryview(buffer)[filled:])):
                filled += count
    except zstandard.ZstdError as exc:
        raise ValueError(f"not an episode ({exc})") from exc
    if filled != size or not buffer.startswith(MAGIC):
        raise ValueError(f"not an episode (truncated, or not {FORMAT})")
    start = len(MAGIC) + 4
    end = start + int.from_bytes(buffer[len(MAGIC) : start], "little")
    header = json.loads(buffer[start:end])
    arrays, offset = {}, end
    for key, dtype, shape in header.pop("arrays"):
        count = int(np.prod(shape))
        arrays[key] = np.frombuffer(buffer, dtype=dtype, count=count, offset=offset).reshape(shape)
        offset += arrays[key].nbytes
    if offset != size:
        raise ValueError(f"not an episode ({size - offset} bytes after its arrays)")
    return header, _grouped(arrays)


def _read_npz(data: bytes) -> tuple[dict[str, Any], dict[str, dict[str, np.ndarray]]]:
    """The header and the arrays of the former format (a compressed ``.npz``)."""
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        header = json.loads(npz["__header__"].tobytes())
        return header, _grouped({key: npz[key] for key in npz.files if key != "__header__"})


def _object_from_dict(data: dict[str, Any]) -> ObjectSpec:
    return ObjectSpec(
        **{**data, "colour": tuple(data["colour"]), "size": tuple(data["size"]),
           "vertices": tuple(tuple(v) for v in data["vertices"])}
    )


def _canonical_json(data: Any) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()
