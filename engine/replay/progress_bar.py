"""The replays' progress bar: rows done, rows/s and the time left, on a terminal only.

    with ReplayProgress(total, "rows", sys.stderr) as bar:
        ...
        bar.update(done, rows)    # done: of total (bytes or rows); rows: for the rate

``total`` and ``done`` are in whatever measures the way through the input best
(the CSV replay: bytes of the file, whose rows are not counted before they are
read; LOBSTER: messages; a journal: bytes of its records), ``rows`` is what the
rate counts. Drawn with rich.progress on ``stream`` when it is a terminal (or on
the ``console`` a test hands in); on anything else ``enabled`` is False, nothing
is drawn, ``update`` is never worth calling, and rich is not even imported (a
replay in a pipe or a benchmark starts no sooner for the bar it does not draw).
"""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, ProgressColumn


def _rate_column(unit: str) -> ProgressColumn:
    """A column of ``12,345 rows`` done and ``1,234,567 rows/s``, from the task's
    ``rows`` field."""
    from rich.progress import ProgressColumn, Task
    from rich.text import Text

    class Rate(ProgressColumn):
        def render(self, task: Task) -> Text:
            rows = int(task.fields.get("rows", 0))
            elapsed = task.finished_time if task.finished else task.elapsed
            rate = f"{rows / elapsed:,.0f}" if elapsed else "-"
            return Text(f"{rows:,} {unit}  {rate} {unit}/s")

    return Rate()


def _is_terminal(stream: TextIO) -> bool:
    # The stream itself decides (not rich's FORCE_COLOR and the like): a bar only
    # where a person watches, never in a pipe or a log file.
    isatty = getattr(stream, "isatty", None)
    return bool(isatty()) if isatty is not None else False


class ReplayProgress:
    """A progress bar on a terminal; nothing anywhere else."""

    def __init__(
        self,
        total: int | None,
        unit: str,
        stream: TextIO,
        description: str = "replay",
        console: Console | None = None,
    ) -> None:
        self._progress: Progress | None = None
        self.enabled = console.is_terminal if console is not None else _is_terminal(stream)
        if not self.enabled:
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            Progress,
            TaskProgressColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            _rate_column(unit),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console or Console(file=stream, force_terminal=True),
            transient=False,
        )
        self._task = self._progress.add_task(description, total=total, rows=0)

    def update(self, done: int, rows: int | None = None) -> None:
        """``done`` of the total so far; ``rows``: rows done (default ``done``)."""
        if self._progress is not None:
            self._progress.update(self._task, completed=done, rows=done if rows is None else rows)

    def finish(self, rows: int | None = None) -> None:
        """The whole input is done: the bar at its total; ``rows``: rows done (default
        the total, where ``done`` counts rows)."""
        if self._progress is None:
            return
        task = self._progress.tasks[0]
        done = task.completed if task.total is None else task.total
        self._progress.update(self._task, completed=done, rows=int(done) if rows is None else rows)

    def __enter__(self) -> ReplayProgress:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()
