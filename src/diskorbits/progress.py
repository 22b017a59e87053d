"""Pluggable progress reporting for long catalogue runs.

Library functions are silent by default (:class:`NoProgress`); the CLI
switches on :class:`RichProgress`. A progress object is a context manager
with three calls -- ``start(total, description)``, ``advance(n)`` and
``close()`` -- so anything else (a logger, a notebook widget, a test
recorder) can stand in by subclassing :class:`AbstractProgress`.
"""

from __future__ import annotations

import abc

__all__ = ["AbstractProgress", "NoProgress", "RichProgress", "RecordingProgress", "as_progress"]


class AbstractProgress(abc.ABC):
    """Interface every progress reporter implements."""

    @abc.abstractmethod
    def start(self, total: int, description: str = "") -> None:
        """Begin a task of ``total`` units (chunks, stars, steps)."""

    @abc.abstractmethod
    def advance(self, n: int = 1) -> None:
        """Report ``n`` more units done."""

    @abc.abstractmethod
    def close(self) -> None:
        """Finish the task (also called on errors)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


class NoProgress(AbstractProgress):
    """Says nothing (the library default)."""

    def start(self, total: int, description: str = "") -> None:
        pass

    def advance(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


class RecordingProgress(AbstractProgress):
    """Keeps every call in ``events`` (for tests and for logging a run)."""

    def __init__(self):
        self.events: list[tuple] = []

    def start(self, total: int, description: str = "") -> None:
        self.events.append(("start", total, description))

    def advance(self, n: int = 1) -> None:
        self.events.append(("advance", n))

    def close(self) -> None:
        self.events.append(("close",))

    @property
    def done(self) -> int:
        return sum(e[1] for e in self.events if e[0] == "advance")


class RichProgress(AbstractProgress):
    """A rich progress bar with elapsed and remaining time, on stderr by default.

    Parameters
    ----------
    console : rich.console.Console, optional
    transient : bool
        Remove the bar when done.
    """

    def __init__(self, console=None, transient: bool = False):
        self._console = console
        self._transient = transient
        self._bar = None
        self._task = None

    def start(self, total: int, description: str = "") -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        self._bar = Progress(
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=self._console or Console(stderr=True),
            transient=self._transient,
        )
        self._bar.start()
        self._task = self._bar.add_task(description or "working", total=total)

    def advance(self, n: int = 1) -> None:
        if self._bar is not None:
            self._bar.advance(self._task, n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


def as_progress(progress) -> AbstractProgress:
    """``None``/``False`` -> silent, ``True`` -> rich bar, a progress object -> itself."""
    if progress is None or progress is False:
        return NoProgress()
    if progress is True:
        return RichProgress()
    if isinstance(progress, AbstractProgress):
        return progress
    raise TypeError(f"progress must be None, a bool or an AbstractProgress; got {type(progress).__name__}")
