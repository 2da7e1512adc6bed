"""The summary table printed after a run or an offline scoring."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def print_summary(result: dict[str, Any], out: Path) -> None:
    """One table row per task: episodes, failures, the normalised index of each area
    (0 = frozen world, 100 = physical variance), throughput and latency."""
    import pandas as pd

    from wmbench.run.summary import summary_rows

    rows = summary_rows(result)
    print(
        f"\n{result['adapter']['name']} on {result['run']['split']} (area indices: 0 = frozen world, "
        f"100 = physical variance; raw scores in {out / 'result.json'})"
    )
    table = pd.DataFrame(rows)
    print(table.astype(object).where(table.notna(), None).to_markdown(index=False, floatfmt=".4g", missingval="–"))
    failed = sum(r["failed"] for r in rows)
    if failed:
        print(f"{failed} failed (errors and tracebacks: {out / 'episodes.jsonl'})")
