"""Checks of the metrics and indices themselves: corruptions of true futures, scored as predictions."""
