"""Microbenchmarks of the codec: msgspec msgpack encode/decode of commands and events.

.venv/bin/python -m pytest benchmarks/ --benchmark-only
"""

from __future__ import annotations

from typing import Any

import msgspec

from ringmatch.engine.schema.commands import Cancel, Command, NewOrder
from ringmatch.engine.schema.enums import OrderType, Side, TimeInForce
from ringmatch.engine.schema.events import Accepted, Event, Trade

NEW = NewOrder(123456, "acct042", "AAPL", Side.BUY, OrderType.LIMIT, 10_005, 42)
CANCEL = Cancel(123456, "acct042")
ACCEPTED = Accepted(
    7, 123456, "acct042", "AAPL", Side.BUY, OrderType.LIMIT, TimeInForce.GTC, 10_005, 42
)
TRADE = Trade(7, 99, "AAPL", 10_005, 42, 5, 123456, "acct001", "acct042", Side.BUY, 0, 0)
BATCH = [NEW, CANCEL] * 32

command_encoder = msgspec.msgpack.Encoder()
command_decoder = msgspec.msgpack.Decoder(Command)
commands_decoder = msgspec.msgpack.Decoder(list[Command])
event_decoder = msgspec.msgpack.Decoder(Event)


def test_encode_new_order(benchmark: Any) -> None:
    benchmark(command_encoder.encode, NEW)


def test_decode_new_order(benchmark: Any) -> None:
    benchmark(command_decoder.decode, command_encoder.encode(NEW))


def test_encode_into_reused_buffer(benchmark: Any) -> None:
    buf = bytearray(256)
    benchmark(command_encoder.encode_into, NEW, buf, 4)  # after a 4-byte length prefix


def test_decode_batch_of_64_commands(benchmark: Any) -> None:
    benchmark(commands_decoder.decode, command_encoder.encode(BATCH))


def test_encode_trade_event(benchmark: Any) -> None:
    benchmark(command_encoder.encode, TRADE)


def test_decode_accepted_event(benchmark: Any) -> None:
    benchmark(event_decoder.decode, command_encoder.encode(ACCEPTED))
