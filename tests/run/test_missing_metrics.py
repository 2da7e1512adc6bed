"""A metric that cannot run on this machine is announced before the run, once, with
how to fix it; --require makes it an error."""

from __future__ import annotations

import warnings

import pytest

from wmbench.errors import MetricUnavailableWarning

RUN = ("run", "--adapter", "copy_last", "--tasks", "drop_single", "--limit", "1", "--no-progress", "--logger", "none")
REASON = "LPIPS needs its weights (test); to fix, download them"


@pytest.fixture
def no_lpips(monkeypatch):
    from wmbench.metrics import perceptual

    monkeypatch.setitem(perceptual._unavailable, True, REASON)


def test_one_warning_per_missing_metric_before_the_run(cli, tmp_path, no_lpips):
    with pytest.warns(MetricUnavailableWarning) as caught:
        code, _, _ = cli(*RUN, "--out", tmp_path / "o")
    assert code == 0
    messages = [str(w.message) for w in caught if w.category is MetricUnavailableWarning]
    assert messages == [f"metric 'lpips' will be missing from this run: {REASON}"]


def test_wmbench_warnings_print_as_one_line():
    from wmbench.cli import _format_warning

    line = _format_warning(
        MetricUnavailableWarning("metric 'lpips' will be missing"), MetricUnavailableWarning, "x.py", 1
    )
    assert line == "wmbench: warning: metric 'lpips' will be missing\n"
    assert "UserWarning" in _format_warning(UserWarning("other"), UserWarning, "x.py", 1)


def test_require_makes_a_missing_metric_an_error_before_anything_runs(cli, tmp_path, no_lpips):
    with warnings.catch_warnings():
        warnings.simplefilter("error", MetricUnavailableWarning)  # refused before any warning
        code, _, err = cli(*RUN, "--out", tmp_path / "o", "--require", "lpips")
    assert code == 2 and not (tmp_path / "o").exists()
    assert err.strip() == f"wmbench: error: metric 'lpips' is required (--require) but cannot run here: {REASON}"


@pytest.mark.parametrize(
    "name, words",
    [
        ("lpip", "unknown metric 'lpip'; did you mean 'lpips'"),
        ("voe_auroc", "--require voe_auroc: no task of this run scores it"),
    ],
)
def test_require_names_a_metric_the_run_scores(cli, tmp_path, name, words):
    code, _, err = cli(*RUN, "--out", tmp_path / "o", "--require", name)
    assert code == 2 and words in err and len(err.strip().splitlines()) == 1
