"""The SPSC ring's one producer: gated by the consumer's cursor."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ringmatch.engine.rings.publisher import Publisher
from ringmatch.engine.rings.spsc_layout import (
    CONSUMED,
    CONSUMER_SLEEPING,
    PRODUCER_SLEEPING,
    PUBLISHED,
)
from ringmatch.engine.rings.wait import Doorbell, SpinThenBlock, wake

if TYPE_CHECKING:
    from ringmatch.engine.rings.spsc_ring import SpscRing


class RingProducer(Publisher):
    """``put_many`` blocks for room, ``try_put_many`` never blocks; see ``Publisher``."""

    __slots__ = ("_bell_data",)

    def __init__(self, ring: SpscRing, wait: SpinThenBlock) -> None:
        self._bell_data = Doorbell(ring.segment.companion("data"))
        bell_space = Doorbell(ring.segment.companion("space"))
        head = ring.words[PUBLISHED]
        super().__init__(
            ring.segment.name, ring.slots, ring.words, head, PRODUCER_SLEEPING, bell_space, wait
        )

    def _has_space(self) -> bool:
        self._gate = self._words[CONSUMED]
        return self._head - self._gate < self.slots.capacity

    def _commit(self, end: int) -> None:
        # Publish: the payload stores made before this call precede this cursor store,
        # and x86 never reorders stores, so a consumer that reads it sees the payload.
        self._words[PUBLISHED] = end
        wake(self._words, CONSUMER_SLEEPING, self._bell_data)

    def close(self) -> None:
        self._bell_data.close()
        self._bell_space.close()
