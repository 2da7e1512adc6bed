"""Stage 6: leaderboard tables and the static page from validated results."""

from wmbench.leaderboard.table import detail_table, find_results, headline_markdown, headline_table, write_leaderboard

__all__ = ["detail_table", "find_results", "headline_markdown", "headline_table", "write_leaderboard"]
