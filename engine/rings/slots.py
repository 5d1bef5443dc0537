"""The storage both rings share: a header of 8-byte words and ``capacity`` length-prefixed slots.

Segment layout (byte offsets; every field another process writes sits on its own
``LINE``, so a producer and a consumer never write the same cache line pair):

    0                 geometry words: magic, version, capacity, slot_size, extra
    LINE * k          cursor/flag words owned by one process each (ring specific)
    lengths_at        capacity x uint32: the record length stored in each slot
    slots_at          capacity x slot_size bytes of record payload

Sequences are int64 counters that only grow; a sequence lives in slot
``seq & (capacity - 1)``. Cursor words are read and written through
``memoryview.cast('q')``: an aligned 8-byte item, which CPython packs with one
8-byte ``memcpy`` that compilers emit as a single ``mov`` (in practice atomic on
x86-64; the C standard does not promise it, this is the honest limit).
"""

from __future__ import annotations

import array
import mmap
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

# 128, not 64: x86's adjacent-line prefetcher pulls cache lines in pairs.
LINE = 128
WORDS_PER_LINE = LINE // 8
VERSION = 1
MAX_SLOT = 1 << 20
MAX_CAPACITY = 1 << 24


def check_geometry(capacity: int, slot_size: int) -> None:
    if capacity < 2 or capacity > MAX_CAPACITY or capacity & (capacity - 1):
        raise ValueError(f"ring capacity {capacity}: must be a power of two in 2..{MAX_CAPACITY}")
    if not 1 <= slot_size <= MAX_SLOT:
        raise ValueError(f"ring slot_size {slot_size}: must be in 1..{MAX_SLOT} bytes")


def check_records(records: Sequence[bytes], slot_size: int) -> None:
    """Reject an oversized record before any of the batch is written."""
    if records and max(map(len, records)) > slot_size:
        for index, record in enumerate(records):
            if len(record) > slot_size:
                raise ValueError(
                    f"record {index} of the batch is {len(record)} bytes; "
                    f"the ring's slot_size is {slot_size}"
                )


def write_geometry(
    words: memoryview, magic: int, capacity: int, slot_size: int, extra: int
) -> None:
    words[1] = VERSION
    words[2] = capacity
    words[3] = slot_size
    words[4] = extra
    words[0] = magic  # last: an attacher that sees the magic sees the geometry


def read_geometry(words: memoryview, magic: int, name: str) -> tuple[int, int, int]:
    """``(capacity, slot_size, extra)`` of an existing ring, checked."""
    if words[0] != magic or words[1] != VERSION:
        raise ValueError(
            f"shared-memory segment {name!r} is not a ring of this kind/version "
            f"(magic {words[0]:#x}, version {words[1]})"
        )
    capacity, slot_size, extra = words[2], words[3], words[4]
    check_geometry(capacity, slot_size)
    return capacity, slot_size, extra


def _round_up(n: int, to: int) -> int:
    return (n + to - 1) // to * to


class SlotArray:
    """The record slots and their lengths, inside one mapped segment."""

    __slots__ = (
        "_buf",
        "_lengths",
        "_map",
        "_np_slots",
        "_same",
        "capacity",
        "mask",
        "slot_size",
        "slots_at",
    )

    @staticmethod
    def nbytes(capacity: int, slot_size: int) -> int:
        return _round_up(capacity * 4, LINE) + _round_up(capacity * slot_size, LINE)

    def __init__(
        self, buf: memoryview, mapping: mmap.mmap, at: int, capacity: int, slot_size: int
    ) -> None:
        self.capacity = capacity
        self.mask = capacity - 1
        self.slot_size = slot_size
        self._lengths = buf[at : at + capacity * 4].cast("I")
        self.slots_at = at + _round_up(capacity * 4, LINE)
        self._map = mapping
        self._buf = buf
        self._np_slots: npt.NDArray[np.uint8] | None = None
        self._same: memoryview | None = None  # capacity copies of one record width

    def write(self, seq: int, records: Sequence[bytes]) -> None:
        """Copy ``records`` into the slots of ``seq, seq + 1, ...`` (sizes already checked)."""
        mask, size, base = self.mask, self.slot_size, self.slots_at
        lengths, mapping = self._lengths, self._map
        for record in records:
            slot = seq & mask
            n = len(record)
            lengths[slot] = n
            at = base + slot * size
            mapping[at : at + n] = record
            seq += 1

    def read(self, seq: int, count: int) -> list[bytes]:
        """Copies of the records ``seq .. seq + count - 1``."""
        mask, size, base = self.mask, self.slot_size, self.slots_at
        lengths, mapping = self._lengths, self._map
        out: list[bytes] = []
        append = out.append
        for s in range(seq, seq + count):
            slot = s & mask
            at = base + slot * size
            append(mapping[at : at + lengths[slot]])
        return out

    def views(self, buf: memoryview, seq: int, count: int) -> list[memoryview]:
        """Zero-copy views of the records; valid only until the reader releases them."""
        mask, size, base, lengths = self.mask, self.slot_size, self.slots_at, self._lengths
        out: list[memoryview] = []
        for s in range(seq, seq + count):
            slot = s & mask
            at = base + slot * size
            out.append(buf[at : at + lengths[slot]])
        return out

    # --- the numpy fast path: fixed-size records, one copy per contiguous run ---------------

    # Lengths stay in the memoryview: comparing or assigning a run of them against a
    # cached array('I') is a memcmp/memcpy, several times cheaper than a numpy call.

    def _arrays(self) -> npt.NDArray[np.uint8]:
        if self._np_slots is None:
            import numpy as np  # only rings that use arrays pay numpy's import

            at, cap, size = self.slots_at, self.capacity, self.slot_size
            self._np_slots = np.frombuffer(self._buf, np.uint8, cap * size, at).reshape(cap, size)
        return self._np_slots

    def _same_lengths(self, width: int) -> memoryview:
        if self._same is None or self._same[0] != width:
            self._same = memoryview(array.array("I", [width]) * self.capacity)
        return self._same

    def check_array(self, array: npt.NDArray[Any]) -> None:
        if array.ndim != 1 or array.dtype.itemsize > self.slot_size:
            raise ValueError(
                f"record array of shape {array.shape} and {array.dtype.itemsize}-byte items: "
                f"need one dimension and items of at most slot_size {self.slot_size} bytes"
            )

    def _runs(self, seq: int, count: int) -> list[tuple[int, int, int]]:
        """(slot, offset in the batch, length) of the one or two contiguous slot runs."""
        first = seq & self.mask
        head = min(count, self.capacity - first)
        return [(first, 0, head)] if head == count else [(first, 0, head), (0, head, count - head)]

    def write_array(self, seq: int, array: npt.NDArray[Any]) -> None:
        """Store ``array``'s items (a structured dtype, say) as records, fixed length each."""
        import numpy as np

        slots = self._arrays()
        width = array.dtype.itemsize
        rows = np.ascontiguousarray(array).view(np.uint8).reshape(len(array), width)
        lengths, same = self._lengths, self._same_lengths(width)
        for slot, at, n in self._runs(seq, len(array)):
            slots[slot : slot + n, :width] = rows[at : at + n]
            lengths[slot : slot + n] = same[:n]

    def read_array(self, seq: int, count: int, dtype: np.dtype[Any]) -> npt.NDArray[Any]:
        """A copy of records ``seq..`` as an array of ``dtype``; each must be that long."""
        import numpy as np

        slots = self._arrays()
        width = dtype.itemsize
        out = np.empty((count, width), np.uint8)
        lengths, same = self._lengths, self._same_lengths(width)
        for slot, at, n in self._runs(seq, count):
            if lengths[slot : slot + n] != same[:n]:
                raise ValueError(
                    f"records from sequence {seq + at} are not all {width} bytes ({dtype})"
                )
            out[at : at + n] = slots[slot : slot + n, :width]
        return out.view(dtype).reshape(count)

    def close(self) -> None:
        self._np_slots = None  # numpy holds a buffer export until dropped
        self._lengths.release()
