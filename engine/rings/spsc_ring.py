"""A single-producer single-consumer ring of bytes records in shared memory. No locks.

    producer process                       consumer process
    put_many([r0..rk]) ─▶ slots ... ─▶ get_many() -> [r0..rk]
          │  PUBLISHED (its line)  ◀──── read        │
          └──── read ──▶  CONSUMED (its line)  ◀─────┘

Both sides batch: a producer writes every record that fits, then publishes them
all with one cursor store; a consumer takes everything available, then frees it
all with one cursor store. A full ring makes the producer wait (spin, then sleep
on a doorbell); nothing is ever overwritten or dropped. Batching is most of the
speed: one record per call costs ~4 us of put+get overhead, a batch of 64 about
0.5 us a record (one thread, CPython 3.11; benchmarks/bench_ring.py measures it
across processes).

Fixed-layout records can skip the per-record Python loop: ``put_array`` and
``get_array`` move a 1-D numpy array (a structured dtype) with one copy per
contiguous run of slots. It loses below ~16 records a call (numpy's fixed cost)
and wins from 64 up (~0.18 us/record at 64, ~0.1 at 256, vs ~0.5 for bytes).

    ring = SpscRing.create(prefix, "gw1", capacity=1024, slot_size=64)   # owner
    ring = SpscRing.attach(spec)                      # elsewhere, spec = ring.spec
    ring.producer().put_many([b"...", ...])  /  ring.consumer().get_many()

One producer and one consumer, each used from one thread: that is what makes a
plain store enough to publish (asserted in debug runs, like the Disruptor's
``sameThread()``). Memory ordering: see ``slots`` (single 8-byte stores) and
``wait`` (x86-TSO, the fence around the sleeping flags).
"""

from __future__ import annotations

from dataclasses import dataclass

from ringmatch.engine.rings.consumer import RingConsumer
from ringmatch.engine.rings.producer import RingProducer
from ringmatch.engine.rings.shm import Segment, segment_name
from ringmatch.engine.rings.slots import (
    SlotArray,
    check_geometry,
    read_geometry,
    write_geometry,
)
from ringmatch.engine.rings.spsc_layout import (
    BELLS,
    CONSUMER_SLEEPING,
    MAGIC,
    PRODUCER_SLEEPING,
    SLOTS_AT,
)
from ringmatch.engine.rings.wait import DEFAULT_WAIT, Doorbell, SpinThenBlock


@dataclass(frozen=True, slots=True)
class RingSpec:
    """What another process needs to attach (picklable; geometry is in the header)."""

    name: str


class SpscRing:
    """The shared segment; take one ``producer()`` and one ``consumer()`` across processes."""

    __slots__ = ("buf", "capacity", "segment", "slot_size", "slots", "words")

    def __init__(self, segment: Segment, capacity: int, slot_size: int) -> None:
        self.segment = segment
        self.capacity = capacity
        self.slot_size = slot_size
        self.buf = segment.buf
        self.words = self.buf[:SLOTS_AT].cast("q")  # the header as int64 words
        self.slots = SlotArray(self.buf, segment.mapping, SLOTS_AT, capacity, slot_size)

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
        return bool(self.words[PRODUCER_SLEEPING])

    def consumer_asleep(self) -> bool:
        """Whether the consumer is blocked on the doorbell waiting for data (monitoring)."""
        return bool(self.words[CONSUMER_SLEEPING])

    def close(self) -> None:
        """Unmap (and unlink if ours or the creator is dead). Endpoints die with it."""
        self.slots.close()
        self.words.release()
        self.buf.release()
        self.segment.close()
