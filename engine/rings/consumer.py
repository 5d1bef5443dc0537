"""The SPSC ring's one consumer: drains everything available, frees it with one store."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from ringmatch.engine.rings.spsc_layout import (
    CONSUMED,
    CONSUMER_SLEEPING,
    PRODUCER_SLEEPING,
    PUBLISHED,
)
from ringmatch.engine.rings.wait import Doorbell, SpinThenBlock, wake

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from ringmatch.engine.rings.spsc_ring import SpscRing


class RingConsumer:
    """``get_many`` copies out a batch; ``claim``/``release`` lend zero-copy views."""

    __slots__ = ("_bell_data", "_bell_space", "_claimed", "_tail", "_thread", "_wait", "ring")

    def __init__(self, ring: SpscRing, wait: SpinThenBlock) -> None:
        self.ring = ring
        self._wait = wait
        self._tail = ring.words[CONSUMED]
        self._claimed: list[memoryview] = []
        self._bell_data = Doorbell(ring.segment.companion("data"))
        self._bell_space = Doorbell(ring.segment.companion("space"))
        self._thread = threading.get_ident()

    def _has_data(self) -> bool:
        return self.ring.words[PUBLISHED] != self._tail

    def _available(self, limit: int | None, timeout: float | None) -> int:
        assert threading.get_ident() == self._thread, "a ring consumer is single-threaded"
        assert not self._claimed, "release() the claimed views first"
        words = self.ring.words
        if words[PUBLISHED] == self._tail and not self._wait.wait(
            self._has_data, words, CONSUMER_SLEEPING, self._bell_data, timeout
        ):
            return 0
        available = words[PUBLISHED] - self._tail
        return available if limit is None else min(available, limit)

    def _advance(self, count: int) -> None:
        self._tail += count
        words = self.ring.words
        # Free the slots: the copies (or the views' use) above precede this store.
        words[CONSUMED] = self._tail
        wake(words, PRODUCER_SLEEPING, self._bell_space)

    def get_many(self, limit: int | None = None, timeout: float | None = None) -> list[bytes]:
        """Every available record (at most ``limit``), waiting up to ``timeout`` s for one.

        ``timeout=None`` waits forever, ``0`` never waits; ``[]`` means it timed out.
        """
        count = self._available(limit, timeout)
        if not count:
            return []
        records = self.ring.slots.read(self._tail, count)
        self._advance(count)
        return records

    def get_array(
        self, dtype: np.dtype[Any], limit: int | None = None, timeout: float | None = None
    ) -> npt.NDArray[Any]:
        """``get_many`` for fixed-size records: one array of ``dtype`` (empty on timeout)."""
        count = self._available(limit, timeout)
        records = self.ring.slots.read_array(self._tail, count, dtype)
        if count:
            self._advance(count)
        return records

    def claim(self, limit: int | None = None, timeout: float | None = None) -> list[memoryview]:
        """Like ``get_many`` but zero-copy: the views stay valid until ``release()``."""
        count = self._available(limit, timeout)
        if count:
            self._claimed = self.ring.slots.views(self.ring.buf, self._tail, count)
        return self._claimed

    def release(self) -> None:
        """Hand the claimed slots back; the views become unusable (ValueError), not stale."""
        claimed, self._claimed = self._claimed, []
        for view in claimed:
            view.release()
        if claimed:
            self._advance(len(claimed))

    def close(self) -> None:
        self.release()
        self._bell_data.close()
        self._bell_space.close()
