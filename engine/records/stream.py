"""Whole inputs and whole events out of what a ring gave: a reader's batch may end
inside one.

A ring carries fixed-size records and knows nothing of what they mean, so a
batch (cut by the reader's limit, or by a writer that found room for only part
of what it put) can end

* on the input rings, between an owner record and the last of its text's
  continuation records, or between a NEW or REPLACE and its TERMS record
  (``input_spans`` says where the whole inputs end);
* on the event ring, between the maker's and the taker's TRADE records of one
  execution, the buyer's and the seller's AUCTION_TRADE records, or an
  ACCEPTED or REPLACED and its ORDER_TERMS (``whole_events``).

The reader keeps the rest and puts it before its next batch.
"""

from __future__ import annotations

import numpy as np

from ringmatch.engine.records import layout as L
from ringmatch.engine.records.inputs import HAS_TEXT, MAY_HAVE_TERMS
from ringmatch.engine.schema.enums import Side


def input_spans(records: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """``(starts, ends, whole)``: each whole input's first record (its owner) and one past
    its last, and how many leading records those inputs make; the records from ``whole``
    on are an input whose text has not all arrived.

    An owner's text is ``qty`` bytes when its kind has text and 0 <= qty <= MAX_TEXT
    (otherwise it owns none: the kernel answers a bad length), as ``inputs.owners``.
    """
    n = len(records)
    kinds = records["kind"]
    flags = records["flags"]
    if not HAS_TEXT[kinds].any() and not (MAY_HAVE_TERMS[kinds] & (flags & L.TERMS != 0)).any():
        starts = np.arange(n)
        return starts, starts + 1, n
    starts_list: list[int] = []
    ends_list: list[int] = []
    qtys = records["qty"]
    i = 0
    while i < n:
        end = i + 1 + max(0, L.followers(int(kinds[i]), int(flags[i]), int(qtys[i])))
        if end > n:
            break
        starts_list.append(i)
        ends_list.append(end)
        i = end
    return np.array(starts_list, np.intp), np.array(ends_list, np.intp), i


def whole_events(events: np.ndarray) -> int:
    """How many leading event records make whole events: all but a last record whose
    partner comes next (a maker's TRADE, a buyer's AUCTION_TRADE, an ACCEPTED or
    REPLACED flagged WITH_TERMS)."""
    n = len(events)
    if not n:
        return n
    kind = events["kind"][n - 1]
    flags = events["flags"][n - 1]
    if kind == L.TRADE and not flags & L.TAKER:
        return n - 1
    if kind == L.AUCTION_TRADE and events["side"][n - 1] == L.SIDE_CODE[Side.BUY]:
        return n - 1
    if (kind == L.ACCEPTED or kind == L.REPLACED) and flags & L.WITH_TERMS:
        return n - 1
    return n


def event_seqs(events: np.ndarray) -> np.ndarray:
    """Each event record's seq, 0 for a NAME record (its bytes 16.. are its name)."""
    return np.where(events["kind"] == L.NAME, 0, events["seq"])


class EventCarry:
    """A reader's half-read event between batches: ``take(batch)`` is the whole events
    of what was kept and ``batch``; the rest is kept for the next."""

    __slots__ = ("_rest",)

    def __init__(self) -> None:
        self._rest: np.ndarray | None = None

    def take(self, batch: np.ndarray) -> np.ndarray:
        if self._rest is not None:
            batch = L.join_records([self._rest, batch], L.EVENT_DTYPE)
            self._rest = None
        whole = whole_events(batch)
        if whole < len(batch):
            self._rest = L.join_records([batch[whole:]], L.EVENT_DTYPE)  # byte for byte
            batch = batch[:whole]
        return batch

    def clear(self) -> None:
        """Forget a kept record (a reader that was cut off and rejoined elsewhere)."""
        self._rest = None
