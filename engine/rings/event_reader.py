"""An event-ring reader: own cursor; required readers gate the writer, optional ones get cut off."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from ringmatch.engine.rings.errors import ReaderCutOff
from ringmatch.engine.rings.event_layout import (
    CLAIMED,
    CURSOR,
    CUT_OFF,
    PUBLISHED,
    REQUIRED,
    SLEEPING,
    WRITER_SLEEPING,
    reader_word,
)
from ringmatch.engine.rings.wait import Doorbell, SpinThenBlock, wake

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from ringmatch.engine.rings.event_ring import EventRing

T = TypeVar("T")


class EventReader:
    """Reader ``index``: ``get_many`` copies out a batch; ``rejoin`` after a cut-off."""

    __slots__ = (
        "_bell_data",
        "_bell_space",
        "_cursor",
        "_line",
        "_lost_from",
        "_thread",
        "_wait",
        "index",
        "required",
        "ring",
    )

    def __init__(self, ring: EventRing, index: int, wait: SpinThenBlock) -> None:
        self.ring = ring
        self.index = index
        self._wait = wait
        words = ring.words
        self._line = reader_word(index, 0)  # our cursor/flags, one cache line
        self.required = bool(words[self._line + REQUIRED])
        self._cursor = words[self._line + CURSOR]
        self._lost_from: int | None = None
        self._bell_data = Doorbell(ring.segment.companion(f"data-{index}"))
        self._bell_space = Doorbell(ring.segment.companion("space"))
        self._thread = threading.get_ident()

    def _has_data(self) -> bool:
        return self.ring.words[PUBLISHED] != self._cursor

    def _cut_off(self) -> ReaderCutOff:
        self._lost_from = self._cursor
        self.ring.words[self._line + CUT_OFF] = 1
        return ReaderCutOff(self.ring.segment.name, self.index, self._cursor)

    def _take(self, limit: int | None, timeout: float | None, read: Callable[[int, int], T]) -> T:
        assert threading.get_ident() == self._thread, "an event-ring reader is single-threaded"
        ring, words, cursor = self.ring, self.ring.words, self._cursor
        if self._lost_from is not None:
            raise ReaderCutOff(ring.segment.name, self.index, self._lost_from)
        if words[PUBLISHED] == cursor and not self._wait.wait(
            self._has_data, words, self._line + SLEEPING, self._bell_data, timeout
        ):
            return read(cursor, 0)
        available = words[PUBLISHED] - cursor
        if available > ring.capacity:
            raise self._cut_off()
        count = available if limit is None else min(available, limit)
        records = read(cursor, count)
        if not self.required and words[CLAIMED] - ring.capacity > cursor:
            raise self._cut_off()  # the writer began overwriting what we copied
        self._cursor = cursor + count
        # Free the slots: the copies above precede this store.
        words[self._line + CURSOR] = self._cursor
        if self.required:
            wake(words, WRITER_SLEEPING, self._bell_space)
        return records

    def get_many(self, limit: int | None = None, timeout: float | None = None) -> list[bytes]:
        """Every available record (at most ``limit``), waiting up to ``timeout`` s for one.

        ``timeout=None`` waits forever, ``0`` never waits; ``[]`` means it timed out.
        Raises ``ReaderCutOff`` (optional readers only) once the writer has lapped us.
        """
        return self._take(limit, timeout, self.ring.slots.read)

    def get_array(
        self, dtype: np.dtype[Any], limit: int | None = None, timeout: float | None = None
    ) -> npt.NDArray[Any]:
        """``get_many`` for fixed-size records: one array of ``dtype`` (empty on timeout)."""
        slots = self.ring.slots
        return self._take(limit, timeout, lambda seq, count: slots.read_array(seq, count, dtype))

    def rejoin(self) -> int:
        """Skip to the newest record after a cut-off; return the first sequence lost."""
        words = self.ring.words
        lost_from = self._cursor if self._lost_from is None else self._lost_from
        self._cursor = words[PUBLISHED]
        words[self._line + CURSOR] = self._cursor
        words[self._line + CUT_OFF] = 0
        self._lost_from = None
        return lost_from

    def close(self) -> None:
        self._bell_data.close()
        self._bell_space.close()
