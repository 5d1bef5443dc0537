"""The journal's bytes: segment names, frames, and telling a torn tail from corruption.

A data directory holds segment files named by the first seq they hold
(``00000000000000000001.journal``); other files are ignored (snapshots will
live there too). A segment is a run of frames, one frame per batch, the unit
of group commit::

    offset  size  field
    0       4     magic b"RMJ1" (lets a reader find the next frame after a bad one)
    4       4     crc32 (zlib) of bytes 8 .. end of body
    8       4     body length, little-endian
    12      8     synced_upto: how many bytes of this segment were known to be on
                  stable storage when this frame was written
    20      n     body: msgpack array [prev_seq, [[seq, input], ...]]: the inputs
                  (ringmatch.engine.schema.commands Structs, tagged, array_like: orders and
                  control inputs alike) with strictly increasing seqs, and
                  prev_seq, the last seq of the batch before this one (the
                  writer's ``start_after`` for the journal's first batch)

Seqs have gaps when several nodes share one ID space (Redis blocks), so the
reader cannot find a missing batch by counting. ``prev_seq`` chains each batch
to the one before it instead: a lost frame or a lost segment breaks the chain
and is reported, never skipped. A segment is named by a seq greater than every
seq before it and no greater than its own first (normally exactly its first;
see JournalWriter for the exception after a crash), which is what lets a
reader that starts after a snapshot skip whole segments unread.

One checksum per batch rather than per record: a batch is acknowledged whole or
not at all, so a half-written batch must read back as absent, never as a prefix.

Torn tail or corrupt middle? After the last good frame of the last segment
there may be bytes that are not a good frame. Two explanations:

* a crash while unsynced writes were in flight (a torn tail): nothing in them
  was ever promised durable, so they are cut off with a warning;
* damage to bytes that were already synced (a corrupt middle): data that was
  acknowledged is gone, so the start stops with JournalCorrupt.

The ``synced_upto`` field tells them apart without guessing: a good frame
found later in the file (the reader searches for the magic) that says the bad
offset was already synced proves damage to durable data. A good frame that
says nothing of the kind is just an unsynced write that landed after a lost
one (the kernel writes pages back in any order), and is cut off with the rest.
Segments before the last are synced whole before the next one is created, so
any bad frame in them is corruption.

What cannot be told apart: damage to the very last synced frame, with nothing
written after it, looks like a torn tail. Only a second copy could tell.
"""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Iterator, Sequence
from typing import NamedTuple

import msgspec

from ringmatch.engine.schema.commands import Input

MAGIC = b"RMJ2"
OLD_MAGICS = (b"RMJ1",)  # formats this reader refuses by name rather than as damage
HEADER = struct.Struct("<4sIIQ")
HEADER_SIZE = HEADER.size  # 20
_CHECKED = struct.Struct("<IQ")  # the header fields the crc covers, packed at offset 8
MAX_BODY = 1 << 30
"""A length above this is damage, not a batch: no batch comes near 1 GiB."""

SEGMENT_SUFFIX = ".journal"
_SEGMENT_NAME = re.compile(r"(\d{20})\.journal")

Record = tuple[int, Input]


class JournalError(Exception):
    """The journal cannot be used as it is."""


class JournalCorrupt(JournalError):
    """Bytes that were durable are damaged, or the journal breaks its own rules."""

    def __init__(self, path: str, offset: int, why: str) -> None:
        super().__init__(f"{path}: offset {offset}: {why}")
        self.path = path
        self.offset = offset
        self.why = why


class TornTail(NamedTuple):
    """Bytes after the last good frame that no later frame vouches for."""

    path: str
    offset: int  # where the bad bytes start: the journal is whole before it
    size: int  # how many bytes from there to the end of the file
    why: str  # what is wrong with the first bad frame
    frames_after: int  # good-looking unsynced frames after it, dropped with it

    def describe(self) -> str:
        dropped = (
            f", and {self.frames_after} unsynced frame(s) after it" if self.frames_after else ""
        )
        return (
            f"{self.path}: offset {self.offset}: torn journal tail ({self.why}); "
            f"{self.size} byte(s) from there on are not a whole batch{dropped}"
        )


class Frame(NamedTuple):
    offset: int
    end: int
    synced_upto: int
    body: memoryview


def segment_name(first_seq: int) -> str:
    return f"{first_seq:020d}{SEGMENT_SUFFIX}"


def segment_first_seq(name: str) -> int | None:
    """The first seq of a segment file's name, or None for another file."""
    m = _SEGMENT_NAME.fullmatch(name)
    return int(m.group(1)) if m else None


class FrameEncoder:
    __slots__ = ("_encoder",)

    def __init__(self) -> None:
        self._encoder = msgspec.msgpack.Encoder()

    def encode(self, records: Sequence[Record], synced_upto: int, prev_seq: int) -> bytearray:
        buf = bytearray(HEADER_SIZE)
        self._encoder.encode_into((prev_seq, records), buf, HEADER_SIZE)
        body_len = len(buf) - HEADER_SIZE
        if body_len > MAX_BODY:
            raise ValueError(f"a batch of {body_len} bytes is over the {MAX_BODY} limit")
        _CHECKED.pack_into(buf, 8, body_len, synced_upto)
        with memoryview(buf) as view:
            crc = zlib.crc32(view[8:])
        HEADER.pack_into(buf, 0, MAGIC, crc, body_len, synced_upto)
        return buf


BODY_DECODER = msgspec.msgpack.Decoder(tuple[int, list[tuple[int, Input]]])
HEAD_DECODER = msgspec.msgpack.Decoder(tuple[int, msgspec.Raw])
"""Only a frame's prev_seq (the records stay undecoded): lets a reader that starts
after a snapshot step over the batches before it ~20x faster than decoding them."""


def _frame_at(data: memoryview, pos: int) -> Frame | str:
    """The good frame at ``pos``, or why there is none."""
    size = len(data)
    if size - pos < HEADER_SIZE:
        return f"{size - pos} byte(s), less than a frame header"
    magic, crc, body_len, synced_upto = HEADER.unpack_from(data, pos)
    if magic != MAGIC:
        return "no frame marker"
    end = pos + HEADER_SIZE + body_len
    if body_len > MAX_BODY or end > size:
        return f"frame length {body_len} runs past the end of the file ({size} bytes)"
    if zlib.crc32(data[pos + 8 : end]) != crc:
        return "checksum mismatch"
    return Frame(pos, end, synced_upto, data[pos + HEADER_SIZE : end])


def _good_frames_after(data: memoryview, start: int) -> Iterator[Frame]:
    """Every good frame that starts at or after ``start``, found by its magic."""
    raw = data.obj
    assert isinstance(raw, bytes)
    pos = raw.find(MAGIC, start)
    while pos >= 0:
        found = _frame_at(data, pos)
        if isinstance(found, Frame):
            yield found
            pos = raw.find(MAGIC, found.end)
        else:
            pos = raw.find(MAGIC, pos + 1)


def scan_segment(data: bytes, path: str, last: bool) -> tuple[list[Frame], TornTail | None]:
    """The good frames of a segment from its start, and its torn tail if any.

    Raises JournalCorrupt when the bytes after the good frames were already
    synced (see the module's docstring). Checks checksums only; the bodies
    are decoded by the reader.
    """
    if data[:4] in OLD_MAGICS:
        raise JournalError(
            f"{path}: a journal in format {data[:4].decode()}, written by an older version; "
            f"this one reads {MAGIC.decode()} (replay it with the version that wrote it)"
        )
    view = memoryview(data)
    frames: list[Frame] = []
    pos = 0
    size = len(data)
    while pos < size:
        found = _frame_at(view, pos)
        if not isinstance(found, Frame):
            break
        if found.synced_upto > pos:
            raise JournalCorrupt(
                path, pos, f"frame claims {found.synced_upto} bytes synced, beyond its own start"
            )
        frames.append(found)
        pos = found.end
    if pos == size:
        return frames, None
    why = found if isinstance(found, str) else ""
    if not last:
        raise JournalCorrupt(
            path, pos, f"bad frame ({why}) in a closed segment, which was synced whole"
        )
    later = list(_good_frames_after(view, pos + 1))
    for frame in later:
        if frame.synced_upto > pos:
            raise JournalCorrupt(
                path,
                pos,
                f"bad frame ({why}) in synced data: the frame at offset {frame.offset} "
                f"records that the first {frame.synced_upto} bytes were synced",
            )
    return frames, TornTail(path, pos, size - pos, why, len(later))
