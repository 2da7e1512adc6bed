"""Hand-built episodes for metric tests: a textured static background, coloured squares
that move as told, alternatives with actions or impossible twins, and the helpers that
turn them into what metrics receive."""

from __future__ import annotations

import cv2
import numpy as np
import torch

from wmbench.frames import unit_float
from wmbench.metrics import Truth
from wmbench.tasks.schema import Task
from wmbench.worlds.episode import Episode, ObjectSpec, Rollout

SIZE, CONTEXT, HORIZON, FPS = 64, 4, 12, 30.0
RED, BLUE = (220, 40, 40), (40, 60, 220)


def background(seed: int = 0, width: int = SIZE) -> np.ndarray:
    """A smooth random grey-green texture, ``uint8 (SIZE, width, 3)``."""
    noise = np.random.default_rng(seed).random((SIZE, width, 3)).astype(np.float32)
    smooth = cv2.GaussianBlur(noise, (0, 0), 2.0)
    smooth = (smooth - smooth.min()) / (smooth.max() - smooth.min())
    return (60 + 120 * smooth * np.array([0.8, 1.0, 0.7], dtype=np.float32)).astype(np.uint8)


def squares(tracks: dict[tuple[int, int, int], np.ndarray], side: int = 8, seed: int = 0,
            pan: np.ndarray | None = None) -> np.ndarray:
    """Frames ``uint8 (T, SIZE, SIZE, 3)``: one square per colour at the track's top-left
    ``(x, y)`` per frame (rounded); ``pan`` shifts the view over a wider background."""
    length = len(next(iter(tracks.values())))
    pan = np.zeros(length, dtype=int) if pan is None else pan
    wide = background(seed, SIZE + int(pan.max()))
    frames = np.stack([wide[:, p : p + SIZE].copy() for p in pan])
    for colour, track in tracks.items():
        for t, (x, y) in enumerate(np.rint(track).astype(int)):
            frames[t, max(y, 0) : max(y + side, 0), max(x, 0) : max(x + side, 0)] = colour
    return frames


def rollout(frames: np.ndarray, actions: np.ndarray | None = None, objects: int = 1) -> Rollout:
    t = len(frames)
    return Rollout(frames=frames, instance_ids=np.zeros(frames.shape[:3], np.uint8),
                   states=np.zeros((t, objects, 6)), pixels=np.zeros((t, objects, 2), np.float32),
                   visibility=np.ones((t, objects), np.float32), actions=actions)


def episode(frames: np.ndarray, seed: int = 0, alternatives: list[Rollout] | None = None, meta: dict | None = None,
            actions: np.ndarray | None = None, colours: tuple = (RED,)) -> Episode:
    objects = [ObjectSpec(id=k + 1, shape="box", colour=c, mass=1.0, size=(0.1, 0.1)) for k, c in enumerate(colours)]
    return Episode(task="synthetic", version=1, split="dev", seed=seed, fps=FPS, context=CONTEXT, horizon=HORIZON,
                   objects=objects, truth=rollout(frames, actions, len(colours)),
                   alternatives=alternatives or [], meta=meta or {})


def truth_of(episodes: list[Episode], outputs: dict[str, list] | None = None) -> Truth:
    """The truth of ``episodes``, with the model ``outputs`` the metrics need, if any."""
    return Truth(frames=torch.stack([unit_float(e.future_frames) for e in episodes]),
                 context=torch.stack([unit_float(e.context_frames) for e in episodes]),
                 episodes=episodes, outputs=outputs or {})


def task(metrics: tuple[str, ...], family: str = "action_conditioned") -> Task:
    return Task(name="synthetic", version=1, family=family, scene="synthetic", params={}, resolution=SIZE,
                fps=FPS, context=CONTEXT, horizon=HORIZON, metrics=metrics, episodes={"dev": 1})
