"""Ring records: how inputs and events are laid out in the rings' slots.

One module for both ends, so the gateway (which writes inputs and reads
events) and the core (the other way round) cannot drift apart:

* input ring record: the msgpack of one ``ringmatch.engine.schema.commands`` Input (a tagged,
  array_like Struct: ``["new", 0, "acct", "AAPL", "BUY", ...]``), at most
  ``INPUT_SLOT`` bytes;
* event ring record: the msgpack of one ``ringmatch.engine.schema.events`` Event, at most
  ``EVENT_SLOT`` bytes.

One record per input and per event, no batch form: the rings batch already
(one cursor store per ``put_many``), and a reader that wants only some events
(a gateway worker its own accounts') skips a record without decoding more.

Sizes: an event repeats at most two accounts and one symbol of the inputs
that caused it (a Trade: the maker's and the taker's), plus ~100 bytes of
numbers and tags, so an event ring slot of ``2 * INPUT_SLOT + 256`` holds any
event caused by inputs that fit their slots (``pipeline`` checks it).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import msgspec

from ringmatch.engine.schema.commands import Input
from ringmatch.engine.schema.events import Event

INPUT_SLOT = 256
EVENT_SLOT = 2 * INPUT_SLOT + 256

_encoder = msgspec.msgpack.Encoder()
_input_decoder = msgspec.msgpack.Decoder(Input)
_event_decoder = msgspec.msgpack.Decoder(Event)

DecodeError = msgspec.DecodeError  # also raised for a record of the wrong shape


class RecordTooLarge(ValueError):
    """An input whose record does not fit an input ring slot."""


def encode_input(inp: Input, slot_size: int = INPUT_SLOT) -> bytes:
    """The ring record of ``inp``; RecordTooLarge (naming the input) if it does not fit."""
    record = _encoder.encode(inp)
    if len(record) > slot_size:
        raise RecordTooLarge(
            f"{type(inp).__name__} encodes to {len(record)} bytes, over the input ring's "
            f"{slot_size}-byte slot (shorten the account or symbol)"
        )
    return record


def encode_inputs(inputs: Iterable[Input], slot_size: int = INPUT_SLOT) -> list[bytes]:
    return [encode_input(inp, slot_size) for inp in inputs]


def decode_input(record: bytes | memoryview) -> Input:
    """The Input in a ring record; ``DecodeError`` if it is not one."""
    return _input_decoder.decode(record)


def encode_events(events: Sequence[Event]) -> list[bytes]:
    encode = _encoder.encode
    return [encode(e) for e in events]


def decode_events(records: Iterable[bytes | memoryview]) -> list[Event]:
    decode = _event_decoder.decode
    return [decode(r) for r in records]
