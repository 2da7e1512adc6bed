"""Scoring speed, per core (one torch and one OpenCV thread), on the CPU.

* the full metric set (every registered metric but LPIPS) on batches of ``drop_single``
  episodes at 128x128 and 256x256, predicted by repeating the last context frame;
* SSIM against torchmetrics at 128x128;
* the Physics-IQ motion masks (``motion_masks``, which runs OpenCV's calls on the CPU,
  and the torch path used on other devices) against the per-frame OpenCV reference
  of the official procedure (``tests/physics_iq_reference.py``) on the same frames,
  checking that both give the same masks;
* ``wmbench physics-iq`` against that reference end to end (decoding, mask videos,
  metrics) on one scenario in the Physics-IQ layout. The official scripts themselves
  are not run here (they are not installed offline); the reference follows them step
  by step with the same OpenCV calls.

Run: ``python -m pytest benchmarks/test_scoring.py --benchmark-enable -s
--benchmark-timer=time.process_time`` (``-s`` prints the frames-per-second lines).
"""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from tests import physics_iq_reference as ref
from wmbench.metrics import METRICS, MetricUnavailable, Truth, motion
from wmbench.run.data import collate
from wmbench.tasks import get_task, split_seeds
from wmbench.worlds.generate import generate_episode

EPISODES = 4
WORKING = 64  # the official scripts' working resolution on 256x256 videos


def _per_second(benchmark, frames: int, label: str) -> float | None:
    """Frames per second per core of the benchmark's mean round; ``None`` when
    benchmarking is disabled (``--benchmark-disable``: the code runs once, untimed)."""
    if benchmark.stats is None:
        return None
    rate = frames / benchmark.stats.stats.mean
    benchmark.extra_info["frames_per_second_per_core"] = rate
    print(f"\n{label}: {rate:,.0f} frames/s per core")
    return rate


@pytest.mark.parametrize("resolution", [128, 256])
def test_full_metric_set(benchmark, resolution):
    task = get_task("drop_single").with_overrides(resolution=resolution)
    batch = collate([generate_episode(task, "dev", s) for s in split_seeds(task, "dev", EPISODES)])
    context, future = batch.context.float() / 255, batch.future.float() / 255
    truth = Truth(frames=future, context=context, episodes=batch.episodes)
    pred = context[:, -1:].expand_as(future).contiguous()
    metrics = {}
    for name, cls in sorted(METRICS.items()):
        if name == "lpips":
            continue
        try:
            metrics[name] = cls()
        except MetricUnavailable as exc:
            benchmark.extra_info[f"unavailable {name}"] = str(exc)

    def score_all(prediction: torch.Tensor) -> None:
        for metric in metrics.values():
            metric.score(prediction, truth)

    # a fresh prediction tensor each round: no metric may reuse the previous round's work
    benchmark.pedantic(score_all, setup=lambda: ((pred.clone(),), {}), rounds=5, warmup_rounds=1)
    benchmark.extra_info["metrics"] = sorted(metrics)
    for name, metric in metrics.items():  # one timed call each, for the breakdown
        fresh = pred.clone()
        start = time.perf_counter()
        metric.score(fresh, truth)
        benchmark.extra_info[f"seconds {name}"] = time.perf_counter() - start
    _per_second(benchmark, pred.shape[0] * pred.shape[1], f"{len(metrics)} metrics at {resolution}x{resolution}")


@pytest.mark.parametrize("references", ["measured", "cached"])
def test_batch_with_references(benchmark, tmp_path, references):
    """What a run does per batch: every metric of ``drop_single`` (but LPIPS) on the
    prediction and its references (the frozen world and 8 ensemble members), measured,
    or read from a warm reference cache. Rates count the model's predicted frames."""
    from wmbench.metrics.references import ReferenceCache
    from wmbench.metrics.scoring import score_episodes

    task = get_task("drop_single")
    batch = collate([generate_episode(task, "dev", s) for s in split_seeds(task, "dev", EPISODES)])
    context, future = batch.context.float() / 255, batch.future.float() / 255
    metrics = {n: METRICS[n]() for n in task.metrics if n != "lpips"}
    cache = ReferenceCache(tmp_path) if references == "cached" else None
    truth = lambda: Truth(frames=future, context=context, episodes=batch.episodes)  # noqa: E731
    pred = torch.roll(future, 2, dims=-1)
    if cache is not None:
        score_episodes(metrics, pred, truth(), cache)  # warm the cache
    benchmark.pedantic(score_episodes, setup=lambda: ((metrics, pred.clone(), truth(), cache), {}),
                       rounds=3, warmup_rounds=1)
    _per_second(benchmark, pred.shape[0] * pred.shape[1], f"batch with references {references}, 128x128")


def test_motion_metrics_in_memory(benchmark):
    """The four Physics-IQ motion metrics on frames in memory, 256x256 (64x64 working
    resolution), the true future's masks computed afresh each round: the work the
    official scripts do per generated frame, without video decoding."""
    task = get_task("drop_single").with_overrides(resolution=256)
    batch = collate([generate_episode(task, "dev", s) for s in split_seeds(task, "dev", EPISODES)])
    context, future = batch.context.float() / 255, batch.future.float() / 255
    pred = torch.roll(future, 3, dims=-1)
    truth = lambda: Truth(frames=future, context=context, episodes=batch.episodes)  # noqa: E731
    scores = benchmark.pedantic(motion.compare_motion, setup=lambda: ((pred.clone(), truth()), {}),
                                rounds=5, warmup_rounds=1)
    assert set(scores) == {"motion_spatial_iou", "motion_spatiotemporal_iou", "motion_weighted_spatial_iou",
                           "motion_mse"}
    _per_second(benchmark, pred.shape[0] * pred.shape[1], "Physics-IQ motion metrics in memory (256 -> 64)")


def _physics_iq_frames(count: int = 150, size: int = 256) -> np.ndarray:
    """Discs falling and sliding over a lightly textured background, BGR uint8 (T, H, W, 3)."""
    rng = np.random.default_rng(0)
    background = np.clip(rng.normal(110, 6, (size, size, 3)), 0, 255).astype(np.uint8)
    frames = np.repeat(background[None], count, 0)
    for t in range(count):
        cv2.circle(frames[t], (40 + t, 30 + int(0.02 * t * t) % (size - 40)), 14, (30, 200, 230), -1)
        cv2.circle(frames[t], (size - 30 - t // 2, 180), 10, (200, 40, 40), -1)
    return frames


@pytest.mark.parametrize("implementation", ["motion_masks", "_torch_masks"])
def test_motion_masks(benchmark, implementation):
    """``motion_masks`` (OpenCV calls on the CPU) and the torch path used on other devices."""
    frames = torch.from_numpy(np.ascontiguousarray(_physics_iq_frames()[..., ::-1])).permute(0, 3, 1, 2)[None]
    compute = getattr(motion, implementation)

    def ours():
        return motion.shrink_masks(compute(frames, None)[0], (WORKING, WORKING))

    masks = benchmark(ours)
    expected = [cv2.resize(m, (WORKING, WORKING)) > 127 for m in ref.masks_per_frame(list(_physics_iq_frames()))]
    assert np.array_equal(masks[0].numpy(), np.stack(expected))
    _per_second(benchmark, frames.shape[1], f"motion masks, {implementation} (256 -> 64)")


def test_motion_masks_opencv_reference(benchmark):
    frames = list(_physics_iq_frames())
    benchmark(lambda: [cv2.resize(m, (WORKING, WORKING)) > 127 for m in ref.masks_per_frame(frames)])
    _per_second(benchmark, len(frames), "motion masks, per-frame OpenCV reference (256 -> 64)")


@pytest.fixture(scope="module")
def scenario(tmp_path_factory) -> Path:
    """One scenario, three views, 256x256 at 30 fps (150 frames per video)."""
    folder = tmp_path_factory.mktemp("physics-iq")
    frames = _physics_iq_frames()
    for n, view in enumerate(ref.VIEWS, 1):
        for take, shift in ((1, 0), (2, 2)):
            name = f"{n:04d}" if take == 1 else f"{n + 100:04d}"
            ref.write_video(folder / f"{name}_testing-videos_30FPS_{view}_take-{take}_bench.mp4",
                            list(np.roll(frames, shift, axis=2)), 30)
        ref.write_video(folder / f"{n:04d}_{view}_bench.mp4", list(np.roll(frames, 5 * n, axis=1)), 30)
    return folder


@pytest.fixture(scope="module")
def real_masks(scenario, tmp_path_factory) -> Path:
    """The real takes' mask videos, as the benchmark distributes them."""
    folder = tmp_path_factory.mktemp("physics-iq-masks")
    for take in scenario.glob("*_testing-videos_*.mp4"):
        masks = ref.masks_per_frame(ref.read_frames(take, 10**9))
        ref.write_video(folder / take.name.replace("testing-videos", "video-masks"), masks, 30, is_color=False)
    return folder


def test_physics_iq_command_with_real_masks(benchmark, scenario, real_masks):
    """The usual case: the real takes' masks are given, only the generated video's are computed."""
    from wmbench.metrics.physics_iq import score_submission

    benchmark.pedantic(lambda: score_submission(scenario, masks_dir=real_masks), rounds=2, warmup_rounds=1)
    _per_second(benchmark, 3 * 150, "physics-iq with the real masks given (generated frames)")


@pytest.mark.parametrize("mask_video", [True, False], ids=["mask-video", "no-mask-video"])
def test_physics_iq_command(benchmark, scenario, mask_video):
    from wmbench.metrics.physics_iq import score_submission

    summary, _ = benchmark.pedantic(lambda: score_submission(scenario, mask_video=mask_video), rounds=2,
                                    warmup_rounds=1)
    benchmark.extra_info["physics_iq_score"] = summary["scores"]["physics_iq_score"]
    print(f"\nphysics_iq_score {summary['scores']['physics_iq_score']}")
    _per_second(benchmark, 3 * 150, f"physics-iq, {'with' if mask_video else 'without'} mask videos "
                "(generated frames, 3 videos decoded per view)")


def test_physics_iq_reference(benchmark, scenario):
    def reference():
        for view in ref.VIEWS:
            take1, take2 = (next(scenario.glob(f"*_{view}_take-{k}_bench.mp4")) for k in (1, 2))
            generated = next(scenario.glob(f"{take1.name[:4]}_{view}_bench.mp4"))
            size = (WORKING, WORKING)
            frames = [[f / 255.0 for f in ref.read_frames(p, 150, size)] for p in (take1, take2, generated)]
            masks = [ref.mask_video_frames(p, 150, size) for p in (take1, take2, generated)]
            ref.mse_per_frame(frames[0], frames[2]), ref.mse_per_frame(frames[1], frames[2])
            ref.mse_per_frame(frames[0], frames[1])
            for a, b in ((masks[0], masks[2]), (masks[1], masks[2]), (masks[0], masks[1])):
                ref.iou_per_frame(a, b), ref.spatial(a, b), ref.weighted_spatial(a, b)

    benchmark.pedantic(reference, rounds=2, warmup_rounds=1)
    _per_second(benchmark, 3 * 150, "physics-iq, per-frame OpenCV reference with mask videos")


@pytest.mark.parametrize("implementation", ["wmbench", "torchmetrics"])
def test_ssim(benchmark, implementation):
    from torchmetrics.functional.image import structural_similarity_index_measure

    from wmbench.metrics.pixel import ssim_per_image

    gen = torch.Generator().manual_seed(0)
    x = torch.rand(64, 3, 128, 128, generator=gen)
    y = (x + 0.1 * torch.randn(x.shape, generator=gen)).clamp(0, 1)
    if implementation == "wmbench":
        benchmark(ssim_per_image, x, y)
    else:
        benchmark(structural_similarity_index_measure, x, y, data_range=1.0, reduction="none")
    _per_second(benchmark, len(x), f"ssim, {implementation}, 128x128")
