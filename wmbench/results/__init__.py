"""Stage 5: from a run's rows to its result (aggregates, pooled summaries, headline
scores, the record and its schema), reading and verifying results, comparing two."""

from wmbench.results.compare import compare, regressions
from wmbench.results.io import Result, load_result
from wmbench.results.record import write_result
from wmbench.results.verify import verify_result

__all__ = ["Result", "compare", "load_result", "regressions", "verify_result", "write_result"]
