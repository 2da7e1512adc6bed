"""Offline predictions: export a split, score prediction files like an in-process run."""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pandas as pd
import pytest

from wmbench.errors import ManifestError, OutputError, PredictionsError, WmbenchError
from wmbench.results import load_result, write_result
from wmbench.run.offline import (
    MANIFEST_FILE,
    Selection,
    check_predictions,
    episode_id,
    export_split,
    load_manifest,
    read_frames,
    read_video,
    score_predictions,
    write_frames,
    write_video,
)
from wmbench.run.offline.export import export_episode
from wmbench.tasks import get_task, split_seeds

from ..conftest import run_and_record

EPISODES = 4


@pytest.fixture(scope="module")
def setup(tmp_path_factory, cache_dir):
    """In-process oracle and copy_last results, and an export, of the same 4 dev episodes."""
    from wmbench.run import Execution, RunSpec
    from wmbench.worlds import EpisodeCache

    root = tmp_path_factory.mktemp("offline")
    cache = EpisodeCache(cache_dir)
    task = get_task("drop_single")
    episodes = [cache.get(task, "dev", s) for s in split_seeds(task, "dev", EPISODES)]
    runs = {}
    for adapter in ("oracle", "copy_last"):
        spec = RunSpec(adapter=adapter, tasks=("drop_single",), split="dev", limit=EPISODES)
        run_and_record(spec, root / adapter, cache, Execution(progress=False))
        runs[adapter] = {r["seed"]: r["metrics"] for r in load_result(root / adapter).rows}
    manifest = export_split(Selection(tasks=("drop_single",), split="dev", limit=EPISODES), root / "export", cache)
    return {"root": root, "cache": cache, "episodes": episodes, "runs": runs, "manifest": manifest,
            "export": root / "export"}


def _write(directory, eid, frames, fps, as_video):
    if as_video:
        write_video(directory / f"{eid}.mkv", frames, fps)
    else:
        write_frames(directory / eid, frames)


def _oracle_predictions(setup, directory):
    """The true future of each episode: the first two as PNG frames, the others as FFV1 videos."""
    directory.mkdir()
    for i, episode in enumerate(setup["episodes"]):
        _write(directory, episode_id(episode.content_hash()), episode.future_frames, episode.fps, i >= 2)
    return directory


def _score(setup, predictions, out, name="model"):
    return write_result(score_predictions(setup["export"] / MANIFEST_FILE, predictions, out, setup["cache"], name))


def _per_seed(out):
    return {r["seed"]: r["metrics"] for r in load_result(out).rows}


def test_oracle_files_score_exactly_the_in_process_oracle(setup, tmp_path):
    predictions = _oracle_predictions(setup, tmp_path / "oracle")
    record = _score(setup, predictions, tmp_path / "result", "oracle-files")
    offline = _per_seed(tmp_path / "result")
    assert offline == setup["runs"]["oracle"]  # exact, PNG and FFV1 video alike (both lossless)
    assert set(offline) == {e.seed for e in setup["episodes"]}
    assert all(m["mse"] == 0.0 and m["psnr"] == 100.0 for m in offline.values())
    assert record["adapter"]["name"] == "oracle-files"
    assert record["adapter"]["offline"] is True and record["adapter"]["privileged"] is False
    assert record["speed"]["drop_single"]["measured"] is False and "offline" in record["speed"]["drop_single"]["reason"]
    assert record["execution"]["formats"] == ["mkv", "png"]
    assert record["aggregates"]["drop_single"]["latency_ms_per_episode"]["p50"] is None
    assert all(r["latency_ms"] is None for r in load_result(tmp_path / "result").rows)
    assert record["tasks"][0]["episodes"] == [{"seed": e.seed, "episode_hash": e.content_hash()}
                                              for e in setup["episodes"]]


def test_copy_last_made_from_the_export_scores_the_in_process_copy_last(setup, tmp_path):
    """A model that only sees the export (context PNGs or video) repeats the last frame."""
    predictions = tmp_path / "copy_last"
    predictions.mkdir()
    for i, entry in enumerate(setup["manifest"]["episodes"]):
        context = entry["context"]
        if i % 2:
            frames = read_video(setup["export"] / context["video"])
        else:
            frames = read_frames(sorted((setup["export"] / context["frames_dir"]).iterdir()))
        assert len(frames) == entry["context_frames"]
        repeated = np.repeat(frames[-1:], entry["horizon"], axis=0)
        _write(predictions, entry["id"], repeated, entry["fps"], as_video=i >= 2)
    _score(setup, predictions, tmp_path / "result")
    offline = _per_seed(tmp_path / "result")
    assert offline == setup["runs"]["copy_last"]
    assert all(0 < m["mse"] < 0.1 for m in offline.values())


def test_scoring_workers_give_the_same_rows(setup, tmp_path):
    predictions = _oracle_predictions(setup, tmp_path / "oracle")
    args = (setup["export"] / MANIFEST_FILE, predictions)
    record = write_result(score_predictions(*args, tmp_path / "pooled", setup["cache"], batch_size=1, workers=2))
    assert _per_seed(tmp_path / "pooled") == setup["runs"]["oracle"]
    assert record["execution"]["scoring_workers"] == 2
    with pytest.raises(WmbenchError, match="scoring workers score on the CPU: --workers 2 cannot be combined with "
                                           "--device cuda"):
        score_predictions(*args, tmp_path / "gpu", setup["cache"], device="cuda", workers=2)


def test_offline_scoring_reads_the_references_the_in_process_runs_cached(setup, tmp_path, monkeypatch):
    from wmbench.metrics import references

    measured, measure = [], references.measured_references
    monkeypatch.setattr(references, "measured_references", lambda m, t: measured.append(m) or measure(m, t))
    _score(setup, _oracle_predictions(setup, tmp_path / "oracle"), tmp_path / "result")
    assert measured == []
    offline = {r["seed"]: r["references"] for r in load_result(tmp_path / "result").rows}
    assert offline == {r["seed"]: r["references"] for r in load_result(setup["root"] / "oracle").rows}


def test_export_and_score_from_the_command_line(setup, tmp_path, cli):
    code, out, _ = cli("export", "--tasks", "drop_single", "--limit", "2", "--resolution", "64",
                       "--out", tmp_path / "export", "--no-progress")
    assert code == 0 and f"{get_task('drop_single').id}: 2 episodes, predict 16 frames of 64x64 at 30 fps" in out
    manifest = load_manifest(tmp_path / "export")
    assert {(e["width"], e["height"]) for e in manifest["episodes"]} == {(64, 64)}
    task = get_task("drop_single").with_overrides(resolution=64)
    predictions = tmp_path / "preds"
    predictions.mkdir()
    for seed in split_seeds(task, "dev", 2):
        episode = setup["cache"].get(task, "dev", seed)
        write_video(predictions / f"{episode_id(episode.content_hash())}.mkv", episode.future_frames, 30)
    code, out, _ = cli("score", "--manifest", tmp_path / "export" / MANIFEST_FILE, "--predictions", predictions,
                       "--out", tmp_path / "result", "--adapter-name", "my-api-model", "--no-progress")
    assert code == 0 and "my-api-model on dev" in out
    assert re.search(r"\| drop_single \|\s+2 \|\s+0 \|\s+100 \|\s+100 \|", out)  # episodes, failed, indices
    result = load_result(tmp_path / "result")
    assert result.adapter == "my-api-model" and not result.privileged and len(result.rows) == 2
    assert result.record["tasks"][0]["resolution"] == 64
    code, _, _ = cli("leaderboard", tmp_path / "result", "--out", tmp_path / "board")
    board = pd.read_csv(tmp_path / "board" / "leaderboard.csv").set_index("model")
    assert code == 0 and board.loc["my-api-model", "fidelity"] == 100.0  # the true future, normalised
    assert board.loc["my-api-model", "device"] == "offline: not measured"
    header, row = (tmp_path / "board" / "details.csv").read_text().splitlines()
    assert row.startswith("my-api-model,False,,,dev,0.0,100.0,")
    assert header.endswith("drop_single/latency_ms") and row.endswith(",")  # speed missing, not 0
    code, _, err = cli("score", "--manifest", tmp_path / "export" / MANIFEST_FILE, "--predictions", predictions,
                       "--out", tmp_path / "result")
    assert code == 2 and f"result directory {tmp_path / 'result'} is not empty" in err
    code, _, err = cli("export", "--tasks", "drop_single", "--limit", "1", "--out", tmp_path / "export")
    assert code == 2 and f"export directory {tmp_path / 'export'} is not empty" in err


@pytest.mark.parametrize("stored, channels", [("grey", 1), ("rgba", 4)])
def test_grey_and_rgba_frames_are_read_as_rgb(tmp_path, stored, channels):
    import cv2

    rgb = np.random.default_rng(1).integers(0, 256, size=(8, 12, 3), dtype=np.uint8)
    if stored == "grey":
        rgb[:] = rgb[..., :1]
    image = rgb[..., :1] if channels == 1 else np.dstack([rgb[..., ::-1], np.full((8, 12), 7, np.uint8)])
    cv2.imwrite(str(tmp_path / "0000.png"), image)
    assert np.array_equal(read_frames([tmp_path / "0000.png"])[0], rgb)


def test_sixteen_bit_frames_are_refused(setup, tmp_path):
    import cv2

    predictions = _oracle_predictions(setup, tmp_path / "preds")
    eid = episode_id(setup["episodes"][0].content_hash())
    cv2.imwrite(str(predictions / eid / "0002.png"), np.zeros((128, 128, 3), np.uint16))
    with pytest.raises(PredictionsError, match=f"{eid}/0002.png: corrupt \\(has uint16 pixels, expected 8-bit\\)"):
        check_predictions(setup["manifest"], predictions)


def _corrupt_video(directory, eid):
    (directory / f"{eid}.mkv").write_bytes(b"\x1aE\xdf\xa3 this is not a video" * 10)


def _corrupt_png(directory, eid):
    (directory / eid / "0003.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")


def _short_video(directory, eid):
    frames = read_video(directory / f"{eid}.mkv")
    write_video(directory / f"{eid}.mkv", frames[:-1], 30)


def _long_frames(directory, eid):
    shutil.copy(directory / eid / "0015.png", directory / eid / "0016.png")


def _small_video(directory, eid):
    frames = read_video(directory / f"{eid}.mkv")
    write_video(directory / f"{eid}.mkv", np.ascontiguousarray(frames[:, :64, :96]), 30)


def _small_frames(directory, eid):
    frames = read_frames(sorted((directory / eid).iterdir()))
    shutil.rmtree(directory / eid)
    write_frames(directory / eid, np.ascontiguousarray(frames[:, :, :100]))


def _one_small_frame(directory, eid):
    write_frames(directory / "tmp", np.zeros((1, 64, 64, 3), np.uint8))
    (directory / "tmp" / "0000.png").replace(directory / eid / "0005.png")
    (directory / "tmp").rmdir()


def _truncated_video(directory, eid):
    path = directory / f"{eid}.mkv"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 3])


def _gap(directory, eid):
    (directory / eid / "0004.png").rename(directory / eid / "0020.png")


@pytest.mark.parametrize("index, damage, words", [
    (0, lambda d, eid: shutil.rmtree(d / eid), "{id}: missing (expected {id}.mkv"),
    (0, lambda d, eid: (d / "notes.txt").write_text("hi"), "notes.txt: extra (no episode of the manifest has this id)"),
    (0, lambda d, eid: (d / "0123456789abcdef").mkdir(), "0123456789abcdef/: extra"),
    (2, lambda d, eid: write_frames(d / eid, read_video(d / f"{eid}.mkv")), "{id}: given 2 times ({id}, {id}.mkv)"),
    (0, lambda d, eid: (d / f"{eid}.gif").write_text(""), "{id}.gif: extra (not an accepted format"),
    (0, lambda d, eid: (d / eid / "notes.txt").write_text(""), "{id}/notes.txt: extra"),
    (2, _corrupt_video, "{id}.mkv: corrupt (cannot be opened as a video)"),
    (0, _corrupt_png, "{id}/0003.png: corrupt (cannot be decoded as an image)"),
    (2, _short_video, "{id}.mkv: 15 frames, expected 16"),
    (0, _long_frames, "{id}/: 17 frames, expected 16"),
    (2, _small_video, "{id}.mkv: 96x64 pixels, expected 128x128"),
    (0, _small_frames, "{id}/: 100x128 pixels, expected 128x128"),
    (0, _one_small_frame, "{id}/0005.png: 64x64 pixels, expected 128x128"),
    (2, _truncated_video, "{id}.mkv: "),  # fewer frames or corrupt, depending on the decoder
    (0, _gap, "{id}/: frames must be numbered from 0000.png without gaps; missing 0004.png"),
], ids=["missing", "extra-file", "extra-dir", "twice", "bad-format", "extra-in-frames", "corrupt-video",
        "corrupt-png", "short-video", "long-frames", "small-video", "small-frames", "one-small-frame",
        "truncated-video", "gap"])
def test_each_bad_prediction_is_reported_by_name(setup, tmp_path, index, damage, words):
    predictions = _oracle_predictions(setup, tmp_path / "preds")
    eid = episode_id(setup["episodes"][index].content_hash())
    check_predictions(setup["manifest"], predictions)  # intact: passes
    damage(predictions, eid)
    with pytest.raises(PredictionsError) as info:
        check_predictions(setup["manifest"], predictions)
    assert words.format(id=eid) in str(info.value)
    assert len(info.value.problems) == 1 and "\n" not in str(info.value)


def test_every_problem_is_listed_in_one_error_and_nothing_is_scored(setup, tmp_path, cli):
    predictions = _oracle_predictions(setup, tmp_path / "preds")
    ids = [episode_id(e.content_hash()) for e in setup["episodes"]]
    shutil.rmtree(predictions / ids[0])                     # missing
    _corrupt_png(predictions, ids[1])                       # corrupt
    _short_video(predictions, ids[2])                       # wrong length
    _small_video(predictions, ids[3])                       # wrong resolution
    (predictions / "extra.mkv").write_bytes(b"")            # extra
    code, _, err = cli("score", "--manifest", setup["export"] / MANIFEST_FILE, "--predictions", predictions,
                       "--out", tmp_path / "result")
    line = err.strip().splitlines()[-1]
    assert code == 2 and line.startswith(f"wmbench: error: predictions in {predictions}: 5 problems, nothing scored")
    for words in (f"{ids[0]}: missing", f"{ids[1]}/0003.png: corrupt", f"{ids[2]}.mkv: 15 frames, expected 16",
                  f"{ids[3]}.mkv: 96x64 pixels", "extra.mkv: extra"):
        assert words in line
    assert not (tmp_path / "result").exists()


def test_export_holds_the_context_and_nothing_else(setup):
    export, manifest = setup["export"], setup["manifest"]
    by_id = {episode_id(e.content_hash()): e for e in setup["episodes"]}
    assert [e["id"] for e in manifest["episodes"]] == sorted(by_id)
    files = [p for p in export.rglob("*") if p.is_file()]
    for entry in manifest["episodes"]:
        episode = by_id[entry["id"]]
        assert (entry["horizon"], entry["width"], entry["height"], entry["fps"]) == (16, 128, 128, 30.0)
        pngs = sorted((export / entry["context"]["frames_dir"]).iterdir())
        video = read_video(export / entry["context"]["video"])
        assert [p.name for p in pngs] == [f"{i:04d}.png" for i in range(8)]
        assert np.array_equal(read_frames(pngs), episode.context_frames)
        assert np.array_equal(video, episode.context_frames)  # FFV1: lossless
        exported = np.concatenate([read_frames(pngs), video])
        assert not any(np.array_equal(f, g) for f in exported for g in episode.future_frames)
        assert entry["actions"] is None
    assert len(files) == 1 + EPISODES * (1 + 8)  # manifest, and per episode a video and 8 PNGs
    text = (export / MANIFEST_FILE).read_text()
    keys = set()

    def walk(value):
        if isinstance(value, dict):
            keys.update(value)
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)
    walk(json.loads(text))
    assert not keys & {"seed", "seeds", "states", "params", "pixels", "visibility", "ensemble", "meta", "future"}
    for episode in setup["episodes"]:
        seed = str(episode.seed).encode()
        assert episode_id(episode.content_hash()) != str(episode.seed)
        assert all(seed not in p.read_bytes() for p in files)


def test_actions_are_exported_as_given_to_adapters(setup, tmp_path):
    episode = setup["episodes"][0]
    actions = np.random.default_rng(0).normal(size=(episode.context + episode.horizon - 1, 2)).astype(np.float32)
    episode.truth.actions = actions
    try:
        entry = export_episode(episode, tmp_path)
    finally:
        episode.truth.actions = None
    data = json.loads((tmp_path / entry["actions"]).read_text())
    given = np.asarray(data["actions"], dtype=np.float32)
    assert data["shape"] == [episode.context + episode.horizon - 1, 2] and data["episode"] == entry["id"]
    assert np.array_equal(given, actions)  # float32 values survive JSON exactly


def test_manifest_problems(setup, tmp_path):
    manifest = json.loads((setup["export"] / MANIFEST_FILE).read_text())
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(dict(manifest, format="other")))
    with pytest.raises(ManifestError, match=f"{bad}: field 'format'"):
        load_manifest(bad)
    broken = json.loads(json.dumps(manifest))
    del broken["episodes"][1]["horizon"]
    bad.write_text(json.dumps(broken))
    with pytest.raises(ManifestError, match=r"field 'episodes\[1\].horizon' must be int"):
        load_manifest(bad)
    tampered = json.loads(json.dumps(manifest))
    tampered["episodes"][0]["content_hash"] = "0" * 64
    bad.write_text(json.dumps(tampered))
    predictions = _oracle_predictions(setup, tmp_path / "preds")
    with pytest.raises(ManifestError, match=f"episode {tampered['episodes'][0]['id']} .* is not an episode"):
        score_predictions(bad, predictions, tmp_path / "result", setup["cache"])
    with pytest.raises(OutputError, match="is not empty"):
        export_split(Selection(tasks=("drop_single",), limit=1), setup["export"], setup["cache"])


def test_hidden_test_split_needs_the_same_secret_to_score(setup, tmp_path, monkeypatch):
    from wmbench.errors import MissingSecretError
    from wmbench.tasks.seeds import SECRET_ENV

    monkeypatch.delenv(SECRET_ENV, raising=False)
    secret = "a-secret-kept-by-the-maintainers"
    manifest = export_split(Selection(tasks=("drop_single",), split="test", limit=1), tmp_path / "export",
                            setup["cache"], test_secret=secret)
    assert secret not in (tmp_path / "export" / MANIFEST_FILE).read_text()
    task = get_task("drop_single")
    episode = setup["cache"].get(task, "test", split_seeds(task, "test", 1, secret)[0])
    assert manifest["episodes"][0]["id"] == episode_id(episode.content_hash())
    predictions = tmp_path / "preds"
    write_frames(predictions / manifest["episodes"][0]["id"], episode.future_frames)
    args = (tmp_path / "export", predictions)
    record = write_result(score_predictions(*args, tmp_path / "ok", setup["cache"], test_secret=secret))
    assert record["aggregates"]["drop_single"]["metrics"]["psnr"]["mean"] == 100.0
    with pytest.raises(MissingSecretError):
        score_predictions(*args, tmp_path / "none", setup["cache"])
    with pytest.raises(ManifestError, match="is not an episode this wmbench generates"):
        score_predictions(*args, tmp_path / "wrong", setup["cache"], test_secret="another secret")
