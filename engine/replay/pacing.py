"""Pacing a replay by the file's own timestamps, X times real time.

The clock and the sleep are injected so that tests drive a fake clock instead
of sleeping.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class Pacer:
    """Holds each input back until its timestamp, scaled by ``speed``, is due.

    The first timestamp seen anchors the file's time to the wall clock's.
    """

    __slots__ = ("_clock", "_file_start", "_sleep", "_speed", "_wall_start")

    def __init__(
        self,
        speed: float,
        clock: Callable[[], int] = time.monotonic_ns,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not speed > 0:
            raise ValueError(f"speed must be > 0, got {speed}")
        self._speed = speed
        self._clock = clock
        self._sleep = sleep
        self._file_start: int | None = None
        self._wall_start = 0

    def wait_until(self, ts_ns: int) -> None:
        """Return once the input stamped ``ts_ns`` is due."""
        if self._file_start is None:
            self._file_start = ts_ns
            self._wall_start = self._clock()
            return
        due = self._wall_start + (ts_ns - self._file_start) / self._speed
        ahead = due - self._clock()
        if ahead > 0:
            self._sleep(ahead / 1e9)
