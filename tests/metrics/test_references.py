"""The reference cache: each episode's references are measured once and read back with
exactly the values measured without it; entries of other code, other episodes or
damaged ones are never used."""

from __future__ import annotations

import dataclasses
import json
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from wmbench.cache_files import CacheWarning
from wmbench.errors import CacheError
from wmbench.metrics import METRICS, Truth, references
from wmbench.metrics.references import ReferenceCache, fingerprint, scoring_context
from wmbench.metrics.scoring import score_episodes
from wmbench.results import load_result
from wmbench.run.data import collate
from wmbench.tasks import get_task, split_seeds
from wmbench.worlds import EpisodeCache

NAMES = ("mse", "psnr", "permanence")  # permanence: a violation anchor, so its variance only
MEMBERS = 8  # drop_single's ensemble
SHAPE = "16x32x32"  # drop_single's horizon at 32 pixels


@pytest.fixture(scope="module")
def episodes(cache_dir):
    task = get_task("drop_single").with_overrides(resolution=32)
    return [EpisodeCache(cache_dir).get(task, "dev", s) for s in split_seeds(task, "dev", 2)]


def truth_of(episodes) -> Truth:
    """A fresh batch (nothing memoised)."""
    batch = collate(episodes)
    return Truth(frames=batch.future.float() / 255, context=batch.context.float() / 255, episodes=episodes)


def prediction(episodes) -> torch.Tensor:
    return truth_of(episodes).frames.roll(1, dims=1)


def counted(names, calls: list) -> dict:
    """Fresh metrics whose ``score`` calls are appended to ``calls`` as ``(name, pred)``."""
    metrics = {n: METRICS[n]() for n in names}
    for name, metric in metrics.items():

        def spy(pred, truth, score=metric.score, name=name):
            calls.append((name, pred))
            return score(pred, truth)

        metric.score = spy
    return metrics


def score(names, episodes, refs, calls=None) -> list[dict]:
    return score_episodes(
        counted(names, [] if calls is None else calls), prediction(episodes), truth_of(episodes), refs
    )


def entry_path(refs: ReferenceCache, episode) -> Path:
    return refs.path(fingerprint(scoring_context(torch.device("cpu"))), episode.content_hash(), (16, 32, 32))


@pytest.fixture
def fresh_fingerprint():
    fingerprint.cache_clear()
    yield
    fingerprint.cache_clear()


def test_second_batch_reads_every_reference_and_scores_only_the_prediction(tmp_path, episodes):
    refs, calls = ReferenceCache(tmp_path), []
    first = score(NAMES, episodes, refs, calls)
    assert len(calls) == len(NAMES) + 2 + len(NAMES) * MEMBERS  # prediction, frozen (mse, psnr), members
    uncached = score(NAMES, episodes, None)
    assert first == uncached  # exactly
    calls.clear()
    pred, truth = prediction(episodes), truth_of(episodes)
    second = score_episodes(counted(NAMES, calls), pred, truth, refs)
    assert second == first
    assert [name for name, _ in calls] == list(NAMES) and all(p is pred for _, p in calls)  # no reference scored
    directory = tmp_path / "references" / fingerprint(scoring_context(torch.device("cpu")))
    assert sorted(p.name for p in directory.iterdir()) == sorted(f"{e.content_hash()}-{SHAPE}.json" for e in episodes)
    for episode, row in zip(episodes, first):
        entry = json.loads(entry_path(refs, episode).read_text())
        assert entry["episode_hash"] == episode.content_hash() and entry["shape"] == [16, 32, 32]
        assert entry["frozen"] == {n: row["references"]["frozen"][n] for n in ("mse", "psnr")}
        assert entry["variance"] == row["references"]["variance"]
    assert all(r["references"]["frozen"]["permanence"] == METRICS["permanence"].violation_anchor for r in second)


def test_scoring_runs_on_one_thread_whatever_the_caller_set(episodes):
    """So the cached references are the same numbers whichever command measured them
    (float32 reductions split over threads round differently)."""
    import cv2

    seen = []
    metrics = {"mse": METRICS["mse"]()}
    metrics["mse"].score = lambda pred, truth, score=metrics["mse"].score: (
        seen.append((torch.get_num_threads(), cv2.getNumThreads())) or score(pred, truth)
    )
    torch_before, cv2_before = torch.get_num_threads(), cv2.getNumThreads()
    torch.set_num_threads(2)
    cv2.setNumThreads(2)
    try:
        score_episodes(metrics, prediction(episodes), truth_of(episodes), None)
        assert (torch.get_num_threads(), cv2.getNumThreads()) == (2, 2)  # restored after
    finally:
        torch.set_num_threads(torch_before)
        cv2.setNumThreads(cv2_before)
    assert seen and set(seen) == {(1, 1)}  # the prediction, the frozen world and every rollout


def test_missing_references_are_stored_as_null_and_read_back_as_missing(tmp_path, episodes):
    alone = [dataclasses.replace(e, ensemble=[]) for e in episodes]  # no ensemble: no variance
    refs = ReferenceCache(tmp_path)
    first = score(NAMES, alone, refs)
    assert all(v is None for r in first for v in r["references"]["variance"].values())
    assert json.loads(entry_path(refs, alone[0]).read_text())["variance"] == {n: None for n in NAMES}
    calls = []
    assert score(NAMES, alone, refs, calls) == first == score(NAMES, alone, None)
    assert len(calls) == len(NAMES)


def test_fixed_references_are_not_stored(tmp_path, episodes):
    refs = ReferenceCache(tmp_path)
    rows = score(("mse", "voe_pairwise_accuracy"), episodes, refs)
    assert [r["references"]["frozen"]["voe_pairwise_accuracy"] for r in rows] == [0.5, 0.5]
    entry = json.loads(entry_path(refs, episodes[0]).read_text())
    assert set(entry["frozen"]) == set(entry["variance"]) == {"mse"}


def test_entry_of_another_fingerprint_or_episode_is_not_used(tmp_path, episodes):
    refs = ReferenceCache(tmp_path)
    expected = score(NAMES, episodes, refs)
    path, other = entry_path(refs, episodes[0]), entry_path(refs, episodes[1])
    stale = json.loads(path.read_text())
    stale.update(fingerprint="0" * 64, variance={n: 123.0 for n in NAMES})
    path.write_text(json.dumps(stale))
    with pytest.warns(CacheWarning, match=re.escape(str(path)) + " holds other references: fingerprint '0000"):
        assert score(NAMES, episodes, refs) == expected
    path.write_bytes(other.read_bytes())  # the other episode's entry, valid but misplaced
    with pytest.warns(CacheWarning, match="holds other references: episode_hash"):
        assert score(NAMES, episodes, refs) == expected
    assert json.loads(path.read_text())["episode_hash"] == episodes[0].content_hash()  # repaired


def test_other_code_versions_or_devices_are_other_directories(tmp_path, episodes, monkeypatch, fresh_fingerprint):
    cpu = scoring_context(torch.device("cpu"))
    source = tmp_path / "metric.py"
    source.write_text("A = 1\n")
    monkeypatch.setattr(references, "SOURCES", (*references.SOURCES, source))
    before = fingerprint(cpu)
    refs = ReferenceCache(tmp_path / "cache")
    expected = score(NAMES, episodes, refs)
    source.write_text("A = 2\n")  # the scoring code changed
    fingerprint.cache_clear()
    assert fingerprint(cpu) != before
    calls = []
    assert score(NAMES, episodes, refs, calls) == expected
    assert len(calls) == len(NAMES) + 2 + len(NAMES) * MEMBERS  # measured again
    assert len(list((tmp_path / "cache" / "references").iterdir())) == 2
    monkeypatch.setattr("wmbench.__version__", "0.0.0-other")
    fingerprint.cache_clear()
    assert len({fingerprint(cpu), fingerprint(cpu.replace("cpu", "cuda", 1)), before}) == 3


def edited(data: bytes, edit) -> bytes:
    entry = json.loads(data)
    edit(entry)
    return json.dumps(entry).encode()


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda data: np.random.default_rng(0).bytes(len(data)), id="garbage"),
        pytest.param(lambda data: data[: len(data) // 2], id="truncated"),
        pytest.param(lambda data: b"", id="empty"),
        pytest.param(lambda data: b"[1, 2]", id="not-an-object"),
        pytest.param(lambda data: edited(data, lambda e: e["variance"].update(mse="0.01")), id="string-value"),
        pytest.param(lambda data: edited(data, lambda e: e["frozen"].update(psnr=True)), id="boolean-value"),
        pytest.param(
            lambda data: edited(data, lambda e: e.update(variance=list(e["variance"].values()))), id="list-of-values"
        ),
    ],
)
def test_damaged_entry_warns_and_is_recomputed(tmp_path, episodes, damage):
    refs = ReferenceCache(tmp_path)
    expected = score(NAMES, episodes, refs)
    path = entry_path(refs, episodes[0])
    data = path.read_bytes()
    damaged = damage(data)
    assert damaged != data
    path.write_bytes(damaged)
    with pytest.warns(CacheWarning, match=re.escape(str(path)) + " is corrupt"):
        assert score(NAMES, episodes, refs) == expected
    assert path.read_bytes() == data  # rewritten, the same values
    assert not [p for p in path.parent.iterdir() if p.suffix == ".tmp"]


def test_an_added_metric_is_measured_alone_and_the_others_kept(tmp_path, episodes):
    refs, calls = ReferenceCache(tmp_path), []
    before = score(("mse", "psnr"), episodes, refs)
    rows = score(("mse", "psnr", "ssim"), episodes, refs, calls)
    assert [n for n, _ in calls].count("ssim") == 1 + 1 + MEMBERS  # prediction, frozen, members
    assert [n for n, _ in calls if n != "ssim"] == ["mse", "psnr"]  # their predictions only
    uncached = score(("mse", "psnr", "ssim"), episodes, None)
    assert rows == uncached
    for kind in ("frozen", "variance"):
        assert [{n: r["references"][kind][n] for n in ("mse", "psnr")} for r in rows] == [
            r["references"][kind] for r in before
        ]
    entry = json.loads(entry_path(refs, episodes[1]).read_text())
    assert set(entry["frozen"]) == set(entry["variance"]) == {"mse", "psnr", "ssim"}
    calls.clear()
    assert score(("psnr",), episodes, refs, calls)[0]["references"]["variance"] == {
        "psnr": rows[0]["references"]["variance"]["psnr"]
    }
    assert len(calls) == 1 and set(json.loads(entry_path(refs, episodes[1]).read_text())["variance"]) == {
        "mse",
        "psnr",
        "ssim",
    }


def test_unwritable_cache_is_a_clear_error(tmp_path, episodes):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(CacheError, match=f"cache directory {blocker / 'c'} is not writable"):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # absent, not corrupt
            score(NAMES, episodes, ReferenceCache(blocker / "c"))
    assert ReferenceCache.alongside(EpisodeCache(None)) is None
    assert ReferenceCache.alongside(EpisodeCache(tmp_path)).root == tmp_path


def test_a_rerun_of_another_adapter_reuses_the_references(cli, tmp_path, monkeypatch):
    measured, measure = [], references.measured_references
    monkeypatch.setattr(references, "measured_references", lambda m, t: measured.append(set(m)) or measure(m, t))
    selection = (
        "--tasks",
        "drop_single",
        "--limit",
        3,
        "--resolution",
        32,
        "--batch-size",
        2,
        "--no-progress",
        "--logger",
        "none",
    )
    cache = tmp_path / "cache"

    def run(adapter, out, *where):
        code, _, err = cli("run", "--adapter", adapter, *selection, "--out", tmp_path / out, *where)
        assert code == 0, err
        return {r["seed"]: r["references"] for r in load_result(tmp_path / out).rows}

    first = run("copy_last", "first", "--cache", cache)
    assert len(measured) == 2 and "mse" in measured[0]  # two batches
    assert len(list((cache / "references").rglob("*.json"))) == 3
    measured.clear()
    again = run("oracle", "again", "--cache", cache)
    assert measured == []
    assert again == first == run("oracle", "uncached", "--no-cache")
    assert len(measured) == 2  # without a cache: measured again
    assert len(first) == 3 and all(r["variance"]["mse"] > 0 for r in first.values())


def test_references_measured_ahead_by_generate_are_read_by_runs(cli, tmp_path, monkeypatch):
    """`wmbench generate --references` measures each episode alone; a run then measures
    nothing, and its references equal an uncached run's (to float32 batching effects)."""
    measured, measure = [], references.measured_references
    monkeypatch.setattr(
        references, "measured_references", lambda m, t: measured.append(len(t.episodes)) or measure(m, t)
    )
    cache = tmp_path / "cache"
    code, _, err = cli(
        "generate",
        "drop_single",
        "--limit",
        3,
        "--resolution",
        32,
        "--references",
        "--workers",
        1,
        "--cache",
        cache,
        "--no-progress",
    )
    assert code == 0, err
    assert measured == [1, 1, 1] and len(list((cache / "references").rglob("*.json"))) == 3
    selection = ("--tasks", "drop_single", "--limit", 3, "--resolution", 32, "--no-progress", "--logger", "none")
    code, _, err = cli("run", "--adapter", "copy_last", *selection, "--cache", cache, "--out", tmp_path / "ahead")
    assert code == 0, err
    assert measured == [1, 1, 1]  # the run measured nothing
    code, _, err = cli("run", "--adapter", "copy_last", *selection, "--no-cache", "--out", tmp_path / "inline")
    assert code == 0, err
    ahead, inline = (load_result(tmp_path / d).rows for d in ("ahead", "inline"))
    for a, b in zip(ahead, inline):
        for kind in ("frozen", "variance"):
            assert a["references"][kind].keys() == b["references"][kind].keys()
            for name, value in b["references"][kind].items():
                assert (a["references"][kind][name] is None) == (value is None)
                if value is not None:
                    assert a["references"][kind][name] == pytest.approx(value, rel=1e-6, abs=1e-12), name


def test_measuring_ahead_needs_a_cache(cli):
    code, _, err = cli("generate", "drop_single", "--limit", 1, "--references", "--no-cache", "--no-progress")
    assert code == 2 and "cannot be measured ahead with --no-cache" in err
