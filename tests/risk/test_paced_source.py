"""Post-trade risk reads the ring paced (wake_ms): fewer deliveries, every event once, in order."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from ringmatch.benchmarks.workload import standard_workload
from ringmatch.engine.core.stage_chain import CoreLogic
from ringmatch.engine.records.convert import encode_events
from ringmatch.engine.records.names import Directory
from ringmatch.engine.rings.codec import EVENT_SLOT
from ringmatch.engine.rings.event_ring import EventRing
from ringmatch.engine.schema.events import Event, Trade
from ringmatch.risk.event_source import RiskEventSource
from ringmatch.risk.process import RiskProcessConfig
from tests.engine import ring_workers as w


@pytest.fixture
def ring() -> Iterator[EventRing]:
    prefix = w.fresh_prefix()
    ring = EventRing.create(prefix, "events", 1 << 14, EVENT_SLOT, required=[False])
    yield ring
    ring.close()
    assert w.leftovers(prefix) == []


def trickle(
    ring: EventRing, names: Directory, n: int, gap_s: float, stop: threading.Event
) -> list[Event]:
    """The core's publishing, one input every ``gap_s``; every event published."""
    logic = CoreLogic()
    writer = ring.writer()
    published: list[Event] = []
    try:
        for seq, cmd in enumerate(standard_workload(n, seed=14), 1):
            events = logic.process(cmd, seq)
            writer.put_array(encode_events(events, names))
            published.extend(events)
            if stop.wait(gap_s):  # paces the load; nothing waits on it
                break
    finally:
        writer.close()
    return published


@pytest.mark.parametrize("wake_ms", [0.0, 50.0])
def test_every_event_is_delivered_once_in_order_in_few_batches(
    ring: EventRing, wake_ms: float
) -> None:
    n = 200
    names = Directory()  # the kernel's; the source shares it (the core's directory file)
    batches: list[list[Event]] = []
    all_in = threading.Event()

    def deliver(events: list[Event]) -> None:
        batches.append(events)
        if events[-1].seq == n:
            all_in.set()

    source = RiskEventSource(ring, 0, deliver, None, directory=names, wake_ms=wake_ms)
    thread = threading.Thread(target=source.run)
    thread.start()
    stop = threading.Event()
    start = time.monotonic()
    try:
        published = trickle(ring, names, n, 0.002, stop)
        assert all_in.wait(30), "not every event was delivered"
    finally:
        stop.set()
        source.stop.set()
        thread.join()
    elapsed = time.monotonic() - start
    delivered = [e for b in batches for e in b]
    assert delivered == published
    assert any(isinstance(e, Trade) for e in delivered)  # post-trade risk sees the trades
    if wake_ms:
        assert len(batches) <= elapsed / (wake_ms / 1000) + 3, (len(batches), elapsed)
        assert len(batches) < n // 4


def test_the_process_config_carries_the_pacing() -> None:
    config = RiskProcessConfig("ev", 0, "ctl", "admin")
    assert (config.wake_ms, config.wake_records) == (1.0, 1024)
