"""Released datasets: written content-addressed, readable without wmbench, evaluated on
their exact bytes, verified by regeneration, and the reference for --verify."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pyarrow.parquet as pq
import pytest

from wmbench.errors import ReleaseError, ResultError
from wmbench.results import load_result, verify_result, write_result
from wmbench.run import Execution, RunSpec, evaluate
from wmbench.tasks import builtin_suites, get_suite, get_task
from wmbench.worlds import EpisodeCache
from wmbench.worlds.release import (
    MANIFEST_FILE,
    Release,
    Selection,
    content_address,
    load_manifest,
    published_manifest,
    verify_release,
    write_release,
)

from ..golden_hashes import load as load_golden

TASKS = ("drop_single", "push_single")


@pytest.fixture(scope="module")
def release(tmp_path_factory, cache_dir):
    out = tmp_path_factory.mktemp("release") / "smoke-part"
    selection = Selection(
        tuple(get_task(n) for n in TASKS), "dev", limit=2, suite={"name": "part", "version": 1, "description": ""}
    )
    write_release(selection, out, EpisodeCache(cache_dir), progress=False)
    return out


def _edited_manifest(release, tmp_path, edit) -> dict:
    manifest = json.loads((release / MANIFEST_FILE).read_text())
    edit(manifest)
    manifest["content_sha256"] = content_address(manifest["split"], manifest["inputs_only"], manifest["tasks"])
    return manifest


def test_the_manifest_lists_every_episode_by_content_hash(release, cache_dir):
    manifest = load_manifest(release)
    cache = EpisodeCache(cache_dir)
    assert manifest["release"] == f"part@1-dev-{manifest['content_sha256'][:12]}"
    assert [t["id"] for t in manifest["tasks"]] == [get_task(n).id for n in TASKS]
    for record in manifest["tasks"]:
        task = get_task(record["name"])
        assert record["definition_sha256"] == task.definition_hash()
        assert [e["index"] for e in record["episodes"]] == [0, 1]
        for entry in record["episodes"]:
            assert entry["episode_hash"] == cache.get(task, "dev", entry["seed"]).content_hash()
    assert manifest["generator"]["pymunk"] and (release / "README.md").read_text().startswith("---\nlicense:")


def test_the_hugging_face_datasets_library_reads_a_task(release, cache_dir, tmp_path):
    datasets = pytest.importorskip("datasets")
    # its own cache: the library keys a dataset by the folder's name, not by the files' contents
    rows = datasets.load_dataset(str(release), "push_single", split="dev", cache_dir=str(tmp_path / "hf"))
    assert len(rows) == 2
    episode = EpisodeCache(cache_dir).get(get_task("push_single"), "dev", rows[1]["seed"])
    row = rows[1]
    np.testing.assert_array_equal(np.asarray(row["frames"][7]), episode.frames[7])
    np.testing.assert_array_equal(np.asarray(row["instance_ids"][7]), episode.truth.instance_ids[7])
    np.testing.assert_array_equal(np.asarray(row["states"]), episode.truth.states)
    np.testing.assert_array_equal(np.asarray(row["actions"], np.float32), episode.truth.actions)
    assert row["episode_hash"] == episode.content_hash() and json.loads(row["meta"]) == episode.meta


def test_a_release_serves_the_exact_episodes(release, cache_dir):
    source = Release(release)
    task = source.tasks[0]
    for seed in source.seeds(task):
        assert (
            source.get(task, "dev", seed).content_hash()
            == EpisodeCache(cache_dir).get(get_task(task.name), "dev", seed).content_hash()
        )
    with pytest.raises(ReleaseError, match="holds no dev episode of drop_single@.* with seed 5"):
        source.get(task, "dev", 5)


def test_a_run_on_the_release_equals_a_run_on_regenerated_episodes(release, cache_dir, tmp_path):
    execution = Execution(progress=False, logger="none")
    source = Release(release)
    on_release = write_result(
        evaluate(
            RunSpec(adapter="copy_last", tasks=("drop_single",), data=source.manifest["release"]),
            tmp_path / "release",
            EpisodeCache(cache_dir),
            execution,
            release=source,
        )
    )
    regenerated = write_result(
        evaluate(
            RunSpec(adapter="copy_last", tasks=("drop_single",), limit=2),
            tmp_path / "regenerated",
            EpisodeCache(cache_dir),
            execution,
        )
    )
    assert on_release["headline"] == regenerated["headline"]
    for timed in (on_release, regenerated):  # every metric, not the adapter's latency
        timed["aggregates"]["drop_single"].pop("latency_ms_per_episode")
    assert on_release["aggregates"] == regenerated["aggregates"]
    assert [e["episode_hash"] for e in on_release["tasks"][0]["episodes"]] == [
        e["episode_hash"] for e in regenerated["tasks"][0]["episodes"]
    ]
    assert verify_result(load_result(tmp_path / "release"), EpisodeCache(cache_dir), load_manifest(release)) == 2


def test_verification_names_the_task_episode_and_both_hashes(release, tmp_path):
    def corrupt(manifest):
        manifest["tasks"][1]["episodes"][1]["episode_hash"] = "f" * 64

    manifest = _edited_manifest(release, tmp_path, corrupt)
    checks = verify_release(load_manifest(release), release, progress=False)
    assert all(c.ok for c in checks) and [c.episodes for c in checks] == [2, 2]
    checks = verify_release(manifest, release, progress=False)
    assert [c.ok for c in checks] == [True, False]
    (mismatch,) = checks[1].mismatches
    assert mismatch["index"] == 1 and mismatch["released"] == "f" * 64 and len(mismatch["regenerated"]) == 64


def test_a_result_that_differs_from_the_release_is_rejected(release, cache_dir, tmp_path):
    source = Release(release)
    write_result(
        evaluate(
            RunSpec(adapter="copy_last", tasks=("drop_single",), limit=1),
            tmp_path / "run",
            EpisodeCache(cache_dir),
            Execution(progress=False, logger="none"),
        )
    )
    seed = source.seeds(source.tasks[0])[0]

    def corrupt(manifest):
        manifest["tasks"][0]["episodes"][0]["episode_hash"] = "e" * 64

    with pytest.raises(
        ResultError,
        match=rf"episode drop_single@\d+/dev/{seed}: episode hash [0-9a-f]{{12}} differs "
        r"from the release part@1-dev-[0-9a-f]{12}'s eeeeeeeeeeee",
    ):
        verify_result(
            load_result(tmp_path / "run"), EpisodeCache(cache_dir), _edited_manifest(release, tmp_path, corrupt)
        )


def test_an_edited_manifest_or_damaged_data_is_refused(release, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(release, copy)
    manifest = json.loads((copy / MANIFEST_FILE).read_text())
    manifest["tasks"][0]["episodes"][0]["episode_hash"] = "0" * 64
    (copy / MANIFEST_FILE).write_text(json.dumps(manifest))
    with pytest.raises(ReleaseError, match="content_sha256 .* does not match its episodes .* the manifest was edited"):
        load_manifest(copy)
    shutil.copyfile(release / MANIFEST_FILE, copy / MANIFEST_FILE)
    data = copy / "data" / "drop_single" / "dev-00000-of-00001.parquet"
    table = pq.read_table(data)
    swapped = table.set_column(table.schema.get_field_index("episode"), "episode", table.column("episode").take([1, 0]))
    pq.write_table(swapped, data, row_group_size=1)
    source = Release(copy)
    with pytest.raises(ReleaseError, match=r"dev-00000-of-00001\.parquet, row group 0: holds another episode"):
        source.get(source.tasks[0], "dev", source.seeds(source.tasks[0])[0])


def test_the_test_split_is_released_inputs_only(tmp_path, cache_dir):
    out = tmp_path / "test-inputs"
    manifest = write_release(
        Selection((get_task("push_single"),), "test", limit=1),
        out,
        EpisodeCache(cache_dir),
        secret="maintainers-secret",
        progress=False,
    )
    (entry,) = manifest["tasks"][0]["episodes"]
    assert manifest["inputs_only"] and "seed" not in entry and len(entry["id"]) == 16
    table = pq.read_table(out / entry["file"])
    assert set(table.column_names).isdisjoint({"seed", "frames", "states", "episode", "meta"})
    row = table.to_pylist()[0]
    task = get_task("push_single")
    assert len(row["context_frames"]) == task.context and len(row["actions"]) == task.length - 1
    with pytest.raises(ReleaseError, match="inputs-only release holds no futures"):
        Release(out)


def test_published_releases_hold_the_current_tasks_and_golden_episodes():
    golden = load_golden()["tasks"]
    published = [(s, published_manifest(s.name, s.version, s.split)) for s in map(get_suite, builtin_suites())]
    assert all(path is not None for _, path in published), "publish a release of every suite (docs/generation.md)"
    for suite, path in published:
        manifest = load_manifest(path)
        assert [t["id"] for t in manifest["tasks"]] == [get_task(n).id for n in suite.tasks], path
        for record in manifest["tasks"]:
            assert record["definition_sha256"] == get_task(record["name"]).definition_hash(), path
            first = record["episodes"][0]
            assert (first["seed"], first["episode_hash"]) == (
                golden[record["name"]]["seed"],
                golden[record["name"]]["hash"],
            ), path
            assert len(record["episodes"]) == min(suite.episodes or 10**9, get_task(record["name"]).episodes["dev"])
