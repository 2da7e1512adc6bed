"""The suite record of a result: what the run's suite version asks for on its split,
from the suite file at that version or the published release of that version."""

from __future__ import annotations

import json

from wmbench.results import record
from wmbench.run import RunSpec
from wmbench.tasks import get_suite, get_task
from wmbench.tasks.catalog import Suite

from ..conftest import REPO


def _spec(**given) -> RunSpec:
    return RunSpec(**{"adapter": "copy_last", "tasks": ("drop_single",), **given})


def test_from_the_suite_file_at_the_run_version(tmp_path):
    smoke = get_suite("smoke")
    entry = record.suite_record(_spec(suite="smoke", suite_version=smoke.version))
    assert entry == {
        "name": "smoke",
        "version": smoke.version,
        "tasks": list(smoke.tasks),
        "episodes_per_task": {t: min(get_task(t).episodes["dev"], smoke.episodes) for t in smoke.tasks},
    }
    uncapped = tmp_path / "wide.yaml"
    uncapped.write_text("name: wide\nversion: 5\ntasks: [drop_single, push_single]\n")
    entry = record.suite_record(_spec(suite=str(uncapped), suite_version=5, split="train"))
    assert entry is not None and entry["name"] == "wide"
    assert entry["episodes_per_task"] == {t: get_task(t).episodes["train"] for t in ("drop_single", "push_single")}


def test_from_the_published_release_when_the_suite_file_moved_on(monkeypatch):
    smoke = get_suite("smoke")
    monkeypatch.setattr(record, "get_suite", lambda name: Suite(name=name, tasks=smoke.tasks, version=2))
    entry = record.suite_record(_spec(suite="smoke", suite_version=1))
    manifest = json.loads((REPO / "tasks" / "releases" / "smoke@1-dev.json").read_text())
    assert entry is not None and entry["version"] == 1
    assert entry["episodes_per_task"] == {t["name"]: len(t["episodes"]) for t in manifest["tasks"]}
    assert entry["tasks"] == [t["name"] for t in manifest["tasks"]]


def test_unknown_here_or_without_a_version_the_episodes_are_not_recorded():
    unknown = {"tasks": None, "episodes_per_task": None}
    assert record.suite_record(_spec(suite="elsewhere", suite_version=4)) == dict(unknown, name="elsewhere", version=4)
    assert record.suite_record(_spec(suite="smoke")) == dict(unknown, name="smoke", version=None)
    assert record.suite_record(_spec()) is None
