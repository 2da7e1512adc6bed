"""Stage 7: leaderboard tables from validated results."""

from wmbench.leaderboard.table import find_results, leaderboard_table, write_leaderboard

__all__ = ["find_results", "leaderboard_table", "write_leaderboard"]
