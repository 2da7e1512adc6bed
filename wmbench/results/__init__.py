"""Stage 6: the result record, reading and validating it, comparing two."""

from wmbench.results.compare import compare
from wmbench.results.io import Result, load_result
from wmbench.results.verify import verify_result

__all__ = ["Result", "compare", "load_result", "verify_result"]
