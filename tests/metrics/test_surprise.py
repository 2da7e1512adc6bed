"""Violation of expectation: pairwise accuracy and AUROC of surprise, per episode and
pooled across updates and processes, and the run scoring every clip's surprise."""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest
import torch

from wmbench import Adapter, ContextBatch, load_adapter
from wmbench.errors import AdapterError, WmbenchError
from wmbench.metrics import METRICS, Truth, build_metrics
from wmbench.metrics.scoring import score_episodes
from wmbench.results.derived import pooled_summaries
from wmbench.run.data import collate
from wmbench.run.module import EvaluationModule

from ..synthetic import CONTEXT, HORIZON, RED, episode, rollout, squares, task, truth_of

T = CONTEXT + HORIZON
VOE = ("voe_pairwise_accuracy", "voe_auroc")


def voe_episode(seed: int = 0, onsets: tuple[int, int] = (7, 9), extra_possible: bool = False):
    """A red square moving right; twins where it teleports 20 pixels or vanishes at their
    onset; optionally a second possible clip (it stops instead of moving on)."""
    x = 4 + 2 * np.arange(T, dtype=float)
    track = lambda xs: {RED: np.stack([xs, 20 + 0 * xs], 1)}  # noqa: E731
    possible = squares(track(x), seed=seed)
    teleport = squares(track(np.where(np.arange(T) >= onsets[0], x + 20, x)), seed=seed)
    vanish = squares(track(np.where(np.arange(T) >= onsets[1], -100, x)), seed=seed)
    alternatives = [rollout(teleport), rollout(vanish)]
    meta = [{"kind": "impossible", "violation": "teleport", "onset": onsets[0]},
            {"kind": "impossible", "violation": "vanish", "onset": onsets[1]}]
    if extra_possible:
        alternatives.append(rollout(squares(track(np.minimum(x, x[CONTEXT])), seed=seed)))
        meta.append({"kind": "possible"})
    return episode(possible, seed=seed, alternatives=alternatives, meta={"alternatives": meta})


def reference_clips(episode, surprise: np.ndarray) -> tuple[list[float], list[int]]:
    """Clip scores and labels written out from the definition: max surprise from the
    onset (impossible) or from the earliest onset (possible)."""
    onsets = [m.get("onset") for m in episode.meta["alternatives"]]
    earliest = min(o for o in onsets if o is not None)
    scores, labels = [surprise[0, earliest:].max()], [0]
    for k, onset in enumerate(onsets):
        scores.append(surprise[k + 1, earliest if onset is None else onset:].max())
        labels.append(int(onset is not None))
    return scores, labels


def mann_whitney(scores: list[float], labels: list[int]) -> float:
    pos = [s for s, label in zip(scores, labels) if label]
    neg = [s for s, label in zip(scores, labels) if not label]
    return sum((p > n) + 0.5 * (p == n) for p in pos for n in neg) / (len(pos) * len(neg))


@functools.cache
def shared_voe_episode(seed: int, onset: int, extra_possible: bool):
    return voe_episode(seed, onsets=(onset, 8), extra_possible=extra_possible)


def random_batch(seeds: range, generator: torch.Generator):
    """Episodes with random surprise; the surprise metrics read no frames, so the truth
    carries 1-pixel placeholders."""
    episodes = [shared_voe_episode(s % 4, 6 + s % 3, s % 2 == 0) for s in seeds]
    surprise = [torch.rand(1 + len(e.alternatives), T, generator=generator) for e in episodes]
    placeholder = torch.zeros(len(episodes), HORIZON, 3, 1, 1)
    return episodes, Truth(frames=placeholder, context=placeholder[:, :CONTEXT], episodes=episodes,
                           outputs={"surprise": surprise})


def test_detector_scores_one_through_the_run():
    """copy_last with the default surprise (its one-step error) sees the jump and the
    disappearance: both metrics are 1 on every episode."""
    rows = []
    metrics, _ = build_metrics(VOE)
    module = EvaluationModule(load_adapter("copy_last"), task(VOE, "violation_of_expectation"), metrics, rows.extend)
    episodes = [voe_episode(0), voe_episode(1, onsets=(5, 12), extra_possible=True)]
    module.test_step(collate(episodes), 0)
    assert [r["metrics"] for r in rows] == [{"voe_pairwise_accuracy": 1.0, "voe_auroc": 1.0}] * 2
    assert float(metrics["voe_auroc"].compute()) == 1.0


def test_reference_adapter_without_surprise_leaves_the_metrics_missing():
    rows = []
    metrics, _ = build_metrics(VOE)
    module = EvaluationModule(load_adapter("oracle"), task(VOE, "violation_of_expectation"), metrics, rows.extend)
    module.test_step(collate([voe_episode(0)]), 0)
    assert rows[0]["status"] == "ok" and rows[0]["metrics"] == {"voe_pairwise_accuracy": None, "voe_auroc": None}


def test_random_surprise_is_at_chance():
    episodes, truth = random_batch(range(400), torch.Generator().manual_seed(0))
    accuracy = METRICS["voe_pairwise_accuracy"]()
    accuracy.update(truth.frames, truth)
    auroc = METRICS["voe_auroc"]()
    auroc.update(truth.frames, truth)
    assert float(accuracy.compute()) == pytest.approx(0.5, abs=0.05)
    assert float(auroc.compute()) == pytest.approx(0.5, abs=0.05)


def test_pairwise_accuracy_counts_ties_as_half():
    ep = voe_episode(0, onsets=(7, 9))
    surprise = torch.zeros(3, T)
    surprise[0, 8] = 1.0  # the possible clip's peak: inside the teleport's window, not the vanish's
    surprise[1, 7] = 1.0  # teleport: equal peak -> 0.5
    surprise[2, 10] = 0.5  # vanish: above the possible clip's 0 from frame 9 -> 1
    truth = truth_of([ep], {"alternatives": [None], "surprise": [surprise]})
    assert METRICS["voe_pairwise_accuracy"]().score(truth.frames, truth).tolist() == [0.75]
    # pooled windows: possible from frame 7 (peak 1.0), teleport 1.0, vanish 0.5 -> (0.5 + 0) / 2
    assert METRICS["voe_auroc"]().score(truth.frames, truth).tolist() == [0.25]


def test_auroc_pools_updates_and_processes():
    generator = torch.Generator().manual_seed(1)
    batches = [random_batch(range(0, 7), generator), random_batch(range(7, 12), generator)]
    scores, labels = [], []
    for episodes, truth in batches:
        for ep, surprise in zip(episodes, truth.outputs["surprise"]):
            s, label = reference_clips(ep, surprise.numpy())
            scores += s
            labels += label
    expected = mann_whitney(scores, labels)

    two_updates = METRICS["voe_auroc"]()
    for _, truth in batches:
        two_updates.update(truth.frames, truth)
    assert float(two_updates.compute()) == pytest.approx(expected, abs=1e-12)

    ranks = [METRICS["voe_auroc"]() for _ in batches]  # one metric per process, merged as a sync does
    for metric, (_, truth) in zip(ranks, batches):
        metric.update(truth.frames, truth)
    ranks[0].merge_state(ranks[1])
    assert float(ranks[0].compute()) == pytest.approx(expected, abs=1e-12)
    assert 0 < expected < 1 and float(ranks[1].compute()) != pytest.approx(expected)

    # a result computes the same pooled AUROC from its rows (which may come from resumed runs)
    rows = []
    for _, truth in batches:
        rows += score_episodes({"voe_auroc": METRICS["voe_auroc"]()}, truth.frames, truth)
    summary = pooled_summaries(rows, ("voe_auroc", "voe_pairwise_accuracy"))
    assert summary == {"voe_auroc": {"auroc": pytest.approx(expected, abs=1e-12), "clips": len(scores)}}


def test_missing_without_impossible_clips_or_surprise():
    plain = episode(squares({RED: np.array([[4.0, 4.0]] * T)}))
    truth = truth_of([plain, voe_episode(0)], {"alternatives": [None] * 2, "surprise": [None] * 2})
    for name in VOE:
        assert torch.isnan(METRICS[name]().score(truth.frames, truth)).all()
    metric = METRICS["voe_auroc"]()
    metric.update(truth.frames, truth)
    assert math.isnan(float(metric.compute())) and int(metric.missing) == 2


def test_malformed_onset_names_the_episode():
    ep = voe_episode(0)
    ep.meta["alternatives"][1]["onset"] = T + 3
    truth = truth_of([ep], {"alternatives": [None], "surprise": [torch.zeros(3, T)]})
    with pytest.raises(WmbenchError, match=r"episode synthetic@1/dev/0: meta 'alternatives'\[1\] is impossible "
                                           r"but its 'onset' is 19, not a frame index in \[0, 16\)"):
        METRICS["voe_auroc"]().score(truth.frames, truth)


class BadSurprise(Adapter):
    """Returns what ``answer`` makes of a correct surprise tensor."""

    def __init__(self, answer):
        super().__init__()
        self.answer = answer

    def predict(self, batch: ContextBatch) -> torch.Tensor:
        return batch.frames[:, -1:].expand(-1, batch.horizon, -1, -1, -1)

    def score_surprise(self, clips: torch.Tensor, fps: float, context: int) -> torch.Tensor:
        return self.answer(torch.zeros(clips.shape[:2]))


@pytest.mark.parametrize("answer, problem", [
    (lambda s: s[:, 1:], r"score_surprise\(\) returned \(3, 15\), expected a tensor of shape \(3, 16\)"),
    (lambda s: s.tolist(), r"score_surprise\(\) returned list, expected a tensor of shape \(3, 16\)"),
    (lambda s: s.index_fill(1, torch.tensor([9]), math.nan), r"score_surprise\(\) returned NaN/Inf values"),
])
def test_bad_surprise_is_a_one_line_adapter_error(answer, problem):
    metrics, _ = build_metrics(VOE)
    module = EvaluationModule(BadSurprise(answer), task(VOE, "violation_of_expectation"), metrics, [].extend)
    with pytest.raises(AdapterError, match=rf"^adapter 'BadSurprise', task 'synthetic', episode synthetic@1/dev/0: "
                                           rf"{problem}$"):
        module.test_step(collate([voe_episode(0)]), 0)
