"""An adapter that searches what it is given finds no seed, no states and no future."""

from __future__ import annotations

import pytest
import torch

from wmbench import ContextBatch, get_task
from wmbench.frames import as_float
from wmbench.run.data import collate

from ..conftest import run_and_record
from ..fakes.snoop import Snoop, findings

LIMIT = 3


@pytest.fixture(scope="module")
def snooped(tmp_path_factory, cache_dir):
    from wmbench.run import Execution, RunSpec
    from wmbench.worlds import EpisodeCache

    Snoop.given.clear()
    Snoop.attributes_after_setup.clear()
    cache = EpisodeCache(cache_dir)
    spec = RunSpec(adapter="tests.fakes.snoop:Snoop", tasks=("drop_single",), limit=LIMIT)
    result = run_and_record(spec, tmp_path_factory.mktemp("snoop"), cache, Execution(progress=False, batch_size=2))
    episodes = {e["seed"]: cache.get(get_task("drop_single"), "dev", e["seed"]) for e in result["tasks"][0]["episodes"]}
    return Snoop.given, Snoop.attributes_after_setup, episodes


def _secrets(episode) -> dict:
    context = as_float(torch.from_numpy(episode.context_frames).permute(0, 3, 1, 2))
    future = as_float(torch.from_numpy(episode.future_frames).permute(0, 3, 1, 2))
    distinct = torch.stack([f for f in future if not any(torch.equal(f, c) for c in context)])
    return {"seed": episode.seed, "states": episode.truth.states, "future": distinct}


def test_the_frames_given_are_exactly_the_context_frames(snooped):
    given, _, episodes = snooped
    # the run predicts each episode once; the speed protocol then calls predict again on the first batch
    frames = torch.cat([b.frames for b in given[:2]])
    expected = torch.stack([as_float(torch.from_numpy(e.context_frames).permute(0, 3, 1, 2))
                            for e in episodes.values()])
    assert frames.shape == expected.shape == (LIMIT, 8, 3, 128, 128)
    assert {tuple(sorted(vars(b))) for b in given} == {("actions", "fps", "frames", "horizon")}
    assert all(b.actions is None and b.fps == 30.0 for b in given)
    for batch in given[:2]:
        assert batch.horizon == 16
        assert batch.frames.untyped_storage().nbytes() == batch.frames.numel() * 4  # no hidden bytes
    assert sorted(map(bytes, frames.numpy())) == sorted(map(bytes, expected.numpy()))


def test_nothing_secret_is_reachable_from_what_the_adapter_is_given(snooped):
    given, attributes, episodes = snooped
    assert attributes and set(attributes[0]) <= {"config", "device", "_window", "_ring", "_past_actions", "_fps"}
    for episode in episodes.values():
        secrets = _secrets(episode)
        assert findings(given, secrets) == []
        assert findings(attributes, secrets) == []


def test_the_search_finds_secrets_where_they_are(snooped, cache):
    """The search can fail: it finds the seed, the states and the future where they are."""
    _, _, episodes = snooped
    episode = next(iter(episodes.values()))
    secrets = _secrets(episode)
    found = findings(collate([episode]), secrets)
    assert {"an Episode object", "the seed as a number", "the object states"} <= set(found)
    leaky = ContextBatch(frames=secrets["future"][None], horizon=1, fps=30.0)
    assert set(findings(leaky, secrets)) == {"a future frame"}
    as_float32 = {"states": torch.from_numpy(episode.truth.states).float()}
    assert "the object states" in findings(as_float32, secrets)
    assert findings({"note": f"seed={episode.seed}"}, secrets)[0].startswith("the seed in the text")
