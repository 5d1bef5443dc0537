"""The event ring's one writer: gated by the slowest required reader, never by an optional one."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ringmatch.engine.rings.event_layout import (
    CLAIMED,
    CURSOR,
    PUBLISHED,
    REQUIRED,
    SLEEPING,
    WRITER_SLEEPING,
    reader_word,
)
from ringmatch.engine.rings.publisher import Publisher
from ringmatch.engine.rings.wait import Doorbell, SpinThenBlock, full_fence

if TYPE_CHECKING:
    from ringmatch.engine.rings.event_ring import EventRing


class EventWriter(Publisher):
    """``put_many`` blocks for room, ``try_put_many`` never blocks; see ``Publisher``."""

    __slots__ = ("_bells", "_gates")

    def __init__(self, ring: EventRing, wait: SpinThenBlock) -> None:
        words = ring.words
        self._gates = [
            reader_word(k, CURSOR) for k in range(ring.readers) if words[reader_word(k, REQUIRED)]
        ]
        self._bells = [
            (reader_word(k, SLEEPING), Doorbell(ring.segment.companion(f"data-{k}")))
            for k in range(ring.readers)
        ]
        bell_space = Doorbell(ring.segment.companion("space"))
        head = words[PUBLISHED]
        super().__init__(
            ring.segment.name, ring.slots, words, head, WRITER_SLEEPING, bell_space, wait
        )

    def _has_space(self) -> bool:
        words = self._words
        # No required reader: nothing gates us, a whole ring is always free.
        self._gate = min((words[g] for g in self._gates), default=self._head)
        return self._head - self._gate < self.slots.capacity

    def _claim(self, end: int) -> None:
        self._words[CLAIMED] = end  # before the payload: optional readers detect overwrites

    def _commit(self, end: int) -> None:
        words = self._words
        # Publish: the payload stores made before this call precede this cursor store,
        # and x86 never reorders stores, so a reader that reads it sees the payload.
        words[PUBLISHED] = end
        full_fence()  # the cursor is visible before we read the sleeping flags
        for flag, bell in self._bells:
            if words[flag]:
                bell.ring()

    def close(self) -> None:
        self._bell_space.close()
        for _, bell in self._bells:
            bell.close()
