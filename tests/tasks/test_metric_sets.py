"""Task files include named metric sets (tasks/metric_sets.yaml) instead of copying names."""

from __future__ import annotations

import pytest
import yaml

from wmbench.errors import TaskFileError
from wmbench.tasks import get_task, load_task
from wmbench.tasks.metric_sets import metric_sets

VALID = yaml.safe_load(get_task("drop_single").source.read_text())


def write(tmp_path, metrics):
    path = tmp_path / "task.yaml"
    path.write_text(yaml.safe_dump(dict(VALID, metrics=metrics)))
    return path


def test_includes_expand_in_place_and_in_order(tmp_path):
    task = load_task(write(tmp_path, ["mse", {"include": "passive_objects"}, "flicker"]))
    assert task.metrics == (
        "mse",
        "trajectory_ade",
        "trajectory_fde",
        "kinetic_energy_error",
        "continuity",
        "inertia",
        "permanence",
        "rigidity",
        "interpenetration",
        "energy_gain",
        "contact_timing",
        "outcome_accuracy",
        "flicker",
    )


def test_a_written_out_list_is_the_same_task(tmp_path):
    included = get_task("drop_single")
    written = load_task(write(tmp_path, list(included.metrics)))
    assert written.metrics == included.metrics
    assert written.definition_hash() == included.definition_hash()


def test_every_set_expands_to_registered_metrics(tmp_path):
    from wmbench.metrics import METRICS

    for name in metric_sets():
        task = load_task(write(tmp_path, [{"include": name}]))
        assert task.metrics and set(task.metrics) <= set(METRICS.names()), name


@pytest.mark.parametrize(
    "metrics, words",
    [
        ([{"include": "cohrence"}], "unknown metric set 'cohrence'; did you mean 'coherence'"),
        ([{"include": "frames", "add": ["x"]}], "entries are metric names or {include: SET}"),
        ([3], "entries are metric names or {include: SET}, got 3"),
        ([], "must be a non-empty list"),
    ],
)
def test_bad_entries_name_the_file_and_field(tmp_path, metrics, words):
    path = write(tmp_path, metrics)
    with pytest.raises(TaskFileError, match="field 'metrics'") as info:
        load_task(path)
    assert str(path) in str(info.value) and words in str(info.value)
