"""Building the leaderboard: find and validate results, rank them, write every output."""

from __future__ import annotations

from pathlib import Path

from wmbench.errors import OutputError, ResultError
from wmbench.leaderboard.entries import build_entries
from wmbench.leaderboard.site import write_site
from wmbench.leaderboard.tables import detail_table, headline_table, markdown
from wmbench.results.bundle import bundle_name, check_predictions, is_bundle, unpack
from wmbench.results.io import Result, load_result
from wmbench.results.schema import RESULT_FILE
from wmbench.worlds.cache import EpisodeCache

NOTE = (
    "Indices: 0 = a frozen world (last context frame repeated), 100 = the physical variance of "
    "re-simulated futures; 95% bootstrap intervals over episodes; the overall index is the mean of the "
    'area indices; "partial" marks an index with missing parts. Rows are ranked only against rows of the '
    "same suite version and split with full coverage; reference rows (privileged, e.g. the oracle) are "
    "sanity bounds, not ranked. Speed (medians over tasks) is never blended into the indices."
)


def find_results(paths: list[Path], unpack_into: Path | None = None) -> list[Result]:
    """Every ``result.json`` under the given files or directories, and the result of each
    submission bundle (checked and extracted into ``unpack_into/<bundle name>``), validated."""
    files: list[Path] = []
    for path in paths:
        if is_bundle(path):
            if unpack_into is None:
                raise ResultError(f"{path}: a bundle, and no directory to unpack it into was given")
            target = unpack_into / bundle_name(path)
            if target.exists():
                raise ResultError(f"{path}: another bundle of the same name was already given")
            files.append(unpack(path, target) / RESULT_FILE)
        elif path.is_file():
            files.append(path)
        elif path.is_dir():
            files.extend(sorted(path.rglob("result.json")))
        else:
            raise ResultError(f"{path}: no such file or directory")
    if not files:
        raise ResultError(f"no result.json found under {', '.join(map(str, paths))}")
    results = [load_result(f) for f in files]
    for result in results:
        check_predictions(result)
    return results


def headline_markdown(results: list[Result]) -> str:
    """The leaderboard in Markdown: each group's ranked table and the rows listed apart."""
    return markdown(build_entries(results), NOTE)


def write_leaderboard(results: list[Result], out: Path, cache: EpisodeCache) -> dict[str, Path]:
    """Write ``leaderboard.csv``/``leaderboard.md`` (rows, coverage, indices, speed),
    ``details.csv`` (raw means) and the static site (``index.html`` and its pages)."""
    groups = build_entries(results)
    paths = {
        "csv": out / "leaderboard.csv",
        "markdown": out / "leaderboard.md",
        "details": out / "details.csv",
        "html": out / "index.html",
    }
    try:
        out.mkdir(parents=True, exist_ok=True)
        headline_table(groups).to_csv(paths["csv"], index=False)
        detail_table(groups).to_csv(paths["details"], index=False)
        paths["markdown"].write_text(markdown(groups, NOTE), encoding="utf-8")
    except OSError as exc:
        raise OutputError(f"leaderboard directory {out} is not writable: {exc.strerror or exc}") from exc
    write_site(groups, out, cache)
    return paths
