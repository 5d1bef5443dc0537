"""One writer, many readers: every reader sees every record, each at its own pace.

                          ┌─▶ reader 0 (required)  own CURSOR line
    writer ─▶ slots ──────┼─▶ reader 1 (required)  own CURSOR line
      PUBLISHED, CLAIMED  └─▶ reader 2 (optional)  own CURSOR line, may be cut off

The writer only overwrites a slot once every *required* reader has consumed it,
so the slowest required reader gates it (it waits, spin then doorbell). Optional
readers never gate it: one that falls a whole ring behind has lost records, and
its next read raises ``ReaderCutOff`` until it calls ``rejoin()``.

An optional reader cannot stop the writer overwriting what it is copying, so it
checks afterwards, seqlock style: the writer stores CLAIMED (the end of the batch
it is about to write) *before* the payload, and PUBLISHED after it. A reader that
copied sequences from ``cursor`` on and then still sees ``CLAIMED - capacity <=
cursor`` knows no write into those slots had begun: on x86-TSO the writer's
stores become visible in program order and the reader's loads happen in program
order, so had any of the overwriting payload been visible, CLAIMED would be too.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from engine.ring_errors import ReaderCutOff, RingFull
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
from engine.wait import DEFAULT_WAIT, Doorbell, SpinThenBlock, full_fence, wake

MAGIC = 0x524D_4556_4E54  # "RMEVNT"
MAX_READERS = 64
PUBLISHED = 1 * WORDS_PER_LINE  # writer's line: next sequence to be published
CLAIMED = PUBLISHED + 1  # end of the batch being written (>= PUBLISHED)
WRITER_SLEEPING = PUBLISHED + 2
# Reader k's line starts at word (2 + k) * WORDS_PER_LINE, fields at these offsets:
CURSOR, SLEEPING, REQUIRED, CUT_OFF = 0, 1, 2, 3


def _reader_word(reader: int, field: int) -> int:
    return (2 + reader) * WORDS_PER_LINE + field


def _bells(readers: int) -> tuple[str, ...]:
    return ("space", *(f"data-{k}" for k in range(readers)))


@dataclass(frozen=True, slots=True)
class EventRingSpec:
    """What another process needs to attach (picklable; geometry is in the header)."""

    name: str


class EventRing:
    """The shared segment: one ``writer()``, and ``reader(k)`` for each declared reader."""

    __slots__ = ("_buf", "_words", "capacity", "readers", "segment", "slot_size", "slots")

    def __init__(self, segment: Segment, capacity: int, slot_size: int, readers: int) -> None:
        self.segment = segment
        self.capacity = capacity
        self.slot_size = slot_size
        self.readers = readers
        header = (2 + readers) * LINE
        self._buf = segment.buf
        self._words = self._buf[:header].cast("q")
        self.slots = SlotArray(self._buf, segment.mapping, header, capacity, slot_size)

    @classmethod
    def create(
        cls, prefix: str, role: str, capacity: int, slot_size: int, required: Sequence[bool]
    ) -> EventRing:
        """A ring with ``len(required)`` readers; ``required[k]`` says if reader k gates."""
        check_geometry(capacity, slot_size)
        if not 1 <= len(required) <= MAX_READERS:
            raise ValueError(f"event ring readers: {len(required)}, must be 1..{MAX_READERS}")
        header = (2 + len(required)) * LINE
        size = header + SlotArray.nbytes(capacity, slot_size)
        bells = _bells(len(required))
        segment = Segment.create(segment_name(prefix, role), size, companions=bells)
        for bell in bells:
            Doorbell.create(segment.companion(bell)).close()
        words = segment.buf[:header].cast("q")
        for k, needed in enumerate(required):
            words[_reader_word(k, REQUIRED)] = int(bool(needed))
        write_geometry(words, MAGIC, capacity, slot_size, len(required))
        words.release()
        return cls(segment, capacity, slot_size, len(required))

    @classmethod
    def attach(cls, spec: EventRingSpec) -> EventRing:
        segment = Segment.attach(spec.name)
        words = segment.buf[:LINE].cast("q")
        try:
            capacity, slot_size, readers = read_geometry(words, MAGIC, spec.name)
        except ValueError:
            words.release()
            segment.close()
            raise
        words.release()
        segment.companions = _bells(readers)
        return cls(segment, capacity, slot_size, readers)

    @property
    def spec(self) -> EventRingSpec:
        return EventRingSpec(self.segment.name)

    def writer(self, wait: SpinThenBlock = DEFAULT_WAIT) -> EventWriter:
        return EventWriter(self, wait)

    def reader(self, index: int, wait: SpinThenBlock = DEFAULT_WAIT) -> EventReader:
        if not 0 <= index < self.readers:
            raise ValueError(f"event ring {self.segment.name} has readers 0..{self.readers - 1}")
        return EventReader(self, index, wait)

    def cut_off(self, index: int) -> bool:
        """Whether optional reader ``index`` has found itself cut off (monitoring)."""
        return bool(self._words[_reader_word(index, CUT_OFF)])

    def reader_asleep(self, index: int) -> bool:
        """Whether reader ``index`` is blocked on its doorbell waiting for data (monitoring)."""
        return bool(self._words[_reader_word(index, SLEEPING)])

    def writer_asleep(self) -> bool:
        """Whether the writer is blocked on the doorbell waiting for room (monitoring)."""
        return bool(self._words[WRITER_SLEEPING])

    def close(self) -> None:
        """Unmap (and unlink if ours or the creator is dead). Endpoints die with it."""
        self.slots.close()
        self._words.release()
        self._buf.release()
        self.segment.close()


class EventWriter:
    """The one writer; gated by the slowest required reader, never by an optional one."""

    __slots__ = ("_bell_space", "_bells", "_gate", "_gates", "_head", "_thread", "_wait", "ring")

    def __init__(self, ring: EventRing, wait: SpinThenBlock) -> None:
        self.ring = ring
        self._wait = wait
        words = ring._words
        self._head = words[PUBLISHED]
        self._gates = [
            _reader_word(k, CURSOR) for k in range(ring.readers) if words[_reader_word(k, REQUIRED)]
        ]
        self._gate = self._head
        self._has_space()
        self._bell_space = Doorbell(ring.segment.companion("space"))
        self._bells = [
            (_reader_word(k, SLEEPING), Doorbell(ring.segment.companion(f"data-{k}")))
            for k in range(ring.readers)
        ]
        self._thread = threading.get_ident()

    def _free(self) -> int:
        return self.ring.capacity - (self._head - self._gate)

    def _has_space(self) -> bool:
        words = self.ring._words
        self._gate = min((words[g] for g in self._gates), default=self._head)
        return self._head - self._gate < self.ring.capacity

    def _publish(self, batch: Sequence[bytes]) -> None:
        end = self._head + len(batch)
        words = self.ring._words
        words[CLAIMED] = end  # before the payload: optional readers detect overwrites
        self.ring.slots.write(self._head, batch)
        self._head = end
        # Publish: the payload stores above precede this cursor store (x86 keeps
        # stores in order), so a reader that reads the cursor sees the payload.
        words[PUBLISHED] = end
        full_fence()  # the cursor is visible before we read the sleeping flags
        for flag, bell in self._bells:
            if words[flag]:
                bell.ring()

    def try_put_many(self, records: Sequence[bytes]) -> int:
        """Publish as many leading records as fit now; return how many."""
        assert threading.get_ident() == self._thread, "an event-ring writer is single-threaded"
        check_records(records, self.ring.slot_size)
        if self._free() < len(records):
            self._has_space()
        count = min(self._free(), len(records))
        if count:
            self._publish(records if count == len(records) else records[:count])
        return count

    def put_many(self, records: Sequence[bytes], timeout: float | None = None) -> None:
        """Publish all records in order, waiting for room; ``RingFull`` after ``timeout`` s."""
        assert threading.get_ident() == self._thread, "an event-ring writer is single-threaded"
        check_records(records, self.ring.slot_size)
        deadline = None if timeout is None else time.monotonic() + timeout
        done, wanted = 0, len(records)
        while done < wanted:
            if self._free() < wanted - done:
                self._has_space()
            if not self._free():
                left = None if deadline is None else deadline - time.monotonic()
                words = self.ring._words
                if not self._wait.wait(
                    self._has_space, words, WRITER_SLEEPING, self._bell_space, left
                ):
                    raise RingFull(self.ring.segment.name, done, wanted)
            count = min(self._free(), wanted - done)
            self._publish(records[done : done + count] if count < wanted else records)
            done += count

    def put(self, record: bytes, timeout: float | None = None) -> None:
        self.put_many((record,), timeout)

    def close(self) -> None:
        self._bell_space.close()
        for _, bell in self._bells:
            bell.close()


class EventReader:
    """Reader ``index``: its own cursor; ``get_many`` copies out a batch."""

    __slots__ = (
        "_bell_data",
        "_bell_space",
        "_cursor",
        "_flags",
        "_lost_from",
        "_thread",
        "_wait",
        "index",
        "required",
        "ring",
    )

    def __init__(self, ring: EventRing, index: int, wait: SpinThenBlock) -> None:
        self.ring = ring
        self.index = index
        self._wait = wait
        words = ring._words
        self._flags = _reader_word(index, 0)
        self.required = bool(words[self._flags + REQUIRED])
        self._cursor = words[self._flags + CURSOR]
        self._lost_from: int | None = None
        self._bell_data = Doorbell(ring.segment.companion(f"data-{index}"))
        self._bell_space = Doorbell(ring.segment.companion("space"))
        self._thread = threading.get_ident()

    def _has_data(self) -> bool:
        return self.ring._words[PUBLISHED] != self._cursor

    def _cut_off(self) -> ReaderCutOff:
        self._lost_from = self._cursor
        self.ring._words[self._flags + CUT_OFF] = 1
        return ReaderCutOff(self.ring.segment.name, self.index, self._cursor)

    def get_many(self, limit: int | None = None, timeout: float | None = None) -> list[bytes]:
        """Every available record (at most ``limit``), waiting up to ``timeout`` s for one.

        ``timeout=None`` waits forever, ``0`` never waits; ``[]`` means it timed out.
        """
        assert threading.get_ident() == self._thread, "an event-ring reader is single-threaded"
        ring, words, cursor = self.ring, self.ring._words, self._cursor
        if self._lost_from is not None:
            raise ReaderCutOff(ring.segment.name, self.index, self._lost_from)
        if words[PUBLISHED] == cursor and not self._wait.wait(
            self._has_data, words, self._flags + SLEEPING, self._bell_data, timeout
        ):
            return []
        available = words[PUBLISHED] - cursor
        if available > ring.capacity:
            raise self._cut_off()
        count = available if limit is None else min(available, limit)
        records = ring.slots.read(cursor, count)
        if not self.required and words[CLAIMED] - ring.capacity > cursor:
            raise self._cut_off()  # the writer began overwriting what we copied
        self._cursor = cursor + count
        # Free the slots: the copies above precede this store.
        words[self._flags + CURSOR] = self._cursor
        if self.required:
            wake(words, WRITER_SLEEPING, self._bell_space)
        return records

    def rejoin(self) -> int:
        """Skip to the newest record after a cut-off; return the first sequence lost."""
        words = self.ring._words
        lost_from = self._cursor if self._lost_from is None else self._lost_from
        self._cursor = words[PUBLISHED]
        words[self._flags + CURSOR] = self._cursor
        words[self._flags + CUT_OFF] = 0
        self._lost_from = None
        return lost_from

    def close(self) -> None:
        self._bell_data.close()
        self._bell_space.close()
