"""The episode cache: damaged or misplaced entries are regenerated with a warning, never
returned; unwritable directories are clear errors; concurrent writers never leave a
corrupt entry."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tempfile
import textwrap
import warnings

import numpy as np
import pytest
import zstandard

from wmbench.cache_files import CacheWarning
from wmbench.errors import CacheError
from wmbench.tasks import get_task
from wmbench.worlds import Episode, EpisodeCache

from ..conftest import REPO


@pytest.fixture(scope="module")
def task():
    return get_task("drop_single").with_overrides(resolution=32)


@pytest.fixture(scope="module")
def seven(task, tmp_path_factory):
    """A cache holding episode seed 7; tests copy its bytes into fresh caches."""
    cache = EpisodeCache(tmp_path_factory.mktemp("seven"))
    episode = cache.get(task, "dev", 7)
    return episode, cache.path(task, 7).read_bytes()


def _damaged(tmp_path, task, data: bytes) -> EpisodeCache:
    cache = EpisodeCache(tmp_path)
    path = cache.path(task, 7)
    path.parent.mkdir(parents=True)
    path.write_bytes(data)
    return cache


def _flip_byte(data: bytes) -> bytes:
    middle = len(data) // 2
    return data[:middle] + bytes([data[middle] ^ 0x01]) + data[middle + 1 :]


@pytest.mark.parametrize("damage", [
    pytest.param(_flip_byte, id="flipped-byte"),
    pytest.param(lambda data: b"", id="zero-length"),
    pytest.param(lambda data: data[: len(data) // 3], id="truncated"),
    pytest.param(lambda data: np.random.default_rng(0).bytes(len(data)), id="garbage"),
])
def test_damaged_entry_is_regenerated_with_a_warning(tmp_path, task, seven, damage):
    episode, data = seven
    cache = _damaged(tmp_path, task, damage(data))
    with pytest.warns(CacheWarning, match="is corrupt"):
        again = cache.get(task, "dev", 7)
    assert again.content_hash() == episode.content_hash()
    np.testing.assert_array_equal(again.frames, episode.frames)
    assert Episode.load(cache.path(task, 7)).content_hash() == episode.content_hash()  # repaired


def test_entry_holding_another_episode_is_regenerated(tmp_path, task, seven):
    episode, _ = seven
    other = EpisodeCache(None).get(task, "dev", 8).to_bytes()  # a valid, self-consistent entry
    cache = _damaged(tmp_path, task, other)
    with pytest.warns(CacheWarning, match="another episode: seed 8 .expected 7."):
        again = cache.get(task, "dev", 7)
    assert again.seed == 7 and again.content_hash() == episode.content_hash()


def _recompressed(data: bytes, edit) -> bytes:
    """An entry whose decompressed content ``edit`` changed, in a valid Zstandard frame."""
    content = bytearray(zstandard.ZstdDecompressor().decompress(data))
    edit(content)
    return zstandard.ZstdCompressor(write_checksum=True).compress(bytes(content))


def test_entry_whose_arrays_do_not_match_its_hash_is_regenerated(tmp_path, task, seven):
    episode, data = seven

    def paint_a_pixel(content: bytearray) -> None:  # the last array's last byte: the frame checksum still holds
        content[-1] ^= 0xFF

    cache = _damaged(tmp_path, task, _recompressed(data, paint_a_pixel))
    with pytest.warns(CacheWarning, match="content hash mismatch"):
        again = cache.get(task, "dev", 7)
    np.testing.assert_array_equal(again.frames, episode.frames)


def test_a_frame_that_is_not_an_episode_is_a_clear_error(seven):
    _, data = seven
    with pytest.raises(ValueError, match="not an episode .truncated, or not wmbench episode 1."):
        Episode.from_bytes(_recompressed(data, lambda content: content.__setitem__(0, ord("X"))))
    with pytest.raises(ValueError, match="not an episode"):
        Episode.from_bytes(data[: len(data) // 2])


def _former_bytes(episode: Episode) -> bytes:
    """The entry the former format (a compressed .npz with a JSON header) held."""
    arrays = {f"{prefix}/{name}": a for prefix, r in episode.rollouts().items() for name, a in r.arrays().items()}
    header = json.dumps(dict(episode.header(), content_hash=episode.content_hash()), sort_keys=True,
                        separators=(",", ":")).encode()
    buffer = io.BytesIO()
    np.savez_compressed(buffer, __header__=np.frombuffer(header, dtype=np.uint8), **arrays)
    return buffer.getvalue()


def test_an_entry_of_the_former_format_is_read_and_rewritten_in_the_current_one(tmp_path, task, seven):
    episode, data = seven
    cache = EpisodeCache(tmp_path)
    former = cache.path(task, 7).with_name("7.npz")
    former.parent.mkdir(parents=True)
    former.write_bytes(_former_bytes(episode))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # read as it is: no warning, no regeneration
        again = cache.get(task, "dev", 7)
    assert again.content_hash() == episode.content_hash()
    assert [p.name for p in former.parent.iterdir()] == ["7.episode.zst"]
    assert Episode.load(cache.path(task, 7)).content_hash() == episode.content_hash()


def test_a_damaged_entry_of_the_former_format_is_regenerated_and_removed(tmp_path, task, seven):
    episode, _ = seven
    cache = EpisodeCache(tmp_path)
    former = cache.path(task, 7).with_name("7.npz")
    former.parent.mkdir(parents=True)
    former.write_bytes(_flip_byte(_former_bytes(episode)))
    with pytest.warns(CacheWarning, match="7.npz is corrupt"):
        again = cache.get(task, "dev", 7)
    assert again.content_hash() == episode.content_hash()
    assert [p.name for p in former.parent.iterdir()] == ["7.episode.zst"]


def test_other_resolution_and_fps_are_other_entries(tmp_path, task):
    cache = EpisodeCache(tmp_path)
    paths = {cache.path(task, 7), cache.path(task.with_overrides(resolution=64), 7),
             cache.path(task.with_overrides(fps=60), 7), cache.path(get_task("drop_single"), 7)}
    assert len(paths) == 4


def test_directory_under_a_regular_file_is_a_clear_error(tmp_path, task):
    blocker = tmp_path / "file"
    blocker.write_text("")
    cache = EpisodeCache(blocker / "cache")
    with pytest.raises(CacheError, match=f"cache directory {blocker / 'cache'} is not writable"):
        cache.check_writable()
    with pytest.raises(CacheError, match="not writable"):
        cache.get(task, "dev", 7)


def test_permission_denied_is_a_clear_error(tmp_path, task, monkeypatch):
    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", denied)
    with pytest.raises(CacheError, match=rf"cache directory {tmp_path} is not writable \(Permission denied\)"):
        EpisodeCache(tmp_path).get(task, "dev", 7)
    assert not list(tmp_path.rglob("*.episode.zst"))


def test_cli_names_an_unwritable_cache_directory(cli, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    code, _, err = cli("generate", "drop_single", "--limit", "1", "--workers", "1", "--cache", blocker / "c")
    assert code == 2 and f"cache directory {blocker / 'c'} is not writable" in err


@pytest.mark.slow
def test_concurrent_writers_never_leave_a_corrupt_entry(tmp_path, task, seven):
    """Two processes generate one missing entry at once, then rewrite it 200 times each
    while this process keeps reading it: every read is the whole, right episode."""
    episode, _ = seven
    cache = EpisodeCache(tmp_path)
    path = cache.path(task, 7)
    writer = textwrap.dedent(f"""
        from wmbench.tasks import get_task
        from wmbench.worlds import EpisodeCache
        cache = EpisodeCache({str(tmp_path)!r})
        task = get_task("drop_single").with_overrides(resolution=32)
        episode = cache.get(task, "dev", 7)
        print(episode.content_hash(), flush=True)
        data = episode.to_bytes()
        for _ in range(200):
            cache._write(cache.path(task, 7), data)
    """)
    procs = [subprocess.Popen([sys.executable, "-c", writer], cwd=REPO, stdout=subprocess.PIPE, text=True)
             for _ in range(2)]
    reads = 0
    while any(p.poll() is None for p in procs):
        if path.exists():
            assert Episode.load(path).content_hash() == episode.content_hash()
            reads += 1
    outputs = [p.communicate()[0].strip() for p in procs]
    assert [p.returncode for p in procs] == [0, 0] and outputs == [episode.content_hash()] * 2
    assert reads > 0 and Episode.load(path).content_hash() == episode.content_hash()
    assert [p.name for p in path.parent.iterdir()] == ["7.episode.zst"]  # no temporary files left


def test_missing_test_secret_is_a_clear_cli_error(cli, monkeypatch):
    monkeypatch.delenv("WMBENCH_TEST_SECRET", raising=False)
    code, out, err = cli("generate", "drop_single", "--split", "test", "--limit", "1")
    assert code == 2 and out == ""
    assert err.strip() == ("wmbench: error: task 'drop_single': the test split needs a secret; "
                           "pass --test-secret or set WMBENCH_TEST_SECRET")
