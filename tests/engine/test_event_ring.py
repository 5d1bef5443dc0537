"""The event ring: one writer, readers with their own cursors, required or optional.

    writer ─▶ ring ─┬─▶ required reader(s): see everything, in order; gate the writer
                    └─▶ optional reader: never gates; cut off (and told) when lapped

Forbidden outcomes: a required reader missing or reordering a record; the writer
overwriting a slot a required reader has not consumed; the writer stalled by an
optional reader; an optional reader handed a record the writer was overwriting,
or silently skipping records instead of being told it was cut off.
(The single-reader case also runs the conformance suite in test_ring.py.)
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ringmatch.engine.rings.errors import ReaderCutOff, RingFull
from ringmatch.engine.rings.event_layout import CLAIMED
from ringmatch.engine.rings.event_ring import EventRing, EventRingSpec
from tests.engine import ring_workers as w


@pytest.fixture
def prefix() -> Iterator[str]:
    prefix = w.fresh_prefix()
    yield prefix
    assert w.leftovers(prefix) == [], "the ring's names were not unlinked"


@pytest.fixture
def children() -> Iterator[w.Children]:
    kids = w.Children()
    yield kids
    kids.reap()


def test_every_required_reader_sees_every_record_in_order(
    prefix: str, children: w.Children
) -> None:
    n = 200_000
    ring = EventRing.create(prefix, "events", 256, w.SLOT_SIZE, required=[True, True, True])
    readers = [children.start(w.consume, ring.spec, k, 0, n) for k in range(3)]
    for conn in readers:
        assert w.recv(conn) == "attached"
        conn.send("go")
    writer = children.start(w.produce, ring.spec, 0, n, 100)
    assert w.recv(writer, timeout=120) == ("done", n)
    for conn in readers:
        status, count, _, extra = w.recv(conn, timeout=120)
        assert (status, count, extra) == ("ok", n, 0)
    ring.close()


def test_lapped_optional_reader_is_cut_off_and_writer_carries_on(
    prefix: str, children: w.Children
) -> None:
    n = 16 * 10
    ring = EventRing.create(prefix, "events", 16, w.SLOT_SIZE, required=[True, False])
    required = children.start(w.consume, ring.spec, 0, 0, n)
    optional = children.start(w.consume, ring.spec, 1, 0, n)
    for conn in (required, optional):
        assert w.recv(conn) == "attached"
    required.send("go")  # the optional reader stays stopped while ten rings go by
    writer = ring.writer()
    writer.put_many(w.records(0, n), timeout=30)  # not stalled by the stopped reader
    assert w.recv(required)[:2] == ("ok", n)
    optional.send("go")
    status, at, error = w.recv(optional)
    assert (status, at) == ("error", 0)
    assert "cut off" in error and "from sequence 0" in error
    assert ring.cut_off(1) and not ring.cut_off(0)
    writer.close()
    ring.close()


def test_cut_off_reader_is_told_until_it_rejoins(prefix: str) -> None:
    ring = EventRing.create(prefix, "events", 8, 16, required=[False])
    writer, reader = ring.writer(), ring.reader(0)
    assert writer.try_put_many([b"%d" % i for i in range(5)]) == 5
    assert reader.get_many(limit=2) == [b"0", b"1"]
    writer.put_many([b"%d" % i for i in range(5, 20)], timeout=0)  # never waits
    for _ in range(2):
        with pytest.raises(ReaderCutOff) as cut:
            reader.get_many(timeout=0)
        assert cut.value.lost_from == 2
    assert reader.rejoin() == 2
    assert reader.get_many(timeout=0) == []
    writer.put(b"after")
    assert reader.get_many() == [b"after"]
    assert not ring.cut_off(0)
    writer.close()
    reader.close()
    ring.close()


def test_optional_reader_discards_a_copy_the_writer_began_to_overwrite(prefix: str) -> None:
    ring = EventRing.create(prefix, "events", 8, 16, required=[False])
    writer, reader = ring.writer(), ring.reader(0)
    writer.put_many([b"%d" % i for i in range(8)])
    # A writer caught between claiming seqs 8..9 (slots of 0..1) and publishing them:
    ring.words[CLAIMED] = 10
    with pytest.raises(ReaderCutOff):
        reader.get_many()
    writer.close()
    reader.close()
    ring.close()


def test_slowest_required_reader_gates_the_writer(prefix: str) -> None:
    ring = EventRing.create(prefix, "events", 8, 16, required=[True, True, False])
    writer = ring.writer()
    fast, slow, optional = ring.reader(0), ring.reader(1), ring.reader(2)
    writer.put_many([b"%d" % i for i in range(8)])
    assert len(fast.get_many()) == 8
    assert writer.try_put_many([b"x"]) == 0  # the slow reader still holds all 8 slots
    with pytest.raises(RingFull):
        writer.put_many([b"x"], timeout=0.01)
    assert slow.get_many(limit=3) == [b"0", b"1", b"2"]
    assert writer.try_put_many([b"%d" % i for i in range(8, 20)]) == 3
    assert fast.get_many() == [b"8", b"9", b"10"]
    assert slow.get_many() == [b"%d" % i for i in range(3, 11)]
    with pytest.raises(ReaderCutOff):  # the optional reader never read: lapped
        optional.get_many(timeout=0)
    for end in (writer, fast, slow, optional):
        end.close()
    ring.close()


def test_bad_reader_declarations_are_named(prefix: str) -> None:
    with pytest.raises(ValueError, match="readers: 0"):
        EventRing.create(prefix, "events", 8, 16, required=[])
    ring = EventRing.create(prefix, "events", 8, 16, required=[True])
    with pytest.raises(ValueError, match=r"has readers 0\.\.0"):
        ring.reader(1)
    again = EventRing.attach(EventRingSpec(ring.segment.name))
    assert (again.capacity, again.slot_size, again.readers) == (8, 16, 1)
    again.close()
    ring.close()


def test_racing_optional_reader_gets_only_whole_records_or_a_cut_off(
    prefix: str, children: w.Children
) -> None:
    n = 100_000
    ring = EventRing.create(prefix, "events", 64, w.SLOT_SIZE, required=[True, False])
    readers = [children.start(w.consume, ring.spec, k, 0, n) for k in range(2)]
    for conn in readers:
        assert w.recv(conn) == "attached"
        conn.send("go")
    writer = children.start(w.produce, ring.spec, 0, n, 16)
    assert w.recv(writer, timeout=120) == ("done", n)
    assert w.recv(readers[0], timeout=120)[:2] == ("ok", n)
    outcome = w.recv(readers[1], timeout=120)
    # Either it kept up, or it was told; never a torn, stale or skipped record.
    assert outcome[0] == "ok" or (outcome[0] == "error" and "cut off" in outcome[2]), outcome
    ring.close()
