"""Scoring in worker processes (``--scoring-workers``): the same rows and metric states as
scoring in the run's process, errors that name the batch, no scored batch lost."""

from __future__ import annotations

import json
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool

import pytest
import torch

from wmbench.adapters.base import Adapter
from wmbench.errors import AdapterError, WmbenchError
from wmbench.metrics.base import Truth
from wmbench.run import Execution, RunSpec, evaluate
from wmbench.run.scoring_pool import Pending, ScoringPool
from wmbench.tasks import get_task
from wmbench.worlds import EpisodeCache

SPEC = RunSpec(adapter="linear_extrapolation", tasks=("drop_single",), split="dev", limit=3)


def _rows(out):
    rows = [json.loads(line) for line in (out / "rows" / "rank-0.jsonl").read_text().splitlines()]
    return {r["seed"]: r for r in rows}


def _logged(out):
    return (out / "logs" / "drop_single" / "version_0" / "metrics.csv").read_text()


def test_workers_give_the_rows_and_logged_means_of_an_in_process_run(tmp_path, cache_dir):
    here, pooled = tmp_path / "here", tmp_path / "pooled"
    evaluate(SPEC, here, EpisodeCache(cache_dir), Execution(progress=False, batch_size=1))
    # a cache of its own: the workers measure the references themselves
    evaluate(SPEC, pooled, EpisodeCache(tmp_path / "cache"), Execution(progress=False, batch_size=1, scoring_workers=2))
    a, b = _rows(here), _rows(pooled)
    assert len(a) == 3 and a.keys() == b.keys()
    for seed, row in a.items():
        other = b[seed]
        assert other["status"] == "ok" and other["overhead_ms"]["scoring"] > 0
        for key in ("metrics", "references", "pooled"):
            assert other[key] == row[key], (seed, key)
    assert _logged(pooled) == _logged(here)  # the metric states, filled from the workers' values


class FailsOnThirdBatch(Adapter):
    def __init__(self):
        super().__init__()
        self.calls = 0

    def predict(self, batch):
        self.calls += 1
        if self.calls == 3:
            raise RuntimeError("model exploded")
        return batch.frames[:, -1:].expand(-1, batch.horizon, -1, -1, -1).clone()


def test_a_stopping_failure_still_writes_the_batches_being_scored(tmp_path, cache_dir):
    execution = Execution(progress=False, batch_size=1, scoring_workers=2, logger="none")
    with pytest.raises(AdapterError, match="model exploded"):
        evaluate(SPEC, tmp_path / "out", EpisodeCache(cache_dir), execution, adapter=FailsOnThirdBatch())
    statuses = sorted(r["status"] for r in _rows(tmp_path / "out").values())
    assert statuses == ["failed", "ok", "ok"]


def _pending(exception: BaseException) -> Pending:
    future: Future = Future()
    future.set_exception(exception)
    return Pending(rows=[], future=future, keys=["drop_single@7/dev/3"])


def test_a_dead_worker_is_one_error_that_says_how_to_resume():
    with pytest.raises(WmbenchError, match=r"scoring worker ended while scoring drop_single@7/dev/3 .*rerun"):
        ScoringPool.result(_pending(BrokenProcessPool("terminated abruptly")))


def test_a_metric_error_in_a_worker_names_the_batch(cache):
    task = get_task("drop_single").with_overrides(resolution=32)
    episode = cache.get(task, "dev", 0)
    future = torch.from_numpy(episode.future_frames).permute(0, 3, 1, 2)[None].float() / 255
    truth = Truth(frames=future, context=future[:, :2], episodes=[episode])
    with ScoringPool(1) as pool:
        pending = Pending([], pool.submit(task, future[:, :-1], truth, None), [episode.key])
        with pytest.raises(Exception) as info:  # noqa: PT011 - the metric's own error, whatever it is
            ScoringPool.result(pending)
    assert f"(raised in a scoring worker, scoring {episode.key})" in info.value.__notes__


def test_the_worker_count_is_checked_before_anything_runs(tmp_path, cache_dir):
    with pytest.raises(WmbenchError, match=r"--scoring-workers must be an integer >= 0, got -1"):
        evaluate(SPEC, tmp_path / "out", EpisodeCache(cache_dir), Execution(scoring_workers=-1))
