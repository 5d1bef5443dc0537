"""A single-producer single-consumer ring of bytes records in shared memory. No locks.

    producer process                       consumer process
    put_many([r0..rk]) ─▶ slots ... ─▶ get_many() -> [r0..rk]
          │  PUBLISHED (its line)  ◀──── read        │
          └──── read ──▶  CONSUMED (its line)  ◀─────┘

Both sides batch: a producer writes every record that fits, then publishes them
all with one cursor store; a consumer takes everything available, then frees it
all with one cursor store. A full ring makes the producer wait (spin, then sleep
on a doorbell); nothing is ever overwritten or dropped.

One producer and one consumer, each used from one thread: that is what makes a
plain store enough to publish (asserted in debug runs, like the Disruptor's
``sameThread()``). Memory ordering: see ``ring_slots`` (single 8-byte stores) and
``wait`` (x86-TSO, the fence around the sleeping flags).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from engine.ring_errors import RingFull
from engine.ring_slots import (
    LINE,
    WORDS_PER_LINE,
    SlotArray,
    check_geometry,
    check_records,
    read_geometry,
    write_geometry,
)
from engine.shm import Segment, segment_name
from engine.wait import DEFAULT_WAIT, Doorbell, SpinThenBlock, wake

MAGIC = 0x524D_5350_5343  # "RMSPSC"
PUBLISHED = 1 * WORDS_PER_LINE  # producer's line: next sequence to be published
PRODUCER_SLEEPING = PUBLISHED + 1
CONSUMED = 2 * WORDS_PER_LINE  # consumer's line: next sequence to be consumed
CONSUMER_SLEEPING = CONSUMED + 1
SLOTS_AT = 3 * LINE
BELLS = ("data", "space")  # rung for a sleeping consumer / a sleeping producer


@dataclass(frozen=True, slots=True)
class RingSpec:
    """What another process needs to attach (picklable; geometry is in the header)."""

    name: str


class SpscRing:
    """The shared segment; take one ``producer()`` and one ``consumer()`` across processes."""

    __slots__ = ("_buf", "_words", "capacity", "segment", "slot_size", "slots")

    def __init__(self, segment: Segment, capacity: int, slot_size: int) -> None:
        self.segment = segment
        self.capacity = capacity
        self.slot_size = slot_size
        self._buf = segment.buf
        self._words = self._buf[:SLOTS_AT].cast("q")
        self.slots = SlotArray(self._buf, segment.mapping, SLOTS_AT, capacity, slot_size)

    @classmethod
    def create(cls, prefix: str, role: str, capacity: int, slot_size: int) -> SpscRing:
        """A new empty ring named ``prefix.<pid>.role``; this process owns (unlinks) it."""
        check_geometry(capacity, slot_size)
        size = SLOTS_AT + SlotArray.nbytes(capacity, slot_size)
        segment = Segment.create(segment_name(prefix, role), size, companions=BELLS)
        for bell in BELLS:
            Doorbell.create(segment.companion(bell)).close()
        words = segment.buf[:SLOTS_AT].cast("q")
        write_geometry(words, MAGIC, capacity, slot_size, 0)
        words.release()
        return cls(segment, capacity, slot_size)

    @classmethod
    def attach(cls, spec: RingSpec) -> SpscRing:
        segment = Segment.attach(spec.name, companions=BELLS)
        words = segment.buf[:SLOTS_AT].cast("q")
        try:
            capacity, slot_size, _ = read_geometry(words, MAGIC, spec.name)
        except ValueError:
            words.release()
            segment.close()
            raise
        words.release()
        return cls(segment, capacity, slot_size)

    @property
    def spec(self) -> RingSpec:
        return RingSpec(self.segment.name)

    def producer(self, wait: SpinThenBlock = DEFAULT_WAIT) -> RingProducer:
        return RingProducer(self, wait)

    def consumer(self, wait: SpinThenBlock = DEFAULT_WAIT) -> RingConsumer:
        return RingConsumer(self, wait)

    def producer_asleep(self) -> bool:
        """Whether the producer is blocked on the doorbell waiting for room (monitoring)."""
        return bool(self._words[PRODUCER_SLEEPING])

    def consumer_asleep(self) -> bool:
        """Whether the consumer is blocked on the doorbell waiting for data (monitoring)."""
        return bool(self._words[CONSUMER_SLEEPING])

    def close(self) -> None:
        """Unmap (and unlink if ours or the creator is dead). Endpoints die with it."""
        self.slots.close()
        self._words.release()
        self._buf.release()
        self.segment.close()


class RingProducer:
    """The one writer: ``put_many`` blocks for room, ``try_put_many`` never blocks."""

    __slots__ = ("_bell_data", "_bell_space", "_head", "_tail", "_thread", "_wait", "ring")

    def __init__(self, ring: SpscRing, wait: SpinThenBlock) -> None:
        self.ring = ring
        self._wait = wait
        self._head = ring._words[PUBLISHED]
        self._tail = ring._words[CONSUMED]  # cached; re-read only when it looks full
        self._bell_data = Doorbell(ring.segment.companion("data"))
        self._bell_space = Doorbell(ring.segment.companion("space"))
        self._thread = threading.get_ident()

    def _free(self) -> int:
        return self.ring.capacity - (self._head - self._tail)

    def _has_space(self) -> bool:
        self._tail = self.ring._words[CONSUMED]
        return self._head - self._tail < self.ring.capacity

    def _publish(self, batch: Sequence[bytes]) -> None:
        self.ring.slots.write(self._head, batch)
        self._head += len(batch)
        words = self.ring._words
        # Publish: the payload stores above precede this cursor store, and x86 never
        # reorders stores, so a consumer that reads the cursor sees the payload.
        words[PUBLISHED] = self._head
        wake(words, CONSUMER_SLEEPING, self._bell_data)

    def try_put_many(self, records: Sequence[bytes]) -> int:
        """Publish as many leading records as fit now; return how many."""
        assert threading.get_ident() == self._thread, "a ring producer is single-threaded"
        check_records(records, self.ring.slot_size)
        free = self._free()
        if free < len(records):
            self._has_space()
            free = self._free()
        count = min(free, len(records))
        if count:
            self._publish(records if count == len(records) else records[:count])
        return count

    def put_many(self, records: Sequence[bytes], timeout: float | None = None) -> None:
        """Publish all records in order, waiting for room; ``RingFull`` after ``timeout`` s."""
        assert threading.get_ident() == self._thread, "a ring producer is single-threaded"
        check_records(records, self.ring.slot_size)
        deadline = None if timeout is None else time.monotonic() + timeout
        done, wanted = 0, len(records)
        while done < wanted:
            if self._free() < wanted - done:
                self._has_space()
            free = self._free()
            if not free:
                left = None if deadline is None else deadline - time.monotonic()
                words = self.ring._words
                if not self._wait.wait(
                    self._has_space, words, PRODUCER_SLEEPING, self._bell_space, left
                ):
                    raise RingFull(self.ring.segment.name, done, wanted)
                free = self._free()
            count = min(free, wanted - done)
            self._publish(records[done : done + count] if count < wanted else records)
            done += count

    def put(self, record: bytes, timeout: float | None = None) -> None:
        self.put_many((record,), timeout)

    def close(self) -> None:
        self._bell_data.close()
        self._bell_space.close()


class RingConsumer:
    """The one reader: ``get_many`` copies out a batch; ``claim``/``release`` lend views."""

    __slots__ = ("_bell_data", "_bell_space", "_claimed", "_tail", "_thread", "_wait", "ring")

    def __init__(self, ring: SpscRing, wait: SpinThenBlock) -> None:
        self.ring = ring
        self._wait = wait
        self._tail = ring._words[CONSUMED]
        self._claimed: list[memoryview] = []
        self._bell_data = Doorbell(ring.segment.companion("data"))
        self._bell_space = Doorbell(ring.segment.companion("space"))
        self._thread = threading.get_ident()

    def _has_data(self) -> bool:
        return self.ring._words[PUBLISHED] != self._tail

    def _available(self, limit: int | None, timeout: float | None) -> int:
        assert threading.get_ident() == self._thread, "a ring consumer is single-threaded"
        assert not self._claimed, "release() the claimed views first"
        words = self.ring._words
        if words[PUBLISHED] == self._tail and not self._wait.wait(
            self._has_data, words, CONSUMER_SLEEPING, self._bell_data, timeout
        ):
            return 0
        available = words[PUBLISHED] - self._tail
        return available if limit is None else min(available, limit)

    def _advance(self, count: int) -> None:
        self._tail += count
        words = self.ring._words
        # Free the slots: the copies (or views' use) above precede this store.
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

    def claim(self, limit: int | None = None, timeout: float | None = None) -> list[memoryview]:
        """Like ``get_many`` but zero-copy: the views stay valid until ``release()``."""
        count = self._available(limit, timeout)
        if count:
            self._claimed = self.ring.slots.views(self.ring._buf, self._tail, count)
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
