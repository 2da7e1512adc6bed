"""result.json follows its published JSON Schema, and --verify says where a result breaks it."""

from __future__ import annotations

import pytest

from wmbench.errors import ResultError
from wmbench.results import load_result, verify_result
from wmbench.results.schema import check_schema, json_schema

from ..conftest import REPO
from .forgery import SUBMISSIONS, forged


@pytest.mark.parametrize("path", SUBMISSIONS, ids=[p.parent.name for p in SUBMISSIONS])
def test_the_committed_results_and_rows_follow_the_schema(path):
    result = load_result(path)
    check_schema(result.record, str(path))
    for row in result.rows:
        check_schema(row, "row", "row")


def test_the_schema_is_published_in_the_docs():
    assert json_schema()["properties"]["schema_version"] == {"const": 2}
    assert "wmbench/results/result.schema.json" in (REPO / "docs" / "contracts.md").read_text()


@pytest.mark.parametrize(
    "change, words",
    [
        (
            lambda record, rows: record["adapter"].update(privileged="no"),
            "field 'adapter.privileged': 'no' is not of type 'boolean'",
        ),
        (
            lambda record, rows: record["tasks"][0].pop("definition_sha256"),
            "'definition_sha256' is a required property",
        ),
        (
            lambda record, rows: rows[0]["metrics"].update(mse="0.1"),
            "line 1: field 'metrics.mse': '0.1' is not of type",
        ),
        (lambda record, rows: rows[1].update(status="done"), "line 2: field 'status': 'done' is not one of"),
    ],
)
def test_verify_names_where_a_result_breaks_the_schema(tmp_path, cache, change, words):
    result = load_result(forged(tmp_path, change))
    with pytest.raises(ResultError) as info:
        verify_result(result, cache)
    assert words in str(info.value) and str(tmp_path) in str(info.value)
