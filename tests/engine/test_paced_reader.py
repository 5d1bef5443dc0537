"""The paced reader: wakes on a timer or a batch threshold, and loses nothing.

    writer ─▶ ring ─▶ PacedReader(wake_ms, wake_records) ─▶ batches

Forbidden outcomes: a record lost, repeated or reordered; a trickle read a
record at a time when ``wake_ms`` allows batching; a full batch left waiting
for the timer; ``wake_ms=0`` batching anything the writer publishes apart.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator

import pytest

from ringmatch.engine.rings.event_ring import EventRing
from ringmatch.engine.rings.paced_reader import PacedReader
from tests.engine import ring_workers as w


@pytest.fixture
def ring() -> Iterator[EventRing]:
    prefix = w.fresh_prefix()
    ring = EventRing.create(prefix, "events", 1 << 12, w.SLOT_SIZE, required=[True])
    yield ring
    ring.close()
    assert w.leftovers(prefix) == []


class Trickle:
    """A writer thread publishing ``n`` records, one every ``gap_s`` (the offered load)."""

    def __init__(self, ring: EventRing, n: int, gap_s: float) -> None:
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(ring, n, gap_s))

    def _run(self, ring: EventRing, n: int, gap_s: float) -> None:
        writer = ring.writer()
        try:
            for i in range(n):
                writer.put_many([w.record(i)], timeout=10)
                if self.stop.wait(gap_s):  # paces the load; nothing waits on it
                    return
        finally:
            writer.close()

    def __enter__(self) -> Trickle:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()


def read_all(reader: PacedReader, n: int) -> list[list[bytes]]:
    """Batches until ``n`` records are read (fails after 30 s without them)."""
    batches: list[list[bytes]] = []
    deadline = time.monotonic() + 30
    while sum(map(len, batches)) < n:
        assert time.monotonic() < deadline, f"only {sum(map(len, batches))} of {n} records"
        batch = reader.get_many(timeout=1.0)
        if batch:
            batches.append(batch)
    return batches


def test_a_trickle_is_read_in_batches_no_more_often_than_wake_ms(ring: EventRing) -> None:
    n, wake_ms = 200, 50.0
    reader = PacedReader(ring.reader(0), wake_ms=wake_ms, wake_records=1024)
    start = time.monotonic()
    with Trickle(ring, n, gap_s=0.002):
        batches = read_all(reader, n)
    elapsed = time.monotonic() - start
    reader.close()
    assert [r for b in batches for r in b] == w.records(0, n)
    # One wake per wake_ms at most, plus the first record's (read at once) and slack.
    assert len(batches) <= elapsed / (wake_ms / 1000) + 3, (len(batches), elapsed)
    assert len(batches) < n // 4
    assert reader.wakes == len(batches)


def test_wake_ms_zero_delivers_each_publish_as_it_comes(ring: EventRing) -> None:
    n = 100
    writer = ring.writer()
    taken = threading.Event()
    batches: list[list[bytes]] = []

    def read() -> None:
        reader = PacedReader(ring.reader(0), wake_ms=0)  # made on the thread that reads
        try:
            read_each(reader)
        finally:
            reader.close()

    def read_each(reader: PacedReader) -> None:
        for batch in iter(lambda: reader.get_many(timeout=10), []):
            batches.append(batch)
            taken.set()
            if len(batches) == n:
                return

    thread = threading.Thread(target=read)
    thread.start()
    try:
        for i in range(n):  # lock-step: the next publish only once the last was read
            taken.clear()
            writer.put_many([w.record(i)])
            assert taken.wait(10), f"record {i} was not read"
    finally:
        thread.join(timeout=20)
        writer.close()
    assert batches == [[w.record(i)] for i in range(n)]


def test_wake_records_waiting_are_read_at_once(ring: EventRing) -> None:
    wake_s = 30.0  # so long that a nap would show
    reader = PacedReader(ring.reader(0), wake_ms=wake_s * 1000, wake_records=8)
    writer = ring.writer()
    try:
        writer.put_many([w.record(0)])
        assert reader.get_many(timeout=5) == [w.record(0)]  # the first read never naps
        writer.put_many(w.records(1, 9))  # a full batch already waiting
        start = time.monotonic()
        assert reader.get_many(timeout=wake_s) == w.records(1, 9)
        assert time.monotonic() - start < wake_s / 2
    finally:
        writer.close()
        reader.close()


def test_a_nap_ends_when_wake_records_arrive(ring: EventRing) -> None:
    wake_s = 30.0
    writer = ring.writer()
    first = threading.Event()
    got: list[list[bytes]] = []

    def read() -> None:  # a reader is single-threaded: made and read here
        reader = PacedReader(ring.reader(0), wake_ms=wake_s * 1000, wake_records=8)
        try:
            got.append(reader.get_many(timeout=5))
            first.set()
            got.append(reader.get_many(timeout=wake_s))
        finally:
            reader.close()

    thread = threading.Thread(target=read)
    try:
        writer.put_many([w.record(0)])
        thread.start()
        assert first.wait(10)
        start = time.monotonic()
        writer.put_many(w.records(1, 4))  # too few: the reader dozes on
        writer.put_many(w.records(4, 9))  # now eight wait
        thread.join(timeout=wake_s)
        assert time.monotonic() - start < wake_s / 2
    finally:
        thread.join()
        writer.close()
    assert got == [[w.record(0)], w.records(1, 9)]


def test_a_nap_is_bounded_by_the_timeout(ring: EventRing) -> None:
    reader = PacedReader(ring.reader(0), wake_ms=60_000)
    writer = ring.writer()
    try:
        writer.put_many([w.record(0)])
        assert reader.get_many(timeout=5) == [w.record(0)]
        writer.put_many([w.record(1)])
        start = time.monotonic()
        assert reader.get_many(timeout=0.05) == [w.record(1)]  # read when the timeout ends
        assert time.monotonic() - start < 30
        assert reader.get_many(timeout=0.01) == []  # idle: the plain timeout
    finally:
        writer.close()
        reader.close()


@pytest.mark.parametrize("wake_ms", [0.0, 1.0, 5.0])
def test_every_record_is_read_once_in_order(ring: EventRing, wake_ms: float) -> None:
    n = 20_000
    rng = random.Random(14)
    reader = PacedReader(ring.reader(0), wake_ms=wake_ms, wake_records=64)
    done = threading.Event()

    def write() -> None:
        writer = ring.writer()
        try:
            i = 0
            while i < n:  # bursts and pauses: both the timer and the threshold end naps
                k = min(n - i, rng.choice([1, 3, 50, 200]))
                writer.put_many(w.records(i, i + k), timeout=10)
                i += k
                if rng.random() < 0.05 and done.wait(0.001):
                    return
        finally:
            writer.close()

    thread = threading.Thread(target=write)
    thread.start()
    try:
        batches = read_all(reader, n)
    finally:
        done.set()
        thread.join()
        reader.close()
    assert [r for b in batches for r in b] == w.records(0, n)
