"""The journal's bytes: segment names, frames, and telling a torn tail from corruption.

A data directory holds segment files named by the first seq they hold
(``00000000000000000001.journal``); other files are ignored (snapshots live
there too). A segment is a run of frames, one frame per batch, the unit of
group commit. A frame of format 2 (magic ``RMJ3``, written since the kernel
took records) holds the batch's input records exactly as the kernel takes
them (ringmatch.engine.records.layout, docs/PIPELINE.md "Records"), so that
appending is one copy and recovery hands the body straight to the kernel::

    offset  size  field
    0       4     magic b"RMJ3" (lets a reader find the next frame after a bad one)
    4       4     crc32c (Castagnoli) of bytes 8 .. end of body
    8       4     body length n, little-endian: a multiple of 64
    12      2     layout version of the records (records.layout.LAYOUT_VERSION)
    14      2     flags: 1 DEFINES (the body holds DEFINE records), 2 CORE_INPUTS
                  (it holds a STAGE_CHAIN or a SKIP_INPUT): readers that look
                  ahead for those decode only the frames that have them
    16      8     synced_upto: how many bytes of this segment were known to be on
                  stable storage when this frame was written
    24      8     prev_seq: the last seq of the batch before this one (the
                  writer's ``start_after`` for the journal's first batch)
    32      8     first_seq: the seq of the batch's first input
    40      8     last_seq: the seq of its last input
    48      n     body: n / 64 input records (INPUT_DTYPE, 64 bytes each): the
                  inputs with their seqs stamped, strictly increasing, each
                  preceded by the DEFINE records of names it was the first to
                  use and followed by the continuation records of its text

Every integer is little-endian; the body starts 16-byte aligned within the
frame. The seqs in the header are the body's (the writer fills them in), so a
reader checks the chain and steps over batches without touching the body,
and the checksum vouches for the body as a whole.

Format 1 (magic ``RMJ2``, msgpack, written before records) is still read:
the same 20 first bytes (magic, crc32 from zlib, body length, synced_upto),
then a msgpack body ``[prev_seq, [[seq, input], ...]]`` of translated input
Structs (ringmatch.engine.schema.commands). The reader gives its inputs as
records too, converted through a Directory (ringmatch.engine.journal.v1);
both formats may follow each other in one journal. ``RMJ1``, older still,
is refused by name.

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
from collections.abc import Iterator
from typing import Final, NamedTuple, Protocol

import crc32c
import numpy as np

from ringmatch.engine.records import layout

MAGIC: Final = b"RMJ3"
"""Format 2: a body of input records."""
MAGIC_V1: Final = b"RMJ2"
"""Format 1: a msgpack body of input Structs (read, converted; ringmatch.engine.journal.v1)."""
OLD_MAGICS: Final = (b"RMJ1",)  # formats this reader refuses by name rather than as damage
HEADER: Final = struct.Struct("<4sIIHHQQQQ")
HEADER_SIZE: Final = HEADER.size  # 48
_CHECKED: Final = struct.Struct("<IHHQQQQ")  # the header fields the crc covers, at offset 8
V1_HEADER: Final = struct.Struct("<4sIIQ")
V1_HEADER_SIZE: Final = V1_HEADER.size  # 20
MAX_BODY: Final = 1 << 30
"""A length above this is damage, not a batch: no batch comes near 1 GiB."""
_ANY_MAGIC = re.compile(re.escape(MAGIC) + b"|" + re.escape(MAGIC_V1))

# Frame flags (format 2).
DEFINES: Final = 1
CORE_INPUTS: Final = 2

SEGMENT_SUFFIX = ".journal"
_SEGMENT_NAME = re.compile(r"(\d{20})\.journal")


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
    """One good frame. ``version`` 2: records (the seqs and flags from its header);
    1: msgpack (``flags`` 0, the seqs 0: its body says them)."""

    offset: int
    end: int
    synced_upto: int
    body: memoryview
    version: int
    layout: int  # the records' layout version (format 2; 0 for format 1)
    flags: int
    prev_seq: int
    first_seq: int
    last_seq: int


def segment_name(first_seq: int) -> str:
    return f"{first_seq:020d}{SEGMENT_SUFFIX}"


def segment_first_seq(name: str) -> int | None:
    """The first seq of a segment file's name, or None for another file."""
    m = _SEGMENT_NAME.fullmatch(name)
    return int(m.group(1)) if m else None


def encode_frame(
    records: np.ndarray,
    *,
    synced_upto: int,
    prev_seq: int,
    first_seq: int,
    last_seq: int,
    flags: int = 0,
) -> bytearray:
    """A format-2 frame holding ``records`` (INPUT_DTYPE): the header, then their bytes."""
    body = np.ascontiguousarray(records).view(np.uint8).data  # the bytes, padding and all
    body_len = len(body)
    if body_len > MAX_BODY:
        raise ValueError(f"a batch of {body_len} bytes is over the {MAX_BODY} limit")
    buf = bytearray(HEADER_SIZE + body_len)
    buf[HEADER_SIZE:] = body  # the one copy appending costs
    _CHECKED.pack_into(
        buf, 8, body_len, layout.LAYOUT_VERSION, flags, synced_upto, prev_seq, first_seq, last_seq
    )
    with memoryview(buf) as view:
        crc = crc32c.crc32c(view[8:])
    struct.pack_into("<4sI", buf, 0, MAGIC, crc)
    return buf


def _frame_at(data: memoryview, pos: int) -> Frame | str:
    """The good frame at ``pos``, or why there is none."""
    size = len(data)
    magic = bytes(data[pos : pos + 4])
    if magic == MAGIC_V1:
        return _v1_frame_at(data, pos)
    if size - pos < HEADER_SIZE:
        return f"{size - pos} byte(s), less than a frame header"
    if magic != MAGIC:
        return "no frame marker"
    _, crc, body_len, version, flags, synced_upto, prev, first, last = HEADER.unpack_from(data, pos)
    end = pos + HEADER_SIZE + body_len
    if body_len > MAX_BODY or end > size:
        return f"frame length {body_len} runs past the end of the file ({size} bytes)"
    if crc32c.crc32c(data[pos + 8 : end]) != crc:
        return "checksum mismatch"
    body = data[pos + HEADER_SIZE : end]
    return Frame(pos, end, synced_upto, body, 2, version, flags, prev, first, last)


def _v1_frame_at(data: memoryview, pos: int) -> Frame | str:
    size = len(data)
    if size - pos < V1_HEADER_SIZE:
        return f"{size - pos} byte(s), less than a frame header"
    _, crc, body_len, synced_upto = V1_HEADER.unpack_from(data, pos)
    end = pos + V1_HEADER_SIZE + body_len
    if body_len > MAX_BODY or end > size:
        return f"frame length {body_len} runs past the end of the file ({size} bytes)"
    if zlib.crc32(data[pos + 8 : end]) != crc:
        return "checksum mismatch"
    return Frame(pos, end, synced_upto, data[pos + V1_HEADER_SIZE : end], 1, 0, 0, 0, 0, 0)


def frame_records(frame: Frame, path: str) -> np.ndarray:
    """The input records of a format-2 frame (a read-only view of its body)."""
    if frame.version != 2:
        raise ValueError("a format-1 frame holds msgpack, not records")
    body = frame.body
    if len(body) % layout.INPUT_SIZE or not body:
        raise JournalCorrupt(
            path, frame.offset, f"a body of {len(body)} bytes is not a whole number of records"
        )
    return np.frombuffer(body, layout.INPUT_DTYPE)


def check_layout(frame: Frame, path: str) -> None:
    """A frame whose records are laid out otherwise than this version's cannot be read."""
    version = frame.layout
    if frame.version == 2 and version not in layout.READABLE_LAYOUTS:
        readable = " and ".join(map(str, sorted(layout.READABLE_LAYOUTS)))
        raise JournalError(
            f"{path}: offset {frame.offset}: records of layout version {version}; this "
            f"version reads layouts {readable} (convert the journal with the version "
            f"that wrote it)"
        )


class SegmentReader(Protocol):
    size: int

    def read_at(self, offset: int, size: int) -> bytes: ...

    def close(self) -> None: ...


def frame_headers(segment: SegmentReader) -> Iterator[tuple[int, int, int, int]]:
    """(offset, end, format version, flags) of each frame of a segment, walking the
    headers alone (a 48-byte read each), up to the first that is not a frame header:
    unchecked, so only for a closed segment, where any bad frame is damage the reader
    will report, and for frames whose bodies are then read and checked."""
    pos, size = 0, segment.size
    while pos < size:
        head = segment.read_at(pos, HEADER_SIZE)
        magic = head[:4]
        if magic == MAGIC and len(head) == HEADER_SIZE:
            body_len, flags = struct.unpack_from("<IxxH", head, 8)
            end = pos + HEADER_SIZE + body_len
            version = 2
        elif magic == MAGIC_V1 and len(head) >= V1_HEADER_SIZE:
            end = pos + V1_HEADER_SIZE + struct.unpack_from("<I", head, 8)[0]
            version, flags = 1, 0
        else:
            return
        if end > size:
            return
        yield pos, end, version, flags
        pos = end


def frame_in(data: bytes, path: str, offset: int) -> Frame:
    """The frame that is all of ``data`` (read from ``offset`` of ``path``), checked."""
    found = _frame_at(memoryview(data), 0)
    if isinstance(found, str) or found.end != len(data):
        raise JournalCorrupt(path, offset, f"bad frame ({found}) in a closed segment")
    return found


def _good_frames_after(data: memoryview, start: int) -> Iterator[Frame]:
    """Every good frame that starts at or after ``start``, found by its magic."""
    raw = data.obj
    assert isinstance(raw, bytes)
    found = _ANY_MAGIC.search(raw, start)
    while found is not None:
        pos = found.start()
        frame = _frame_at(data, pos)
        if isinstance(frame, Frame):
            yield frame
            found = _ANY_MAGIC.search(raw, frame.end)
        else:
            found = _ANY_MAGIC.search(raw, pos + 1)


def scan_segment(data: bytes, path: str, last: bool) -> tuple[list[Frame], TornTail | None]:
    """The good frames of a segment from its start, and its torn tail if any.

    Raises JournalCorrupt when the bytes after the good frames were already
    synced (see the module's docstring). Checks checksums only; the bodies
    are decoded by the reader.
    """
    if data[:4] in OLD_MAGICS:
        raise JournalError(
            f"{path}: a journal in format {data[:4].decode()}, written by an older version; "
            f"this one reads {MAGIC.decode()} and {MAGIC_V1.decode()} (replay it with the "
            f"version that wrote it)"
        )
    view = memoryview(data)
    frames: list[Frame] = []
    pos = 0
    size = len(data)
    found: Frame | str = ""
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
