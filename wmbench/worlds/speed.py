"""How fast episodes are generated and cached, and how large they are on disk.

Speeds are per core: frames (or episodes) divided by the CPU time of this process
(``time.process_time``, all threads), so they depend far less than wall time on what
else the machine runs (though contention still slows a core down); wall
time is reported next to them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from wmbench.tasks.schema import Task
from wmbench.tasks.seeds import episode_seed
from wmbench.worlds.episode import Episode
from wmbench.worlds.generate import generate_episode


@dataclass(frozen=True)
class GenerationSpeed:
    """Totals over ``episodes`` generated episodes of one task."""

    task: str
    resolution: int
    episodes: int
    cpu_seconds: float
    wall_seconds: float
    truth_frames: int
    ensemble_frames: int
    alternative_frames: int
    cache_bytes: int
    encode_cpu_seconds: float
    decode_cpu_seconds: float

    @property
    def frames(self) -> int:
        return self.truth_frames + self.ensemble_frames + self.alternative_frames

    def summary(self) -> dict[str, Any]:
        """Per-core rates and per-episode sizes, as plain JSON-able numbers."""
        per_core = lambda count: count / self.cpu_seconds  # noqa: E731
        return {
            "task": self.task, "resolution": self.resolution, "episodes": self.episodes,
            "episodes_per_s_per_core": per_core(self.episodes),
            "truth_frames_per_s_per_core": per_core(self.truth_frames),
            "ensemble_frames_per_s_per_core": per_core(self.ensemble_frames),
            "alternative_frames_per_s_per_core": per_core(self.alternative_frames),
            "all_frames_per_s_per_core": per_core(self.frames),
            "frames_per_episode": self.frames / self.episodes,
            "cache_bytes_per_episode": self.cache_bytes / self.episodes,
            "cache_bytes_per_frame": self.cache_bytes / self.frames,
            "cache_write_ms_per_episode": 1000 * self.encode_cpu_seconds / self.episodes,
            "cache_read_ms_per_episode": 1000 * self.decode_cpu_seconds / self.episodes,
            "wall_seconds": self.wall_seconds,
        }


def frame_counts(episode: Episode) -> tuple[int, int, int]:
    """Frames of the truth, of the ensemble and of the alternative action sequences."""
    return (len(episode.truth.frames), sum(len(r.frames) for r in episode.ensemble),
            sum(len(r.frames) for r in episode.alternatives))


def measure_generation(task: Task, episodes: int = 4, split: str = "dev", warmup: int = 1) -> GenerationSpeed:
    """Generate ``episodes`` episodes of ``task`` (after ``warmup`` untimed ones) and
    time generation, encoding for the cache and decoding with hash verification."""
    seeds = [episode_seed(task, split, i) for i in range(warmup + episodes)]
    for seed in seeds[:warmup]:
        generate_episode(task, split, seed)
    cpu, wall = time.process_time(), time.perf_counter()
    generated = [generate_episode(task, split, seed) for seed in seeds[warmup:]]
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    encode = time.process_time()
    blobs = [episode.to_bytes() for episode in generated]
    encode = time.process_time() - encode
    decode = time.process_time()
    for blob in blobs:
        Episode.from_bytes(blob)
    decode = time.process_time() - decode
    counts = [frame_counts(e) for e in generated]
    return GenerationSpeed(
        task=task.id, resolution=task.resolution, episodes=episodes, cpu_seconds=cpu, wall_seconds=wall,
        truth_frames=sum(c[0] for c in counts), ensemble_frames=sum(c[1] for c in counts),
        alternative_frames=sum(c[2] for c in counts), cache_bytes=sum(len(b) for b in blobs),
        encode_cpu_seconds=encode, decode_cpu_seconds=decode,
    )

