"""The feed as an optional event-ring reader: lapped, it rebuilds from the journal."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import uvloop

from ringmatch.benchmarks.workload import standard_workload
from ringmatch.engine.core.stage_chain import CoreLogic
from ringmatch.engine.journal.fsync_policy import FsyncPolicy
from ringmatch.engine.journal.log import JournalWriter
from ringmatch.engine.records.convert import encode_events
from ringmatch.engine.records.names import Directory
from ringmatch.engine.rings.codec import EVENT_SLOT
from ringmatch.engine.rings.event_ring import EventRing
from ringmatch.engine.schema.commands import SetRiskLimits, StageChain
from ringmatch.engine.schema.events import Event
from ringmatch.gateway.feed.client import FeedClient
from ringmatch.gateway.feed.server import FeedServer
from ringmatch.gateway.feed.source import RingFeedSource, rebuild_books
from ringmatch.risk.limits import RiskConfig
from ringmatch.risk.limits import encode as encode_limits
from ringmatch.risk.pretrade import PreTradeRisk
from ringmatch.stages import RISK, resolve
from tests.engine import ring_workers as w


@pytest.fixture
def ring() -> Iterator[EventRing]:
    prefix = w.fresh_prefix()
    ring = EventRing.create(prefix, "events", 64, EVENT_SLOT, required=[False])
    yield ring
    ring.close()
    assert w.leftovers(prefix) == []


class Core:
    """The core's order of work on real parts: journal, apply (risk + matching), publish.

    Its first inputs are the core's: the stage it runs (StageChain), then limits that
    reject about half the workload's orders, so a rebuild must run the same stage.
    """

    def __init__(self, data_dir: Path, ring: EventRing) -> None:
        self.logic = CoreLogic(resolve=resolve)
        self.journal = JournalWriter(data_dir, fsync=FsyncPolicy.never())
        self.writer = ring.writer()
        self.names = Directory()  # the kernel's: a new name's NAME record goes first
        self.seq = 0
        limits = SetRiskLimits(encode_limits(RiskConfig(max_order_qty=50)))
        self.run([StageChain(RISK), limits])
        assert isinstance(self.logic.pretrade, PreTradeRisk)

    def run(self, cmds: list) -> None:  # type: ignore[type-arg]
        for cmd in cmds:
            self.seq += 1
            self.journal.append_batch([(self.seq, cmd)])
            events = self.logic.process(cmd, self.seq)
            self.writer.put_array(encode_events(events, self.names))


def test_rebuild_books_replays_the_journal_to_a_seq(tmp_path: Path, ring: EventRing) -> None:
    core = Core(tmp_path, ring)
    cmds = standard_workload(500, seed=2)
    core.run(cmds[:300])
    mid = {s: core.logic.engine.l3(s) for s in core.logic.engine.symbols()}
    core.run(cmds[300:])
    core.journal.sync()
    assert rebuild_books(tmp_path, 302, resolve=resolve) == (mid, 302)
    books, last = rebuild_books(tmp_path, None, resolve=resolve)
    assert last == 502 and books == {
        s: core.logic.engine.l3(s) for s in core.logic.engine.symbols()
    }


def test_a_lapped_feed_rebuilds_and_subscribers_get_a_fresh_snapshot(
    tmp_path: Path, ring: EventRing
) -> None:
    core = Core(tmp_path, ring)
    cmds = standard_workload(4000, seed=5)
    eng = core.logic.engine

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = FeedServer()
        host, port = await server.start("127.0.0.1", 0)
        client = await FeedClient.connect(host, port, ["AAPL"], 10)
        await client.next_message()  # the first (empty) snapshot
        # Its cursor is at 0 and 64 slots hold the last 64 events: it starts lapped.
        core.run(cmds[:2000])
        core.journal.sync()
        # Lapped, it never sees the NAME records: the names are the core's (its file).
        source = RingFeedSource(
            ring, 0, tmp_path, server, loop, resolve=resolve, directory=core.names
        )
        thread = threading.Thread(target=source.run)
        thread.start()
        try:
            await loop.run_in_executor(None, source.rejoined.wait, 10)
            core.run(cmds[2000:2010])
            book = client.books["AAPL"]
            depth = eng.depth("AAPL", 10)
            while source.rebuilds == 0 or book.depth() != (depth.bids, depth.asks):
                await client.next_message()
        finally:
            source.stop.set()
            await loop.run_in_executor(None, thread.join)
        assert source.rebuilds >= 1
        assert source.as_records  # what came after the rebuild was read as records
        client.close()
        await server.close()

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(asyncio.wait_for(main(), 30))
    core.writer.close()
    core.journal.close()


def test_the_feed_process_serves_the_ring(tmp_path: Path, ring: EventRing) -> None:
    """python -m ringmatch.gateway.feed.process, on the ring: a subscriber follows the core."""
    import subprocess
    import sys

    import msgspec

    from ringmatch.gateway.feed.process import FeedProcessConfig

    core = Core(tmp_path, ring)
    cmds = standard_workload(600, seed=8)
    spec = FeedProcessConfig(event_ring=ring.spec.name, reader=0, data_dir=str(tmp_path), port=0)
    path = tmp_path / "feed.json"
    path.write_bytes(msgspec.json.encode(spec))
    repo = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen(
        [sys.executable, "-m", "ringmatch.child", "feed", str(path)],
        cwd=repo,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("listening "), line
        port = int(line.split()[1])

        async def main() -> None:
            client = await FeedClient.connect("127.0.0.1", port, ["NVDA"], 3)
            await client.next_message()  # the snapshot: subscribed before the core runs
            for start in range(0, len(cmds), 8):  # a few commands: their events fit 64 slots
                core.run(cmds[start : start + 8])
                book = client.books["NVDA"]
                depth = eng.depth("NVDA", 3)
                while book.depth() != (depth.bids, depth.asks):
                    await client.next_message()
            client.close()

        eng = core.logic.engine
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(asyncio.wait_for(main(), 30))
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0
        core.writer.close()
        core.journal.close()


class Inline:
    """A loop stand-in that runs what the source hands over at once, on its thread."""

    def call_soon_threadsafe(self, fn: Callable[..., object], *args: object) -> None:
        fn(*args)


class Published:
    """A server stand-in: every batch the source publishes, in order."""

    def __init__(self, last_seq: int) -> None:
        self.batches: list[list[Event]] = []
        self.last_seq = last_seq
        self.all_in = threading.Event()

    def publish(self, events: list[Event]) -> None:
        self.batches.append(events)
        if events[-1].seq == self.last_seq:
            self.all_in.set()


@pytest.mark.parametrize("wake_ms", [0.0, 50.0])
def test_a_paced_feed_publishes_every_change_in_few_batches(tmp_path: Path, wake_ms: float) -> None:
    prefix = w.fresh_prefix()
    ring = EventRing.create(prefix, "events", 1 << 14, EVENT_SLOT, required=[False])
    core = Core(tmp_path, ring)
    n, first = 200, core.seq + 1
    published = Published(core.seq + n)
    source = RingFeedSource(
        ring,
        0,
        tmp_path,
        published,  # type: ignore[arg-type]
        Inline(),  # type: ignore[arg-type]
        directory=core.names,
        wake_ms=wake_ms,
    )
    source._skip_upto = core.seq  # the core's first inputs were published before we read
    thread = threading.Thread(target=source.run)
    thread.start()
    stop = threading.Event()
    start = time.monotonic()
    expected: list[Event] = []
    try:
        for cmd in standard_workload(n, seed=14):
            core.seq += 1  # Core.run's order of work, keeping the events published
            core.journal.append_batch([(core.seq, cmd)])
            events = core.logic.process(cmd, core.seq)
            core.writer.put_array(encode_events(events, core.names))
            expected.extend(events)
            if stop.wait(0.002):  # paces the load; nothing waits on it
                break
        assert published.all_in.wait(30), "not every change was published"
    finally:
        stop.set()
        source.stop.set()
        thread.join()
        core.writer.close()
        core.journal.close()
        ring.close()
    elapsed = time.monotonic() - start
    assert [e for b in published.batches for e in b] == expected
    assert expected[0].seq == first
    if wake_ms:
        assert len(published.batches) <= elapsed / (wake_ms / 1000) + 3
        assert len(published.batches) < n // 4
    assert w.leftovers(prefix) == []
