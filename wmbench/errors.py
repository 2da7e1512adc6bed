"""Errors that name what was wrong and where.

Every error wmbench raises on bad input derives from :class:`WmbenchError`; the
command line prints its message as one line and exits with its ``exit_code``.
"""

from __future__ import annotations

from pathlib import Path


class WmbenchError(Exception):
    """Base class: a one-line, user-facing message."""

    exit_code = 2


class TaskFileError(WmbenchError):
    """A task or suite file is malformed: names the file, the field and the problem."""

    def __init__(self, source: Path | str | None, field: str, problem: str):
        self.source, self.field, self.problem = source, field, problem
        where = f"{source}: " if source else ""
        super().__init__(f"{where}field '{field}': {problem}")


class UnknownNameError(WmbenchError):
    """A name (task, adapter, metric, scene) that is not registered, with suggestions."""

    def __init__(self, kind: str, name: str, known: list[str]):
        import difflib

        close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        listing = f" (known: {', '.join(sorted(known))})" if known and not close else ""
        super().__init__(f"unknown {kind} '{name}'{hint}{listing}")


class RegistryError(WmbenchError):
    """A class registered under a name already taken, or not of the registry's base class."""


class MetricUnavailable(WmbenchError):
    """Raised by a metric's constructor when it cannot run here (e.g. missing weights);
    runs report the metric as missing, with this reason."""


class MetricUnavailableWarning(UserWarning):
    """A metric a run will report as missing on this machine, with why and how to fix it."""


class MissingSecretError(WmbenchError):
    """The test split's seeds were asked for without the secret they are derived from."""

    def __init__(self, task: str, variable: str):
        super().__init__(f"task '{task}': the test split needs a secret; pass --test-secret or set {variable}")


class AdapterError(WmbenchError):
    """An adapter failed or broke its contract; names adapter, task and episode."""

    exit_code = 3

    def __init__(self, adapter: str, problem: str, task: str | None = None, episode: str | None = None):
        self.adapter, self.problem, self.task, self.episode = adapter, problem, task, episode
        where = f"adapter '{adapter}'"
        if task:
            where += f", task '{task}'"
        if episode:
            where += f", episode {episode}"
        super().__init__(f"{where}: {problem}")


class CacheError(WmbenchError):
    """A cache directory that cannot be used."""


class GeneratorStackError(WmbenchError):
    """A library that defines the episodes is at a release not verified to reproduce them."""


class ReleaseError(WmbenchError):
    """A dataset release that is missing, malformed, or does not match its manifest."""


class ResultError(WmbenchError):
    """A result directory that is missing, malformed or tampered with."""


class DifferentRuns(WmbenchError):
    """Two results that cannot be compared: another suite, suite version, split,
    resolution or task version."""

    exit_code = 5


class NothingCompared(WmbenchError):
    """Two results without a scored episode and metric in common."""

    exit_code = 4


class LessCoverage(WmbenchError):
    """A result compared with a base lacks episodes or metric values the base has."""

    exit_code = 6


class OutputError(WmbenchError):
    """An output location that cannot be written."""


class ManifestError(WmbenchError):
    """An export manifest that is missing, malformed or does not match this wmbench's episodes."""


class PredictionsError(WmbenchError):
    """A predictions directory that does not match its manifest: lists every problem by file."""

    def __init__(self, directory: Path | str, problems: list[str]):
        self.directory, self.problems = Path(directory), problems
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        super().__init__(f"predictions in {directory}: {count}, nothing scored: {'; '.join(problems)}")


class UnreadableMedia(WmbenchError):
    """An image or video file that cannot be decoded (the message says why)."""


class PhysicsIQError(WmbenchError):
    """A Physics-IQ submission directory that cannot be scored."""


class Interrupted(WmbenchError):
    """A run stopped by a signal (Ctrl-C, SIGTERM); what was written is kept for a rerun."""

    def __init__(self, signal_name: str, exit_code: int, progress: str):
        self.exit_code = exit_code
        super().__init__(f"interrupted by {signal_name}; {progress}; rerun the same command to resume")
