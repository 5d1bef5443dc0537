"""Where the feed's events come from: the event ring, as an optional reader.

    source = RingFeedSource(ring, index, data_dir, server, loop)
    threading.Thread(target=source.run, daemon=True).start()

A thread reads batches of EVENT_DTYPE records off the ring (``next_records``:
``PacedReader.get_array``, a TRADE's two records never split) and hands them to
``on_records``, which decodes them (records.convert.decode_events, through the
core's directory file; NAME events add to it) and hands the Events to the
server on its loop: override ``on_records`` to consume the records as they are. The reader is
*optional*: the core never waits for it. If it falls a whole ring behind it is
cut off (``ReaderCutOff``); it then rejoins at the newest record and rebuilds
every book by replaying the journal as far as it is written (``rebuild_books``:
the kernel the core ran, with the stage the journal names, skips included, so
the same pre-trade decisions; ``resolve`` finds a stage's factory), to some seq
``J``, and drops the events it then reads up to ``J``. Nothing is missed: the
core journals before it publishes, so whatever the rejoin skipped is in the
journal, and whatever is published after ``J`` comes after the rejoin. Then
every channel publishes a fresh snapshot (its seq steps on).

The reader wakes on a timer or a batch threshold, not per event
(``PacedReader``): after a batch it reads again once ``wake_ms`` have passed, or
as soon as ``wake_records`` records wait; ``wake_ms=0`` wakes on every publish.
Every change is still published, in fewer, larger batches.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Callable

import numpy as np

from ringmatch.engine.core.journal_run import KernelBooks, start_run
from ringmatch.engine.core.pretrade_hook import StageResolver, no_stages
from ringmatch.engine.records import layout as L
from ringmatch.engine.records.convert import decode_events
from ringmatch.engine.records.names import Directory
from ringmatch.engine.records.stream import EventCarry
from ringmatch.engine.rings.errors import ReaderCutOff
from ringmatch.engine.rings.event_ring import EventRing
from ringmatch.engine.rings.paced_reader import PacedReader
from ringmatch.engine.schema.events import Event
from ringmatch.engine.schema.views import BookOrder
from ringmatch.gateway.feed.server import FeedServer

log = logging.getLogger(__name__)

Books = dict[str, list[BookOrder]]


def rebuild_books(
    data_dir: str | os.PathLike[str],
    upto_seq: int | None = None,
    resolve: StageResolver = no_stages,
) -> tuple[Books, int]:
    """Every symbol's resting orders after journalled input ``upto_seq`` (None: the
    journal's end, as far as it is written now); and the seq they are as of."""
    run = start_run(data_dir, resolve=resolve, upto=upto_seq)
    run.feed(upto_seq)
    books = KernelBooks(run.kernel, run.directory)
    return {s: books.l3(s) for s in books.symbols()}, run.last_seq


def load_books(server: FeedServer, books: Books) -> None:
    """Replace the server's books with ``books`` and re-snapshot every subscriber (on the loop)."""
    md = server.market
    md.reset()
    for symbol, orders in books.items():
        md.load(symbol, [(o.order_id, o.side, o.price, o.qty) for o in orders])
    server.resync(md.resync())


class RingFeedSource:
    def __init__(
        self,
        ring: EventRing,
        index: int,
        data_dir: str | os.PathLike[str],
        server: FeedServer,
        loop: asyncio.AbstractEventLoop,
        resolve: StageResolver = no_stages,
        also: Callable[[list[Event]], object] | None = None,
        directory: Directory | None = None,
        wake_ms: float = 1.0,
        wake_records: int = 1024,
    ) -> None:
        # The names of the records (the core's directory file; NAME events add to it).
        self.directory = Directory() if directory is None else directory
        self._carry = EventCarry()
        self._skip_upto = 0  # after a rebuild: events the rebuilt books already hold
        self.also = also  # called on the reading thread with each batch (Redis Streams)
        self.ring = ring
        self.index = index
        self.reader: PacedReader | None = (
            None  # made on the reading thread: readers are single-threaded
        )
        self.data_dir = data_dir
        self.server = server
        self.loop = loop
        self.resolve = resolve
        self.stop = threading.Event()
        self.rebuilds = 0
        # Wake at most every wake_ms unless wake_records wait (engine/rings/paced_reader.py).
        self.wake_ms, self.wake_records = wake_ms, wake_records
        # Read each batch as records (MarketData.on_records) rather than Events: from the
        # first rebuild on. A feed cut off has shown it cannot keep up event by event,
        # and a rebuild resets the books, the one point where the reader may change.
        self.as_records = False
        self.rejoined = threading.Event()  # set at each rejoin after a cut-off (monitoring, tests)

    def _deliver(self, events: list[Event]) -> None:
        if self.also is not None:
            self._also(events)
        self.loop.call_soon_threadsafe(self.server.publish, events)

    def _deliver_records(self, records: np.ndarray) -> None:
        self.directory.learn(records)  # here, so only this thread adds names
        if self._skip_upto:
            # A NAME record's bytes 16.. are its name, not a seq: always kept.
            kept = (records["kind"] == L.NAME) | (records["seq"] > self._skip_upto)
            records = records[kept]
            if (records["kind"] != L.NAME).any():
                self._skip_upto = 0
        if not len(records):
            return
        if self.also is not None:
            self._also(decode_events(records, self.directory))
        self.loop.call_soon_threadsafe(self.server.publish_records, records, self.directory)

    def _also(self, events: list[Event]) -> None:
        try:
            self.also(events)  # type: ignore[misc]
        except Exception:  # an outside publisher must never stop the feed
            log.exception("feed: publishing a batch elsewhere failed")

    def run(self) -> None:
        """The reading thread's body, until ``stop`` is set."""
        reader = self.reader = PacedReader(
            self.ring.reader(self.index), self.wake_ms, self.wake_records
        )
        try:
            self._loop(reader)
        finally:
            reader.close()

    def _loop(self, reader: PacedReader) -> None:
        while not self.stop.is_set():
            try:
                records = self.next_records(reader)
            except ReaderCutOff as exc:
                log.warning("feed: %s; rebuilding the books from the journal", exc)
                self._carry.clear()
                self._skip_upto = self._rebuild(reader)
                continue
            if len(records):
                self.on_records(records)

    def next_records(self, reader: PacedReader, timeout: float = 0.2) -> np.ndarray:
        """The next batch of whole event records (EVENT_DTYPE; empty after ``timeout``
        s without any)."""
        return self._carry.take(reader.get_array(L.EVENT_DTYPE, timeout=timeout))

    def on_records(self, records: np.ndarray) -> None:
        """One batch of event records: decoded, then to the server (and ``also``); or,
        once ``as_records``, to the server as they are (numpy over the batch)."""
        if self.as_records:
            self._deliver_records(records)
            return
        events = decode_events(records, self.directory)
        if self._skip_upto:
            events = [e for e in events if e.seq > self._skip_upto]
            if events:
                self._skip_upto = 0
        if events:
            self._deliver(events)

    def _rebuild(self, reader: PacedReader) -> int:
        """Rejoin, rebuild from the whole journal as written now; the seq rebuilt to.

        Rejoining first matters: every event the rejoin skipped was published, so
        journalled, before the journal is read; every event after the rebuilt seq
        is published after the rejoin, so the reader will see it.
        """
        reader.rejoin()
        books, last = rebuild_books(self.data_dir, None, self.resolve)
        self.rebuilds += 1
        self.loop.call_soon_threadsafe(load_books, self.server, books)
        self.as_records = True  # what follows the reset is read as records
        self.rejoined.set()
        return last
