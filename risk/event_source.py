"""Where the risk consumer's events come from: the event ring as an optional reader, and
the journal for whatever the ring made it miss.

    source = RiskEventSource(ring, index, deliver, data_dir, after_seq=N)
    threading.Thread(target=source.run).start()     # source.stop.set() ends it

Events come off the ring as EVENT_DTYPE records, a batch at a time
(``next_records``), and go to ``on_records``, which decodes them through the
directory (the core's directory file, learning NAME events) and delivers the
Events (``on_events``): override ``on_records`` to consume the records as they are.

The reader is *optional*, so a risk process that stalls never stops the core:
once it falls a whole ring behind, its next read raises ``ReaderCutOff``. It
then rejoins at the newest record and catches up from the journal
(``ringmatch.risk.rebuild.replay_after``): the events of every input after the
last event it delivered, as far as the journal is written, to some seq ``J``;
then it drops the ring events up to ``J``. Nothing is counted twice or missed:
the core journals before it publishes, so everything the rejoin skipped is in
the journal, and everything published after ``J`` comes after the rejoin.

Caught-up events go to ``deliver`` like ring events, so a limit breached during
the gap still switches the account off (late, but it does). ``deliver`` is
called on this thread; it hands the batch to the service's loop.

The reader wakes on a timer or a batch threshold, not per event
(``PacedReader``): after a batch it reads again once ``wake_ms`` have passed, or
as soon as ``wake_records`` records wait; ``wake_ms=0`` wakes on every publish.
Every trade is still delivered, once and in order, in fewer, larger batches.

The mark (``seq``, ``count``): every event of seqs before ``seq`` and the first
``count`` of ``seq`` have been delivered (a cut-off can fall between the events
of one input). Seq 0 events (never sequenced, never journalled) are not counted.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Callable

import numpy as np

from ringmatch.engine.core.pretrade_hook import StageResolver, no_stages
from ringmatch.engine.records import layout as L
from ringmatch.engine.records.convert import decode_events
from ringmatch.engine.records.names import Directory
from ringmatch.engine.records.stream import EventCarry, event_seqs
from ringmatch.engine.rings.errors import ReaderCutOff
from ringmatch.engine.rings.event_ring import EventRing
from ringmatch.engine.rings.paced_reader import PacedReader
from ringmatch.engine.schema.events import Event
from ringmatch.risk.rebuild import replay_after

log = logging.getLogger(__name__)

ALL = sys.maxsize  # a mark's count meaning "every event of that seq"
RECORDS_FROM = 256
"""Batches of at least this many records go to ``deliver_records`` as they are: the
numpy reader (risk/trade_records.py) has a fixed cost per call of a few hundred us,
so below this the Events are cheaper (benchmarks/bench_readers.py)."""


class RiskEventSource:
    def __init__(
        self,
        ring: EventRing,
        index: int,
        deliver: Callable[[list[Event]], object],
        data_dir: str | os.PathLike[str] | None,
        after_seq: int = 0,
        resolve: StageResolver = no_stages,
        *,
        directory: Directory | None = None,
        deliver_records: Callable[[np.ndarray], object] | None = None,
        wake_ms: float = 1.0,
        wake_records: int = 1024,
    ) -> None:
        # The names of the records (the core's directory file; NAME events add to it).
        self.directory = Directory() if directory is None else directory
        self._carry = EventCarry()
        self.resolve = resolve  # the stages a catch-up from the journal may meet
        self.ring = ring
        self.index = index
        self.deliver = deliver
        self.deliver_records = deliver_records  # None: every batch as Events
        self.data_dir = data_dir  # None: no journal, a cut-off loses events (logged)
        self.mark_seq, self.mark_count = after_seq, ALL  # the start replay covered after_seq
        self.skip_upto = after_seq  # ring events up to it are already counted
        self.stop = threading.Event()
        self.catch_ups = 0
        # Wake at most every wake_ms unless wake_records wait (engine/rings/paced_reader.py).
        self.wake_ms, self.wake_records = wake_ms, wake_records

    def run(self) -> None:
        """The reading thread's body, until ``stop`` is set (readers are single-threaded)."""
        reader = PacedReader(self.ring.reader(self.index), self.wake_ms, self.wake_records)
        try:
            self._loop(reader)
        finally:
            reader.close()

    def _loop(self, reader: PacedReader) -> None:
        while not self.stop.is_set():
            try:
                records = self.next_records(reader)
            except ReaderCutOff as exc:
                self._carry.clear()
                self._catch_up(reader, exc)
                continue
            if len(records):
                self.on_records(records)

    def next_records(self, reader: PacedReader, timeout: float = 0.2) -> np.ndarray:
        """The next batch of whole event records (EVENT_DTYPE; empty after ``timeout``
        s without any): a TRADE's two records are never split between batches."""
        return self._carry.take(reader.get_array(L.EVENT_DTYPE, timeout=timeout))

    def on_records(self, records: np.ndarray) -> None:
        """One batch of event records: decoded to Events (the NAME events teach the
        directory), marked and delivered; a large batch goes as the records themselves
        to ``deliver_records`` (when given), which decodes nothing."""
        if self.deliver_records is not None and len(records) >= RECORDS_FROM and not self.skip_upto:
            self.directory.learn(records)  # here, so only this thread adds names
            self._advance_records(records)
            self.deliver_records(records)
            return
        events = decode_events(records, self.directory)
        if events:
            self.on_events(events)

    def on_events(self, events: list[Event]) -> None:
        """One batch of ring events, in seq order: skip what replay counted, deliver."""
        if self.skip_upto:
            events = [e for e in events if e.seq > self.skip_upto]
            if not events:
                return
            self.skip_upto = 0
        self._advance(events)
        self.deliver(events)

    def _advance(self, events: list[Event]) -> None:
        """Move the mark past ``events`` (in seq order, seq 0 anywhere)."""
        last, tail, whole = 0, 0, True
        for ev in reversed(events):
            s = ev.seq
            if s == 0:
                continue
            if last == 0:
                last = s
            elif s != last:
                whole = False
                break
            tail += 1
        self._mark(last, tail, whole)

    def _mark(self, last: int, tail: int, whole: bool) -> None:
        """The batch just delivered ended with ``tail`` events of seq ``last`` (0: none
        sequenced); ``whole``: every sequenced event of it was of that seq."""
        if last == 0:
            return
        if whole and last == self.mark_seq:
            self.mark_count = min(ALL, self.mark_count + tail)
        else:
            self.mark_seq, self.mark_count = last, tail

    def _advance_records(self, records: np.ndarray) -> None:
        """``_advance`` for a batch of records: an event is a record but NAME (none)
        and a TRADE's taker record (one Trade, two records)."""
        seqs = event_seqs(records)
        sequenced = np.flatnonzero(seqs)
        if not len(sequenced):
            return
        last = int(seqs[sequenced[-1]])
        counted = (records["kind"] != L.NAME) & ~(
            (records["kind"] == L.TRADE) & (records["flags"] & L.TAKER != 0)
        )
        tail = int(np.count_nonzero(counted & (seqs == last)))
        self._mark(last, tail, bool((seqs[sequenced] == last).all()))

    def _catch_up(self, reader: PacedReader, exc: ReaderCutOff) -> None:
        if self.data_dir is None:
            reader.rejoin()
            log.error("risk: %s; no journal to catch up from: positions are incomplete", exc)
            return
        # Rejoin first: what it skips was published, so journalled, before the journal is read.
        reader.rejoin()
        log.warning(
            "risk: %s; catching up from the journal after event %d of seq %d",
            exc,
            self.mark_count,
            self.mark_seq,
        )
        replayed = 0

        def count_and_deliver(events: list[Event]) -> None:
            nonlocal replayed
            replayed += len(events)
            self.deliver(events)

        last = replay_after(
            self.data_dir, self.mark_seq, self.mark_count, count_and_deliver, self.resolve
        )
        self.mark_seq, self.mark_count = last, ALL
        self.skip_upto = last
        self.catch_ups += 1
        log.warning(
            "risk: positions caught up from the journal to seq %d (%d events replayed)",
            last,
            replayed,
        )
