"""`wmbench physics-iq` on a generated fixture in the Physics-IQ layout, against values
computed by an independent frame-by-frame OpenCV/NumPy reference of the official scripts."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from .. import physics_iq_reference as ref

FPS = 4  # 20 frames scored (fps * 5)
SIZE = (96, 64)  # width, height: working resolution 24 x 16
SCENARIOS = ("trimmed-ball-drop.mp4", "trimmed-domino.mp4")


def _video(rng: np.random.Generator, speed: float, wobble: float, frames: int = 5 * FPS) -> list[np.ndarray]:
    """Two flat discs moving over a flat, slightly noisy background."""
    w, h = SIZE
    background = np.clip(np.array([60, 90, 120]) + rng.integers(-3, 4, (h, w, 3)), 0, 255).astype(np.uint8)
    out = []
    for t in range(frames):
        frame = background.copy()
        cv2.circle(frame, (int(10 + speed * t), int(20 + wobble * np.sin(t / 2))), 7, (230, 200, 30), -1)
        cv2.circle(frame, (int(80 - 0.5 * speed * t), int(45 + 0.3 * t * t * wobble / 4)), 5, (20, 40, 240), -1)
        out.append(frame)
    return out


@pytest.fixture(scope="module")
def submission(tmp_path_factory) -> dict[str, Path]:
    """2 scenarios x 3 views: real takes 1 and 2 (real/), generated videos (generated/),
    precomputed real masks (masks/) and deliberately wrong masks (empty-masks/)."""
    root = tmp_path_factory.mktemp("physics-iq")
    dirs = {name: root / name for name in ("real", "generated", "masks", "empty-masks")}
    for d in dirs.values():
        d.mkdir()
    rng = np.random.default_rng(0)
    n = 0
    for scenario in SCENARIOS:
        for view in ref.VIEWS:
            n += 1
            ids = {1: f"{n:04d}", 2: f"{n + 100:04d}"}
            speed = 2.0 + n / 3
            takes = {1: _video(rng, speed, 4.0), 2: _video(rng, speed * 1.05, 5.0)}
            for take, frames in takes.items():
                name = f"{ids[take]}_testing-videos_{FPS}FPS_{view}_take-{take}_{scenario}"
                ref.write_video(dirs["real"] / name, frames, FPS)
                masks = ref.masks_per_frame(ref.read_frames(dirs["real"] / name, 10**9))
                mask_name = f"{ids[take]}_video-masks_{FPS}FPS_{view}_take-{take}_{scenario}"
                ref.write_video(dirs["masks"] / mask_name, masks, FPS, is_color=False)
                ref.write_video(dirs["empty-masks"] / mask_name, [0 * m for m in masks], FPS, is_color=False)
            generated = _video(rng, speed * (0.6 if n % 2 else 1.2), 2.0 * (n % 3))
            ref.write_video(dirs["generated"] / f"{ids[1]}_{view}_{scenario}", generated, FPS)
    return dirs


def _reference_view(dirs: dict[str, Path], scenario: str, view: str, masks_dir: Path | None,
                    through_codec: bool = True) -> dict:
    """The official per-view metrics, step by step (calculate_and_write_metrics_to_csv)."""
    real = sorted(dirs["real"].glob(f"*_{view}_take-*_{scenario}"))
    take1, take2 = (next(p for p in real if f"take-{k}" in p.name) for k in (1, 2))
    generated = next(dirs["generated"].glob(f"{take1.name[:4]}_*"))
    first = ref.read_frames(take1, 1)[0]
    size = (first.shape[1] // 4, first.shape[0] // 4)
    stop = FPS * 5
    frames = [[f / 255.0 for f in ref.read_frames(p, stop, size)] for p in (take1, take2, generated)]

    def masks(video: Path, precomputed: Path | None = None) -> list[np.ndarray]:
        given = precomputed and precomputed / video.name.replace("testing-videos", "video-masks")
        return ref.mask_video_frames(video, stop, size, through_codec, given)

    m1, m2, mg = masks(take1, masks_dir), masks(take2, masks_dir), masks(generated)
    return {
        "v1_mse": ref.mse_per_frame(frames[0], frames[2]), "v2_mse": ref.mse_per_frame(frames[1], frames[2]),
        "variance_spatial": ref.spatial(m1, m2), "variance_weighted_spatial": ref.weighted_spatial(m1, m2),
        "variance_spatiotemporal_iou": ref.iou_per_frame(m1, m2),
        "variance_mse": ref.mse_per_frame(frames[0], frames[1]),
        "spatiotemporal_iou_v1": ref.iou_per_frame(m1, mg), "spatiotemporal_iou_v2": ref.iou_per_frame(m2, mg),
        "spatial_iou_v1": ref.spatial(m1, mg), "spatial_iou_v2": ref.spatial(m2, mg),
        "weighted_spatial_iou_v1": ref.weighted_spatial(m1, mg),
        "weighted_spatial_iou_v2": ref.weighted_spatial(m2, mg),
    }


def _assert_views_match(got: dict, expected: dict) -> None:
    for key, value in expected.items():
        assert np.asarray(got[key]) == pytest.approx(np.asarray(value), abs=1e-12), key


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Small frames: one thread avoids thread start-up costs on a busy machine (the
    numbers do not depend on it)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def scored(submission, tmp_path_factory):
    """`wmbench physics-iq` run once on the fixture in two worker processes, with the CSV:
    (JSON printed, CSV path). The other tests score in this process."""
    from wmbench.cli import main

    csv = tmp_path_factory.mktemp("csv") / "result.csv"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["physics-iq", str(submission["generated"]), "--real", str(submission["real"]),
                     "--csv", str(csv), "--device", "cpu", "--workers", "2",
                     "--cache", str(tmp_path_factory.mktemp("takes-cache"))])
    assert code == 0
    return json.loads(out.getvalue()), csv


def test_command_reproduces_the_official_per_view_metrics(submission, scored):
    import pandas as pd

    summary, csv = scored
    assert summary["fps"] == FPS and summary["frames"] == 20 and summary["working_resolution"] == [24, 16]
    table = pd.read_csv(csv)
    assert list(table["scenario"]) == sorted(SCENARIOS)
    for scenario in SCENARIOS:
        row = table[table["scenario"] == scenario].iloc[0]
        for view in ref.VIEWS:
            expected = _reference_view(submission, scenario, view, None)
            got = {k: (json.loads(row[f"{k}_{view}"]) if isinstance(row[f"{k}_{view}"], str) else row[f"{k}_{view}"])
                   for k in expected}
            _assert_views_match(got, expected)
            for key, value in expected.items():  # the JSON holds the means of the per-frame lists
                assert summary["scenarios"][scenario][view][key] == pytest.approx(np.mean(value), abs=1e-7)
    expected_score, expected_variance = ref.iq_score(csv)
    assert summary["scores"]["physics_iq_score"] == expected_score
    assert summary["scores"]["physical_variance"] == expected_variance
    # the fixture is not degenerate: the score lies strictly between the extremes
    assert 0 < expected_score < 100 and expected_variance > 0


def test_precomputed_masks_are_read_not_recomputed(submission, scored):
    from wmbench.metrics.physics_iq import score_submission

    key = (SCENARIOS[0], ref.VIEWS[1])
    _, given = score_submission(submission["generated"], submission["real"], submission["masks"])
    _assert_views_match(given[key], _reference_view(submission, *key, submission["masks"]))
    _, empty = score_submission(submission["generated"], submission["real"], submission["empty-masks"])
    expected = _reference_view(submission, *key, submission["empty-masks"])
    _assert_views_match(empty[key], expected)
    computed = scored[0]["scenarios"][key[0]][key[1]]
    assert expected["variance_spatial"] == 1.0 and expected["spatial_iou_v1"] != computed["spatial_iou_v1"]


@pytest.mark.parametrize("masks", [None, "masks"])
def test_real_takes_kept_across_runs_give_the_same_numbers(submission, tmp_path, monkeypatch, masks):
    from wmbench.metrics.physics_iq import score
    from wmbench.metrics.physics_iq.takes import TakesCache

    given = submission[masks] if masks else None
    _, fresh = score.score_submission(submission["generated"], submission["real"], given)
    cache = TakesCache(tmp_path)
    _, filled = score.score_submission(submission["generated"], submission["real"], given, cache=cache)
    assert len(list((tmp_path / "physics-iq").glob("*.npz"))) == len(fresh)  # one entry per view

    def unread(*args, **kwargs):
        raise AssertionError("the real takes were read again")

    monkeypatch.setattr(score, "_real_side", unread)
    _, kept = score.score_submission(submission["generated"], submission["real"], given, cache=cache)
    assert kept == fresh and filled == fresh


def test_a_corrupt_or_foreign_takes_entry_is_read_again_with_a_warning(submission, tmp_path):
    from wmbench.cache_files import CacheWarning
    from wmbench.metrics.physics_iq import score_submission
    from wmbench.metrics.physics_iq.takes import TakesCache

    _, fresh = score_submission(submission["generated"], submission["real"], cache=TakesCache(tmp_path))
    first, second, *_ = sorted((tmp_path / "physics-iq").glob("*.npz"))
    first.write_bytes(first.read_bytes()[:100])  # truncated
    second.write_bytes(b"not a NumPy file")
    with pytest.warns(CacheWarning, match=r"physics-iq cache entry .* cannot be read"):
        _, again = score_submission(submission["generated"], submission["real"], cache=TakesCache(tmp_path))
    assert again == fresh
    for entry in (first, second):  # written again, whole
        np.load(entry).close()


def test_the_takes_key_follows_the_takes_bytes_and_the_procedure(submission, tmp_path):
    import shutil

    from wmbench.metrics.physics_iq import find_views
    from wmbench.metrics.physics_iq.takes import TakesCache

    cache = TakesCache(tmp_path)
    view = find_views(submission["generated"], submission["real"], None, FPS)[0]
    key = cache.key(view, FPS, 20, True, "cpu")
    assert key == cache.key(view, FPS, 20, True, "cpu")
    assert len({key, cache.key(view, FPS, 20, False, "cpu"), cache.key(view, FPS, 19, True, "cpu")}) == 3
    copy = tmp_path / view.takes[0].name
    shutil.copy(view.takes[0], copy)
    with open(copy, "ab") as handle:
        handle.write(b"\0")
    changed = type(view)(view.scenario, view.view, view.generated, (copy, view.takes[1]), view.masks, view.takes_fps)
    assert cache.key(changed, FPS, 20, True, "cpu") != key


def test_without_the_mask_video_matches_the_reference_without_it(submission, scored):
    """The faster mode skips the lossy mask video: its own numbers, not the official ones."""
    from wmbench.metrics.physics_iq import score_submission

    summary, per_view = score_submission(submission["generated"], submission["real"], mask_video=False)
    key = (SCENARIOS[1], ref.VIEWS[2])
    _assert_views_match(per_view[key], _reference_view(submission, *key, None, through_codec=False))
    assert summary["scores"]["physics_iq_score"] != scored[0]["scores"]["physics_iq_score"]


def test_missing_take_and_missing_generated_video_are_named(submission, tmp_path, cli):
    import shutil

    real = tmp_path / "real"
    shutil.copytree(submission["real"], real)
    victim = next(real.glob(f"*_perspective-right_take-2_{SCENARIOS[1]}"))
    victim.unlink()
    code, _, err = cli("physics-iq", submission["generated"], "--real", real)
    assert code == 2 and f"scenario {SCENARIOS[1]}, perspective-right: no real take-2 at {FPS} FPS" in err

    generated = tmp_path / "generated"
    shutil.copytree(submission["generated"], generated)
    next(generated.glob("0002_*")).unlink()
    code, _, err = cli("physics-iq", generated, "--real", submission["real"])
    assert code == 2 and "no generated video named 0002_*.mp4" in err


def test_bad_inputs_exit_with_one_line_errors(submission, tmp_path, cli):
    code, _, err = cli("physics-iq", tmp_path / "nowhere")
    assert code == 2 and "nowhere: not a directory" in err
    code, _, err = cli("physics-iq", submission["generated"], "--real", tmp_path)
    assert code == 2 and f"{tmp_path}: no real videos named ID_testing-videos_{FPS}FPS" in err
    code, _, err = cli("physics-iq", submission["generated"], "--real", submission["real"], "--masks", tmp_path)
    assert code == 2 and "missing mask video" in err
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "0001_perspective-left_x.mp4").write_bytes(b"not a video")
    code, _, err = cli("physics-iq", broken, "--real", submission["real"])
    assert code == 2 and "cannot be read as a video" in err
    assert all(len(e.strip().splitlines()) == 1 for e in (err,))


def test_videos_shorter_than_five_seconds_are_scored_on_every_frame(submission, tmp_path, cli):
    """18 frames where 20 are asked for (a last, partial chunk of decoded frames): every
    frame is scored, as the official scripts score them, and the JSON says 18."""
    short = {}
    for name in ("real", "generated"):
        short[name] = tmp_path / name
        short[name].mkdir()
        for video in submission[name].glob("*.mp4"):
            ref.write_video(short[name] / video.name, ref.read_frames(video, 18), FPS)
    csv = tmp_path / "short.csv"
    code, out, _ = cli("physics-iq", short["generated"], "--real", short["real"], "--csv", csv, "--workers", "1")
    assert code == 0
    summary = json.loads(out)
    assert summary["frames"] == 18
    key = (SCENARIOS[0], ref.VIEWS[0])
    expected = _reference_view(short, *key, None)
    assert {len(expected[k]) for k in ("v1_mse", "variance_mse", "spatiotemporal_iou_v1")} == {18}
    for metric, value in expected.items():
        assert summary["scenarios"][key[0]][key[1]][metric] == pytest.approx(np.mean(value), abs=1e-12), metric
    assert (summary["scores"]["physics_iq_score"], summary["scores"]["physical_variance"]) == ref.iq_score(csv)


def _flat_view(st: float, var_st: float, sp: float, var_sp: float, wsp: float, var_wsp: float,
               mse: float, var_mse: float) -> dict:
    """Per-view metrics with constant per-frame lists (3 frames), take 2 as take 1."""
    return {"v1_mse": [mse] * 3, "v2_mse": [mse] * 3, "variance_mse": [var_mse] * 3,
            "spatiotemporal_iou_v1": [st] * 3, "spatiotemporal_iou_v2": [st] * 3,
            "variance_spatiotemporal_iou": [var_st] * 3, "spatial_iou_v1": sp, "spatial_iou_v2": sp,
            "variance_spatial": var_sp, "weighted_spatial_iou_v1": wsp, "weighted_spatial_iou_v2": wsp,
            "variance_weighted_spatial": var_wsp}


def test_the_score_rounds_as_the_official_formula_where_it_matters(tmp_path):
    """The variance terms are rounded (4, 5, 4, 4 decimals) before they divide: a
    weighted-spatial variance of 0.010049 counts as 0.01 and a spatial one of 0.000126
    as 0.00013 (0.0001 at 4 decimals); per-frame values are rounded to 4 decimals first
    (0.30004 counts as 0.3). Unrounded, the score would read 59.21."""
    from wmbench.metrics.physics_iq import physics_iq_score, write_csv

    values = dict(st=0.30004, var_st=0.6, sp=0.0001, var_sp=0.000126, wsp=0.005, var_wsp=0.010049,
                  mse=0.01, var_mse=0.005)
    per_view = {(s, v): _flat_view(**values) for s in SCENARIOS for v in ref.VIEWS}
    csv = tmp_path / "scores.csv"
    write_csv(per_view, csv)
    scores = physics_iq_score(per_view)
    assert (scores["physics_iq_score"], scores["physical_variance"]) == ref.iq_score(csv) == (58.47, 0.6051)
    assert scores["physical_variance_terms"] == {"spatiotemporal_iou": 0.6, "spatial_iou": 0.00013,
                                                 "weighted_spatial_iou": 0.01, "mse": 0.005}
    v = values
    unrounded = 100 * ((v["st"] / v["var_st"] + v["sp"] / v["var_sp"] + v["wsp"] / v["var_wsp"]) / 3
                       - (v["mse"] - v["var_mse"]))
    assert round(unrounded, 2) == 59.21


def test_a_24_fps_submission_is_scored_against_the_30_fps_takes_converted(tmp_path):
    """As the official scripts do: the five seconds of each real take (150 frames) become
    120 frames, each a float32 blend of its two nearest source frames, truncated; masks
    are computed from the converted takes (the given 30 FPS masks do not apply)."""
    from wmbench.metrics.physics_iq import score_submission

    real, generated, masks = tmp_path / "real", tmp_path / "generated", tmp_path / "masks"
    for d in (real, generated, masks):
        d.mkdir()
    rng = np.random.default_rng(1)
    scenario = SCENARIOS[0]
    for n, view in enumerate(ref.VIEWS, 1):
        for take, speed in ((1, 0.5), (2, 0.55)):
            name = f"{n + 100 * (take - 1):04d}_testing-videos_30FPS_{view}_take-{take}_{scenario}"
            ref.write_video(real / name, _video(rng, speed, 3.0, frames=150), 30)
            ref.write_video(masks / name.replace("testing-videos", "video-masks"), [np.zeros((64, 96), np.uint8)] * 150,
                            30, is_color=False)
        ref.write_video(generated / f"{n:04d}_{view}_{scenario}", _video(rng, 0.4 + 0.2 * n, 2.0, frames=120), 24)
    summary, per_view = score_submission(generated, real, masks)
    assert (summary["fps"], summary["real_fps"], summary["frames"]) == (24, 30, 120)
    size = (24, 16)
    for n, view in enumerate(ref.VIEWS, 1):
        takes = [ref.convert_fps(next(real.glob(f"*_{view}_take-{k}_*")), 24) for k in (1, 2)]
        assert len(takes[0]) == 120 and not np.array_equal(takes[0][60], ref.read_frames(next(real.glob(
            f"*_{view}_take-1_*")), 61)[60])  # blended, not the first 120 frames
        ours = ref.read_frames(next(generated.glob(f"{n:04d}_*")), 120)
        small = [[cv2.resize(f, size) / 255.0 for f in frames] for frames in (*takes, ours)]
        masks_of = []
        for k, frames in enumerate((*takes, ours)):
            mask_file = tmp_path / f"{view}-{k}-masks.mp4"
            ref.write_video(mask_file, ref.masks_per_frame(frames), 24, is_color=False)
            masks_of.append([f > 127 for f in ref.read_frames(mask_file, 120, size)])
        got = per_view[scenario, view]
        assert got["variance_mse"] == pytest.approx(ref.mse_per_frame(small[0], small[1]), abs=1e-12)
        assert got["v1_mse"] == pytest.approx(ref.mse_per_frame(small[0], small[2]), abs=1e-12)
        assert got["variance_spatiotemporal_iou"] == pytest.approx(ref.iou_per_frame(masks_of[0], masks_of[1]))
        assert got["spatiotemporal_iou_v1"] == pytest.approx(ref.iou_per_frame(masks_of[0], masks_of[2]))
        assert got["variance_spatial"] == pytest.approx(ref.spatial(masks_of[0], masks_of[1]))
        assert got["variance_spatial"] < 1  # computed masks, not the empty 30 FPS ones


def test_the_command_on_the_cpu_imports_neither_torch_nor_torchmetrics(submission, tmp_path):
    import os
    import subprocess
    import sys

    code = (
        "import sys, contextlib, io\n"
        "from wmbench.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    assert main(['physics-iq', {str(submission['generated'])!r}, '--real', {str(submission['real'])!r}]) == 0\n"
        "print(sorted(m for m in ('torch', 'torchmetrics', 'torchvision', 'lightning') if m in sys.modules))\n"
    )
    env = dict(os.environ, WMBENCH_CACHE=str(tmp_path))  # the real takes are kept there
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert done.stdout.strip() == "[]"
    assert list((tmp_path / "physics-iq").glob("*.npz"))


def test_masks_computed_through_torch_in_chunks_equal_the_opencv_stream():
    """The path used with ``--device`` other than cpu: frames sent in chunks of 16, the
    background carried over, RGB for torch; the same masks as frame by frame."""
    from wmbench.metrics.motion_opencv import MotionMasks
    from wmbench.metrics.physics_iq.video import _device_masks

    frames = _video(np.random.default_rng(3), 2.5, 4.0, frames=40)
    stream = MotionMasks()
    expected = [stream.push(f) for f in frames]
    got = list(_device_masks(iter(frames), "cpu"))
    assert len(got) == 40 and all(np.array_equal(m, e) for (_, m), e in zip(got, expected))
    assert all(f is g for (f, _), g in zip(got, frames)) and sum(int(m.any()) for m in expected) > 20
