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

from collections.abc import Sequence
from dataclasses import dataclass

from ringmatch.engine.rings.event_layout import (
    CUT_OFF,
    MAGIC,
    MAX_READERS,
    REQUIRED,
    SLEEPING,
    WRITER_SLEEPING,
    reader_word,
)
from ringmatch.engine.rings.event_reader import EventReader
from ringmatch.engine.rings.event_writer import EventWriter
from ringmatch.engine.rings.shm import Segment, segment_name
from ringmatch.engine.rings.slots import (
    LINE,
    SlotArray,
    check_geometry,
    read_geometry,
    write_geometry,
)
from ringmatch.engine.rings.wait import DEFAULT_WAIT, Doorbell, SpinThenBlock


def _bells(readers: int) -> tuple[str, ...]:
    return ("space", *(f"data-{k}" for k in range(readers)))


@dataclass(frozen=True, slots=True)
class EventRingSpec:
    """What another process needs to attach (picklable; geometry is in the header)."""

    name: str


class EventRing:
    """The shared segment: one ``writer()``, and ``reader(k)`` for each declared reader."""

    __slots__ = ("buf", "capacity", "readers", "segment", "slot_size", "slots", "words")

    def __init__(self, segment: Segment, capacity: int, slot_size: int, readers: int) -> None:
        self.segment = segment
        self.capacity = capacity
        self.slot_size = slot_size
        self.readers = readers
        header = (2 + readers) * LINE
        self.buf = segment.buf
        self.words = self.buf[:header].cast("q")  # the header as int64 words
        self.slots = SlotArray(self.buf, segment.mapping, header, capacity, slot_size)

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
            words[reader_word(k, REQUIRED)] = int(bool(needed))
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
        return bool(self.words[reader_word(index, CUT_OFF)])

    def reader_asleep(self, index: int) -> bool:
        """Whether reader ``index`` is blocked on its doorbell waiting for data (monitoring)."""
        return bool(self.words[reader_word(index, SLEEPING)])

    def writer_asleep(self) -> bool:
        """Whether the writer is blocked on the doorbell waiting for room (monitoring)."""
        return bool(self.words[WRITER_SLEEPING])

    def close(self) -> None:
        """Unmap (and unlink if ours or the creator is dead). Endpoints die with it."""
        self.slots.close()
        self.words.release()
        self.buf.release()
        self.segment.close()
