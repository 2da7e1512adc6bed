"""Action tasks: counterfactual consistency, action sensitivity and planning rank
correlation, and the run predicting each alternative action sequence."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from wmbench import Adapter, ContextBatch, Requirements, load_adapter
from wmbench.errors import AdapterError, WmbenchError
from wmbench.frames import unit_float
from wmbench.metrics import METRICS, build_metrics
from wmbench.metrics.control import alternative_futures, colour_centroids, spearman
from wmbench.metrics.needs import gather_needs
from wmbench.run.data import collate
from wmbench.run.harness import Harness
from wmbench.run.module import EvaluationModule

from ..synthetic import BLUE, CONTEXT, HORIZON, RED, episode, rollout, squares, task, truth_of

T = CONTEXT + HORIZON
CONTROL = ("counterfactual_consistency", "action_sensitivity", "planning_rank_correlation")
FUTURE_SPEEDS = (1.0, -1.0, 0.25, 2.5)  # the truth's, then the alternatives'


def pushed(speed: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Frames and actions ``(T - 1, 1)``: the red square moves by the action (pixels per
    step): 1 during the context, then ``speed``; the blue one stays put."""
    actions = np.where(np.arange(T - 1) < CONTEXT - 1, 1.0, speed).astype(np.float32)[:, None]
    x = 24 + np.concatenate([[0.0], np.cumsum(actions[:, 0])])
    frames = squares({RED: np.stack([x, 12 + 0 * x], 1), BLUE: np.array([[50, 44]] * T)}, seed=seed)
    return frames, actions


def action_episode(seed: int = 0, meta: dict | None = None):
    (frames, actions), *alternatives = [pushed(s, seed) for s in FUTURE_SPEEDS]
    return episode(frames, seed=seed, actions=actions, alternatives=[rollout(f, a, 2) for f, a in alternatives],
                   colours=(RED, BLUE), meta=meta)


@pytest.fixture(scope="module")
def episodes():
    return [action_episode(seed) for seed in range(2)]


def metric_values(pred, truth):
    return {name: METRICS[name]().score(pred, truth).tolist() for name in CONTROL}


def test_perfect_predictions_score_one(episodes):
    truth = truth_of(episodes, {"alternatives": [alternative_futures(e) for e in episodes], "surprise": [None] * 2})
    values = metric_values(truth.frames, truth)
    assert values == {name: pytest.approx([1.0, 1.0]) for name in CONTROL}


def test_ignoring_the_actions_scores_zero(episodes):
    truth = truth_of(episodes)
    frozen = truth.context[:, -1:].expand_as(truth.frames)
    same = [frozen[i : i + 1].expand(3, -1, -1, -1, -1) for i in range(2)]
    values = metric_values(frozen, truth_of(episodes, {"alternatives": same, "surprise": [None] * 2}))
    assert values["counterfactual_consistency"] == pytest.approx([0.0, 0.0], abs=1e-12)
    assert values["action_sensitivity"] == [0.0, 0.0] and values["planning_rank_correlation"] == [0.0, 0.0]


def test_effects_paired_with_the_wrong_actions_score_below_zero(episodes):
    """True futures, each predicted for another action sequence: as sensitive as the world,
    but the changes are wrong and the ranking is broken."""
    ep = episodes[0]
    futures = torch.cat([truth_of([ep]).frames, alternative_futures(ep)])  # speeds 1, -1, 0.25, 2.5
    shuffled = futures[[3, 2, 0, 1]]  # predicts 2.5 for 1, 0.25 for -1, 1 for 0.25, -1 for 2.5
    truth = truth_of([ep], {"alternatives": [shuffled[1:]], "surprise": [None]})
    values = metric_values(shuffled[:1], truth)
    assert values["action_sensitivity"] == pytest.approx([1.0])
    assert values["counterfactual_consistency"][0] < -0.5
    # ranks of the final x: truth (speeds) 3, 1, 2, 4 against predicted 4, 2, 3, 1
    assert values["planning_rank_correlation"] == pytest.approx([spearman(np.array([4, 2, 3, 1]),
                                                                          np.array([3, 1, 2, 4]))])


def test_missing_without_alternatives_or_predictions(episodes):
    truth = truth_of(episodes)
    assert all(math.isnan(v) for values in metric_values(truth.frames, truth).values() for v in values)
    still = [episode(pushed(0.0, 0)[0], alternatives=[rollout(pushed(0.0, 0)[0], pushed(0.0, 0)[1], 2)] * 2,
                     colours=(RED, BLUE))]
    truth = truth_of(still, {"alternatives": [alternative_futures(still[0])], "surprise": [None]})
    assert all(math.isnan(v[0]) for v in metric_values(truth.frames, truth).values())  # actions change nothing


def test_colour_centroid_finds_the_square_within_a_pixel():
    frames = unit_float(squares({RED: np.array([[10.0, 20.0], [33.0, 5.0]])}))
    centres = colour_centroids(frames, RED)
    assert centres.flatten().tolist() == pytest.approx([13.5, 23.5, 36.5, 8.5], abs=0.5)
    assert torch.isnan(colour_centroids(frames, (255, 255, 0))).all()


def test_outcome_object_from_meta():
    named = [action_episode(0, meta={"target": 1})]
    truth = truth_of(named, {"alternatives": [alternative_futures(named[0])], "surprise": [None]})
    assert METRICS["planning_rank_correlation"]().score(truth.frames, truth).tolist() == pytest.approx([1.0])
    fixed = [action_episode(0, meta={"target": 2})]  # the blue square never moves: nothing to rank
    truth = truth_of(fixed, {"alternatives": [alternative_futures(fixed[0])], "surprise": [None]})
    assert math.isnan(float(METRICS["planning_rank_correlation"]().score(truth.frames, truth)))
    wrong = [action_episode(0, meta={"target": 7})]
    truth = truth_of(wrong, {"alternatives": [alternative_futures(wrong[0])], "surprise": [None]})
    with pytest.raises(WmbenchError, match="episode synthetic@1/dev/0: meta 'target' is 7"):
        METRICS["planning_rank_correlation"]().score(truth.frames, truth)


class SeesActions(Adapter):
    """Moves the red square of the last context frame by the future actions (a model that
    understands this world); takes one sequence per call."""

    requirements = Requirements(uses_actions=True, max_batch_size=1)
    calls: list[tuple[int, ...]] = []

    def predict(self, batch: ContextBatch) -> torch.Tensor:
        SeesActions.calls.append(tuple(batch.actions.shape))
        last, red = batch.frames[:, -1], torch.tensor(RED).view(1, 3, 1, 1) / 255
        square = (last - red).abs().amax(1, keepdim=True) < 0.02
        scene = torch.where(square, last.mean((2, 3), keepdim=True), last)
        shifts = batch.actions[0, -batch.horizon :, 0].cumsum(0).round().int().tolist()
        return torch.stack([torch.where(torch.roll(square, s, dims=-1), red, scene) for s in shifts], 1)


def test_the_alternatives_need_predicts_every_alternative(episodes):
    SeesActions.calls.clear()
    metrics, _ = build_metrics(CONTROL)
    assert {need for m in metrics.values() for need in m.needs} == {"alternatives"}
    outputs = gather_needs(Harness(SeesActions(), task(CONTROL)), {"alternatives"}, episodes,
                           truth_of(episodes).context)
    assert list(outputs) == ["alternatives"]
    assert [tuple(p.shape) for p in outputs["alternatives"]] == [(3, HORIZON, 3, 64, 64)] * 2
    assert SeesActions.calls == [(1, T - 1, 1)] * 6  # one alternative per call, with its actions
    truth = truth_of(episodes, outputs)
    pred = torch.cat([SeesActions().predict(ContextBatch(frames=truth.context[i : i + 1], horizon=HORIZON, fps=30.0,
                                                         actions=torch.from_numpy(e.truth.actions)[None]))
                      for i, e in enumerate(episodes)])
    values = {n: m.score(pred, truth).tolist() for n, m in metrics.items()}
    assert values["planning_rank_correlation"] == pytest.approx([1.0, 1.0])
    assert min(values["counterfactual_consistency"]) > 0.8
    assert gather_needs(Harness(SeesActions(), task(("mse",))), set(), episodes, truth.context) == {}


def run_module(adapter, episodes, metrics=CONTROL):
    rows = []
    available, _ = build_metrics(metrics)
    module = EvaluationModule(adapter, task(metrics), available, rows.extend)
    module.test_step(collate(episodes), 0)
    return rows, available


def test_run_scores_oracle_high_and_copy_last_low(episodes):
    oracle, _ = run_module(load_adapter("oracle"), episodes)
    frozen, _ = run_module(load_adapter("copy_last"), episodes)
    for row in oracle:
        assert row["metrics"] == pytest.approx({n: 1.0 for n in CONTROL})
    for row in frozen:
        assert row["metrics"]["counterfactual_consistency"] == pytest.approx(0.0, abs=1e-12)
        assert row["metrics"]["action_sensitivity"] == 0.0 and row["metrics"]["planning_rank_correlation"] == 0.0


class WrongShapeForAlternatives(Adapter):
    requirements = Requirements(uses_actions=True)

    def predict(self, batch: ContextBatch) -> torch.Tensor:
        frames = batch.frames[:, -1:].expand(-1, batch.horizon, -1, -1, -1)
        return frames if batch.batch_size == 2 else frames[:, 1:]  # fine on the batch, not on alternatives


def test_alternatives_are_validated_like_the_main_prediction(episodes):
    with pytest.raises(AdapterError, match=r"adapter 'WrongShapeForAlternatives', task 'synthetic', episode "
                                           r"synthetic@1/dev/0 \(alternatives\): predicted 11 frames, expected 12"):
        run_module(WrongShapeForAlternatives(), episodes)
