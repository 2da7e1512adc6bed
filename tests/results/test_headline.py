"""Normalised headline scores: anchors, clipping, missing headroom, bootstrap intervals."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from wmbench.metrics import METRICS, Truth
from wmbench.metrics.references import frozen_prediction, reference_scores
from wmbench.results.headline import headline

TASK = {"name": "t", "family": "dropping_objects", "metrics": ["mse", "psnr"],
        "higher_is_better": {"mse": False, "psnr": True}, "metric_areas": {"mse": "fidelity", "psnr": "fidelity"}}


def rows(model, frozen, variance, metric="mse"):
    return [{"task": "t", "status": "ok", "metrics": {metric: m},
             "references": {"frozen": {metric: f}, "variance": {metric: v}}}
            for m, f, v in zip(model, frozen, variance)]


def test_anchors_and_midpoint():
    task = dict(TASK, metrics=["mse"])
    frozen, variance = [0.4, 0.6], [0.1, 0.1]
    assert headline(rows(frozen, frozen, variance), [task])["tasks"]["t"]["mse"]["score"] == 0.0
    assert headline(rows(variance, frozen, variance), [task])["tasks"]["t"]["mse"]["score"] == 100.0
    mid = headline(rows([0.3, 0.3], frozen, variance), [task])["tasks"]["t"]["mse"]
    assert mid["score"] == pytest.approx(100 * (0.3 - 0.5) / (0.1 - 0.5))  # ratio of means: 50
    assert mid["episodes"] == 2


def test_clipped_both_ends_and_direction_independent():
    task = dict(TASK, metrics=["psnr"])
    better = headline(rows([50.0], [20.0], [30.0], "psnr"), [task])["tasks"]["t"]["psnr"]
    worse = headline(rows([10.0], [20.0], [30.0], "psnr"), [task])["tasks"]["t"]["psnr"]
    assert better["score"] == 100.0 and worse["score"] == 0.0
    half = headline(rows([25.0], [20.0], [30.0], "psnr"), [task])["tasks"]["t"]["psnr"]
    assert half["score"] == pytest.approx(50.0)


def test_log_floor_normalises_on_a_log_scale():
    task = dict(TASK, metrics=["mse"], metric_log_floors={"mse": 0.02})
    frozen, variance = [0.4, 0.4], [0.01, 0.02]  # the variance reads as the floor, 0.02
    entry = headline(rows([0.04, 0.04], frozen, variance), [task])["tasks"]["t"]["mse"]
    assert entry["score"] == pytest.approx(100 * np.log(10) / np.log(20))  # ln 10 of ln 20: 76.9
    assert entry["variance"] == pytest.approx(0.02) and entry["frozen"] == pytest.approx(0.4)  # geometric means
    assert headline(rows([0.005, 0.005], frozen, variance), [task])["tasks"]["t"]["mse"]["score"] == 100.0
    linear = headline(rows([0.04, 0.04], frozen, variance), [dict(task, metric_log_floors={})])
    assert linear["tasks"]["t"]["mse"]["score"] == pytest.approx(100 * 0.36 / 0.385)


def test_no_headroom_is_missing_not_zero():
    task = dict(TASK, metrics=["mse"])
    entry = headline(rows([0.2], [0.1], [0.3]), [task])["tasks"]["t"]["mse"]
    assert entry["score"] is None and "no headroom" in entry["missing"]
    none = headline(rows([None], [0.1], [0.05]), [task])["tasks"]["t"]["mse"]
    assert none["score"] is None and "no episode" in none["missing"]


def test_a_resample_without_headroom_leaves_the_metric_out_not_at_zero():
    """A perfect prediction on three episodes, one of which has no headroom (its physical
    variance is worse than the frozen world): the point estimate has headroom and is
    100; every resample is 100 too, including those drawn from that episode alone."""
    task = dict(TASK, metrics=["mse", "psnr"])
    mse = rows([0.0, 0.0, 0.0], [0.4, 0.4, 0.1], [0.1, 0.1, 0.2])
    psnr = rows([40.0, 40.0, 40.0], [20.0, 20.0, 20.0], [30.0, 30.0, 30.0], "psnr")
    both = [dict(a, metrics={**a["metrics"], **b["metrics"]},
                 references={k: {**a["references"][k], **b["references"][k]} for k in a["references"]})
            for a, b in zip(mse, psnr)]
    scores = headline(both, [task])
    assert scores["tasks"]["t"]["mse"]["score"] == 100.0
    assert scores["areas"]["fidelity"]["score"] == 100.0
    assert scores["areas"]["fidelity"]["ci"] == [100.0, 100.0]  # before: [50.0, 100.0], mse at 0 on the third alone


def test_bootstrap_interval_contains_the_estimate_and_narrows_with_more_episodes():
    rng = np.random.default_rng(1)
    task = dict(TASK, metrics=["mse"])

    def width(n):
        model = 0.3 + 0.05 * rng.standard_normal(n)
        entry = headline(rows(model, np.full(n, 0.5), np.full(n, 0.1)), [task])["tasks"]["t"]["mse"]
        lo, hi = entry["ci"]
        assert lo <= entry["score"] <= hi
        return hi - lo

    assert width(200) < width(10)


def test_area_and_family_indices_average_tasks():
    tasks = [dict(TASK, name="a", metrics=["mse"]), dict(TASK, name="b", metrics=["mse"])]
    data = [dict(r, task="a") for r in rows([0.1], [0.5], [0.1])] + [dict(r, task="b") for r in rows([0.5], [0.5], [0.1])]
    result = headline(data, tasks)
    assert result["areas"]["fidelity"]["score"] == pytest.approx(50.0)
    assert result["families"]["dropping_objects"] == {"score": pytest.approx(50.0), "ci": [50.0, 50.0], "tasks": 2}


def test_overall_index_weighs_each_area_the_same():
    physics = {"mse": "physics"}
    tasks = [dict(TASK, name="a", metrics=["mse"]), dict(TASK, name="b", metrics=["mse"]),
             dict(TASK, name="c", metrics=["mse"], metric_areas=physics)]
    scores = {"a": [0.1], "b": [0.5], "c": [0.1]}  # normalised: 100, 0 (fidelity: 50) and 100 (physics)
    data = [dict(r, task=t) for t, model in scores.items() for r in rows(model, [0.5], [0.1])]
    overall = headline(data, tasks)["overall"]
    assert overall == {"score": pytest.approx(75.0), "ci": [75.0, 75.0], "areas": ["fidelity", "physics"]}
    assert headline(rows([None], [0.5], [0.1]), [dict(TASK, metrics=["mse"])])["overall"] == {}


def test_reference_scores_on_an_episode(cache):
    from wmbench.run.data import collate
    from wmbench.tasks import get_task

    episodes = [cache.get(get_task("drop_single"), "dev", s) for s in (11, 12)]
    batch = collate(episodes)
    truth = Truth(frames=batch.future.float() / 255, context=batch.context.float() / 255, episodes=episodes)
    metrics = {n: METRICS[n]() for n in ("mse", "psnr")}
    refs = reference_scores(metrics, truth)
    frozen_mse = (frozen_prediction(truth) - truth.frames).pow(2).flatten(1).mean(1).double()
    torch.testing.assert_close(refs["frozen"]["mse"], frozen_mse)
    per_member = []
    for k in range(len(episodes[0].ensemble)):
        member = np.stack([e.ensemble[k].frames[e.context:] for e in episodes])
        member = torch.from_numpy(member).permute(0, 1, 4, 2, 3).double() / 255
        per_member.append((member - truth.frames.double()).pow(2).flatten(1).mean(1))
    torch.testing.assert_close(refs["variance"]["mse"], torch.stack(per_member).mean(0), rtol=1e-5, atol=1e-9)
    assert (refs["variance"]["mse"] > 0).all() and (refs["variance"]["mse"] < refs["frozen"]["mse"]).all()


def test_diagnostic_metrics_are_normalised_but_not_in_the_indices():
    task = dict(TASK, metrics=["mse", "psnr"], metric_areas={"mse": "fidelity", "psnr": "diagnostic"})
    data = [{"task": "t", "status": "ok", "metrics": {"mse": 0.1, "psnr": 20.0},
             "references": {"frozen": {"mse": 0.5, "psnr": 20.0}, "variance": {"mse": 0.1, "psnr": 30.0}}}]
    result = headline(data, [task])
    assert result["tasks"]["t"]["psnr"]["score"] == 0.0
    assert set(result["areas"]) == {"fidelity"} and result["areas"]["fidelity"]["score"] == 100.0
    assert result["families"]["dropping_objects"]["score"] == 100.0


def test_a_group_of_metrics_counts_once_in_its_area():
    """Three readings of one measurement and one other metric: ungrouped, the readings
    outvote the other metric three to one; grouped, each measurement weighs the same."""
    names = ["mse", "psnr", "ssim", "lpips"]
    task = dict(TASK, metrics=names, higher_is_better=dict.fromkeys(names, False),
                metric_areas=dict.fromkeys(names, "physics"))
    normalised = {"mse": 100.0, "psnr": 100.0, "ssim": 100.0, "lpips": 0.0}  # model at the variance or the frozen world
    data = [{"task": "t", "status": "ok", "metrics": {m: 0.1 if s else 0.5 for m, s in normalised.items()},
             "references": {"frozen": dict.fromkeys(names, 0.5), "variance": dict.fromkeys(names, 0.1)}}]
    assert headline(data, [task])["areas"]["physics"]["score"] == pytest.approx(75.0)
    grouped = headline(data, [dict(task, metric_groups=dict.fromkeys(["mse", "psnr", "ssim"], "masks"))])
    assert grouped["areas"]["physics"]["score"] == pytest.approx(50.0)
    assert grouped["tasks"]["t"]["psnr"]["score"] == 100.0  # each reading keeps its own score
