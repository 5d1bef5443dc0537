"""Where the feed's events come from: the event ring, as an optional reader.

    source = RingFeedSource(ring, index, data_dir, server, loop, make_stage=PreTradeRisk)
    threading.Thread(target=source.run, daemon=True).start()

A thread reads batches off the ring (``EventReader.get_many``), decodes them
(engine.codec) and hands them to the server on its loop. The reader is
*optional*: the core never waits for it. If it falls a whole ring behind it is
cut off (``ReaderCutOff``); it then rejoins at the newest record, notes the seq
``s`` of the first event it reads there, and rebuilds every book by replaying
the journal (``rebuild_books``: the core's own stage chain, so the same
pre-trade decisions) up to and including ``s`` (whose first events it may have
missed), skipping ``s``'s events in the batch. The journal holds ``s`` already:
the core journals before it publishes. Then every channel publishes a
fresh snapshot (its seq steps on) and the batch at ``s`` is applied as usual.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Callable

from engine.codec import decode_events
from engine.core_logic import CoreLogic
from engine.event_reader import EventReader
from engine.event_ring import EventRing
from engine.events import Event
from engine.journal import JournalReader
from engine.journal_recovery import load_snapshot
from engine.pretrade import PreTradeStage
from engine.ring_errors import ReaderCutOff
from engine.views import BookOrder
from gateway.feed_server import FeedServer

log = logging.getLogger(__name__)

Books = dict[str, list[BookOrder]]


def rebuild_books(
    data_dir: str | os.PathLike[str],
    upto_seq: int,
    make_stage: Callable[[], PreTradeStage | None] = lambda: None,
) -> Books:
    """Every symbol's resting orders after journalled input ``upto_seq``."""
    stage = make_stage()
    logic = load_snapshot(data_dir, stage)
    if logic is None or logic.last_seq > upto_seq:
        logic = CoreLogic(pretrade=make_stage())
    for batch in JournalReader(data_dir, after_seq=logic.last_seq).batches():
        for seq, inp in batch:
            if seq > upto_seq:
                break
            logic.process(inp, seq)
        else:
            continue
        break
    eng = logic.engine
    return {s: eng.l3(s) for s in eng.symbols()}


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
        make_stage: Callable[[], PreTradeStage | None] = lambda: None,
    ) -> None:
        self.ring = ring
        self.index = index
        self.reader: EventReader | None = (
            None  # made on the reading thread: readers are single-threaded
        )
        self.data_dir = data_dir
        self.server = server
        self.loop = loop
        self.make_stage = make_stage
        self.stop = threading.Event()
        self.rebuilds = 0
        self.rejoined = threading.Event()  # set at each rejoin after a cut-off (monitoring, tests)

    def _deliver(self, events: list[Event]) -> None:
        self.loop.call_soon_threadsafe(self.server.publish, events)

    def run(self) -> None:
        """The reading thread's body, until ``stop`` is set."""
        reader = self.reader = self.ring.reader(self.index)
        try:
            self._loop(reader)
        finally:
            reader.close()

    def _loop(self, reader: EventReader) -> None:
        while not self.stop.is_set():
            try:
                records = reader.get_many(timeout=0.2)
            except ReaderCutOff as exc:
                log.warning("feed: %s; rebuilding the books from the journal", exc)
                self._rebuild(reader)
                continue
            if records:
                self._deliver(decode_events(records))

    def _rebuild(self, reader: EventReader) -> None:
        reader.rejoin()
        self.rejoined.set()
        while not self.stop.is_set():
            try:
                records = reader.get_many(timeout=0.2)
            except ReaderCutOff:
                reader.rejoin()
                continue
            if records:
                break
        else:
            return
        events = decode_events(records)
        # The first seq we see may be a command whose first events were lost: rebuild
        # up to and including it from the journal, and skip its events here. (Seq 0,
        # unsequenced rejects, may come first: they change no book.)
        seen = next((e.seq for e in events if e.seq), None)
        if seen is None:
            return self._rebuild(reader)
        books = rebuild_books(self.data_dir, seen, self.make_stage)
        self.rebuilds += 1
        self.loop.call_soon_threadsafe(load_books, self.server, books)
        self._deliver([e for e in events if e.seq > seen])
