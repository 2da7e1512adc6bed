"""Stage 6: leaderboard rows, tables and the static site from validated results."""

from wmbench.leaderboard.board import find_results, headline_markdown, write_leaderboard
from wmbench.leaderboard.entries import Entry, Index, build_entries

__all__ = ["Entry", "Index", "build_entries", "find_results", "headline_markdown", "write_leaderboard"]
