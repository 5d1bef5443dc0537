"""Format 1 of the journal's frames (magic ``RMJ2``): msgpack bodies of input Structs.

Written before the kernel took records; still read, so that old data
directories recover and replay. Its inputs are the translated ones (the
core admitted them before journalling, engine order ids filled in), which
the kernel takes as they are: an input whose order id is set passes
untranslated, a NEW's client id is still registered. The reader converts
them to records on the fly through its Directory (``InputPacker``): the first
input that names something new gets a DEFINE first, in journal order, so
every reader of the same journal assigns the same ids.

``V1FrameEncoder`` is kept to write such journals (the tests' old data
directories, ``ringmatch journal convert``'s tests); nothing live writes them.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import msgspec

from ringmatch.engine.journal.format import (
    MAGIC_V1,
    MAX_BODY,
    V1_HEADER,
    V1_HEADER_SIZE,
    JournalCorrupt,
)
from ringmatch.engine.schema.commands import Input

Record = tuple[int, Input]

BODY_DECODER = msgspec.msgpack.Decoder(tuple[int, list[tuple[int, Input]]])


class V1FrameEncoder:
    """Writes format-1 frames (tests and fixtures only)."""

    __slots__ = ("_encoder",)

    def __init__(self) -> None:
        self._encoder = msgspec.msgpack.Encoder()

    def encode(self, records: Sequence[Record], synced_upto: int, prev_seq: int) -> bytearray:
        buf = bytearray(V1_HEADER_SIZE)
        self._encoder.encode_into((prev_seq, records), buf, V1_HEADER_SIZE)
        body_len = len(buf) - V1_HEADER_SIZE
        if body_len > MAX_BODY:
            raise ValueError(f"a batch of {body_len} bytes is over the {MAX_BODY} limit")
        V1_HEADER.pack_into(buf, 0, MAGIC_V1, 0, body_len, synced_upto)
        with memoryview(buf) as view:
            crc = zlib.crc32(view[8:])
        V1_HEADER.pack_into(buf, 0, MAGIC_V1, crc, body_len, synced_upto)
        return buf


def decode_v1(body: memoryview, path: str, offset: int) -> tuple[int, list[Record]]:
    """``(prev_seq, [(seq, input), ...])`` of a format-1 frame's body."""
    try:
        before, records = BODY_DECODER.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise JournalCorrupt(
            path, offset, f"batch passes its checksum but will not decode: {exc}"
        ) from exc
    if not records:
        raise JournalCorrupt(path, offset, "empty batch")
    return before, records
