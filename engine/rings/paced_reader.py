"""An event-ring reader that wakes on a timer or a batch threshold, not on every event.

    reader = PacedReader(ring.reader(k), wake_ms=1.0, wake_records=1024)
    records = reader.get_array(EVENT_DTYPE, timeout=0.2)

A plain reader that keeps up sleeps on its doorbell after every batch, so the
writer rings it for every publish: at 10k events/s that is 10k wake-ups a
second, each a context switch taken from the core on a small machine. After a
batch, a ``PacedReader`` does not raise its sleeping flag again until
``wake_ms`` have passed since it woke: it naps on a plain timer instead, which
the writer cannot see and so never pays for, and then takes everything that
arrived meanwhile in one batch. A nap ends early once ``wake_records`` records
are waiting (checked every ``CHECK_S`` at most), so a burst is read at once and
an optional reader is not lapped while it dozes. With nothing waiting when the
nap ends it blocks on the doorbell as before: an idle reader burns no CPU, and
the first event after a quiet spell is read at once.

``wake_ms=0`` is the plain reader: a wake-up per event, the lowest latency.
Records are neither lost nor reordered: this only decides *when* to read.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ringmatch.engine.rings.event_layout import CURSOR, PUBLISHED, reader_word

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from ringmatch.engine.rings.event_reader import EventReader

CHECK_S = 0.001
"""The longest a nap goes without looking at how many records wait (wake_records)."""


class PacedReader:
    """``reader`` read at most once per ``wake_ms`` unless ``wake_records`` are waiting.

    The same reading calls as ``EventReader`` (single-threaded, ``ReaderCutOff``
    and timeouts alike); ``wakes`` counts the batches it returned.
    """

    __slots__ = ("_cursor_word", "_woke", "reader", "wake_records", "wake_s", "wakes")

    def __init__(self, reader: EventReader, wake_ms: float = 1.0, wake_records: int = 1024) -> None:
        if wake_ms < 0 or wake_records < 1:
            raise ValueError(f"PacedReader(wake_ms={wake_ms}, wake_records={wake_records})")
        self.reader = reader
        self.wake_s = wake_ms / 1000
        self.wake_records = wake_records
        self._cursor_word = reader_word(reader.index, 0) + CURSOR
        self._woke = float("-inf")  # the first read never naps
        self.wakes = 0

    def waiting(self) -> int:
        """How many records are published and not yet read by us."""
        words = self.reader.ring.words
        return int(words[PUBLISHED] - words[self._cursor_word])

    def _nap(self, timeout: float | None) -> float | None:
        """Doze until ``wake_ms`` after the last wake (or ``timeout``, or a full batch);
        the timeout left for the read itself."""
        if not self.wake_s:
            return timeout
        start = now = time.monotonic()
        until = self._woke + self.wake_s
        if timeout is not None:
            until = min(until, start + timeout)
        # No sleeping flag raised: the writer does not ring us while we doze.
        while now < until and self.waiting() < self.wake_records:
            time.sleep(min(until - now, CHECK_S))
            now = time.monotonic()
        return None if timeout is None else max(0.0, timeout - (now - start))

    def _took(self, count: int) -> None:
        if count:
            self._woke = time.monotonic()
            self.wakes += 1

    def get_many(self, limit: int | None = None, timeout: float | None = None) -> list[bytes]:
        """``EventReader.get_many``, paced."""
        records = self.reader.get_many(limit, self._nap(timeout))
        self._took(len(records))
        return records

    def get_array(
        self, dtype: np.dtype[Any], limit: int | None = None, timeout: float | None = None
    ) -> npt.NDArray[Any]:
        """``EventReader.get_array``, paced."""
        records = self.reader.get_array(dtype, limit, self._nap(timeout))
        self._took(len(records))
        return records

    def rejoin(self) -> int:
        """``EventReader.rejoin``; the next read does not nap."""
        self._woke = float("-inf")
        return self.reader.rejoin()

    def close(self) -> None:
        self.reader.close()
