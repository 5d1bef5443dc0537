"""Input records through a kernel in batches, its events drained into one reused buffer.

A replay hands the kernel whole batches (``process_into``), never one input at a
time, and reads the events of each call before the next overwrites them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import numpy as np

from ringmatch.engine.kernel.api import Kernel
from ringmatch.engine.kernel.event_buffer import EventBufferTooSmall
from ringmatch.engine.records import layout as L
from ringmatch.engine.schema.enums import RejectReason

EVENT_CAPACITY = 1 << 16
"""Event records per process_into call; it grows when one input may need more."""


class KernelFeed:
    """One kernel and the event buffer its calls write into."""

    __slots__ = ("_events", "kernel")

    def __init__(self, kernel: Kernel, capacity: int = EVENT_CAPACITY) -> None:
        self.kernel = kernel
        self._events = np.zeros(capacity, L.EVENT_DTYPE)

    def run(self, inputs: np.ndarray) -> Iterator[np.ndarray]:
        """Every event of ``inputs``, a call's worth at a time: each a view of the
        buffer that the next call reuses."""
        done = 0
        process_into = self.kernel.process_into
        while done < len(inputs):
            try:
                consumed, written = process_into(inputs[done:], self._events)
            except EventBufferTooSmall as exc:
                self._grow(exc.need)
                continue
            if not consumed and not written:
                self._grow(2 * len(self._events))  # a kernel that wants room it did not name
                continue
            done += consumed
            if written:
                yield self._events[:written]

    def _grow(self, need: int) -> None:
        self._events = np.zeros(max(need, 2 * len(self._events)), L.EVENT_DTYPE)


class EventCounts:
    """Rejects by reason and executions, counted over event records a batch at a time."""

    __slots__ = ("rejected", "trades")

    def __init__(self, rejected: Counter[RejectReason]) -> None:
        self.rejected = rejected
        self.trades = 0

    def add(self, events: np.ndarray) -> None:
        # One pass over the kinds; the reasons only when there are rejects to count.
        kinds = np.bincount(events["kind"], minlength=L.AUCTION_TRADE + 1)
        # A trade is two records (maker's, taker's; an uncross's execution the buyer's
        # and the seller's), never split between two calls.
        self.trades += (int(kinds[L.TRADE]) + int(kinds[L.AUCTION_TRADE])) // 2
        if kinds[L.REJECTED]:
            reasons = events["reason"][events["kind"] == L.REJECTED]
            for code, n in enumerate(np.bincount(reasons).tolist()):
                if n:
                    self.rejected[L.REJECT_REASON_OF[code]] += n
