"""Episodes: the contract's shapes, determinism across processes, the cache."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from wmbench.tasks import get_task
from wmbench.worlds import OCCLUDER_ID, Episode, EpisodeCache, generate_episode

from ..conftest import REPO


@pytest.fixture(scope="module")
def episode():
    return generate_episode(get_task("drop_single"), "dev", 1234)


def test_episode_contract(episode):
    task = get_task("drop_single")
    t, n = task.length, len(episode.objects)
    r = episode.truth
    r.validate()
    assert r.frames.shape == (t, 128, 128, 3) and r.frames.dtype == np.uint8
    assert r.instance_ids.shape == (t, 128, 128) and r.states.shape == (t, n, 6)
    assert r.visibility.shape == (t, n) and ((0 <= r.visibility) & (r.visibility <= 1)).all()
    assert episode.context_frames.shape[0] == task.context and episode.future_frames.shape[0] == task.horizon
    assert len(episode.ensemble) == task.ensemble
    ids = set(np.unique(r.instance_ids)) - {0, OCCLUDER_ID}
    assert ids <= set(range(1, n + 1))
    obj = episode.objects[0]
    assert obj.mass > 0 and len(obj.colour) == 3 and obj.shape in ("circle", "box")


def test_pixels_are_where_the_object_is_drawn(episode):
    r = episode.truth
    for t in range(0, len(r.frames), 5):
        ys, xs = np.nonzero(r.instance_ids[t] == 1)
        assert abs(xs.mean() - r.pixels[t, 0, 0]) < 0.5 and abs(ys.mean() - r.pixels[t, 0, 1]) < 0.5
        colour = r.frames[t][r.instance_ids[t] == 1].astype(int)
        assert (np.abs(colour - episode.objects[0].colour).sum(1) < 30).mean() > 0.5


def test_same_seed_same_bytes_other_seed_differs(episode):
    task = get_task("drop_single")
    again = generate_episode(task, "dev", 1234)
    assert again.content_hash() == episode.content_hash()
    assert generate_episode(task, "dev", 1235).content_hash() != episode.content_hash()


def test_hash_is_identical_in_another_process(episode):
    code = ("from wmbench.tasks import get_task; from wmbench.worlds import generate_episode; "
            "print(generate_episode(get_task('drop_single'), 'dev', 1234).content_hash())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO,
                         env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}, timeout=120, check=True)
    assert out.stdout.strip() == episode.content_hash()


def test_roundtrip_is_lossless(episode, tmp_path):
    path = tmp_path / "e.npz"
    episode.save(path)
    loaded = Episode.load(path)
    assert loaded.content_hash() == episode.content_hash()
    np.testing.assert_array_equal(loaded.truth.states, episode.truth.states)


def test_corrupt_cache_entry_is_regenerated_with_a_warning(tmp_path):
    task = get_task("drop_single")
    cache = EpisodeCache(tmp_path)
    first = cache.get(task, "dev", 7)
    path = cache.path(task, 7)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])  # truncated
    with pytest.warns(UserWarning, match="corrupt"):
        again = cache.get(task, "dev", 7)
    assert again.content_hash() == first.content_hash()
    assert Episode.load(path).content_hash() == first.content_hash()


def test_unwritable_cache_is_a_clear_error(tmp_path):
    from wmbench.errors import CacheError

    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(CacheError, match="not writable"):
        EpisodeCache(blocker / "sub").get(get_task("drop_single"), "dev", 1)


def test_ensemble_spread_is_nonzero_and_small(episode):
    truth = episode.truth.pixels[episode.context:]
    spreads = [np.abs(m.pixels[episode.context:] - truth).max() for m in episode.ensemble]
    assert max(spreads) > 0
    assert np.median(spreads) < 3.0  # pixels: a single drop is barely chaotic


def test_generate_command_prints_hashes(cli):
    code, out, _ = cli("generate", "drop_single", "--limit", "2")
    data = json.loads(out)
    assert code == 0 and len(data["episodes"]) == 2
