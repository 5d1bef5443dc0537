"""The server's two decoders of order-entry requests give the same verdict on every message.

A session's NewOrder / Cancel / Replace / MassCancel bytes are read by the
compiled conversion on the worker's hot path (gateway/wire, its records go to
the core) and, for a throttled session or to word a reject, by the protocol's
codec (then translate.to_command and RecordWriter: the slow path). Drawn
messages, every field over its valid range and past it, go through the codec
(server role) and through the compiled conversion and its reference:

* the codec decodes a message to a request <=> the conversion writes a record;
* refused by both: the same MessageReject, reject_text's words being the
  codec's (the two check fields in one order: docs/PROTOCOL.md, "Bad input");
* accepted by both: the conversion's record is the slow path's, field for
  field but ts_ns (each stamps its own clock);

and streams of several requests back to back: the good ones' records in order. The
same for a version-3 session, whose NewOrder and Replace with the venue's fields are
two records (the request's, then its TERMS record) on both paths.
"""

from __future__ import annotations

import logging
import struct
from dataclasses import dataclass
from types import ModuleType

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ringmatch.engine.records import layout as L
from ringmatch.engine.records.names import Directory
from ringmatch.engine.records.writer import RecordWriter
from ringmatch.engine.schema import commands as core
from ringmatch.gateway.config import Config, Symbol
from ringmatch.gateway.protocol.connection import Connection, Role
from ringmatch.gateway.protocol.message_codec import BadMessage
from ringmatch.gateway.protocol.messages import MessageReject
from ringmatch.gateway.server.order_intake import OrderIntake, wire_symbol_ids
from ringmatch.gateway.server.translate import to_command
from ringmatch.gateway.wire import wire_choice, wire_reference
from ringmatch.gateway.wire.reject_text import describe_reject
from tests.gateway import wire_streams as S

MODULES = [pytest.param(wire_reference, id="reference")]
if (compiled := wire_choice.compiled_module()) is not None:
    MODULES.append(pytest.param(compiled, id="compiled"))
every_module = pytest.mark.parametrize("conv", MODULES)
EXAMPLES = settings(max_examples=300, deadline=None)

# The server's [[symbols]] list: wire ids 1..3. The core's directory holds them in another
# order, among others, so a wire id is never the record id by chance.
SYMBOLS = ["AAPL", "MSFT", "IBM"]
DIRECTORY = Directory(["ZZZZ", "IBM", "AAPL", "QQQ", "MSFT"], ["alice", "bob"])
ACCOUNT = "bob"
ACCOUNT_ID = DIRECTORY.accounts.get(ACCOUNT)
# As order_intake.OrderIntake builds it: wire id -> record id (0: none).
SYMBOL_IDS = np.array([0, *(DIRECTORY.symbols.get(s) for s in SYMBOLS)], np.uint32)
TS = 12345
NOT_TS = [name for name in L.INPUT_DTYPE.names if name != "ts_ns"]


CODEC = Connection(Role.SERVER, symbols=SYMBOLS).codec
CODEC_V3 = Connection(Role.SERVER, symbols=SYMBOLS).codec
CODEC_V3.use_version(3)
CODECS = {2: CODEC, 3: CODEC_V3}

# -- the messages ----------------------------------------------------------------------------


def mostly(
    valid: st.SearchStrategy[int], anything: st.SearchStrategy[int]
) -> st.SearchStrategy[int]:
    """``valid`` seven times in eight: a message with every field good is common."""
    return st.integers(0, 7).flatmap(lambda k: valid if k else anything)


def code(valid: range) -> st.SearchStrategy[int]:
    return mostly(st.sampled_from(list(valid)), st.integers(0, 255))


VERSION = mostly(st.just(2), st.integers(0, 255))
CLIENT_ORDER_ID = mostly(
    st.one_of(st.integers(1, 2**63 - 1), st.integers(1, 99)),
    st.sampled_from([0, 2**63, 2**64 - 1]) | st.integers(2**63, 2**64 - 1),
)
NUMBER = mostly(
    st.one_of(st.integers(1, 2**63 - 1), st.integers(1, 1000)),
    st.sampled_from([0, -1, -(2**63)]) | st.integers(-(2**63), 0),
)
MARKET_PRICE = st.sampled_from([0, 0, 0, -1, 5]) | NUMBER  # 0 is a market order's "none"
SYMBOL = mostly(
    st.integers(1, len(SYMBOLS)),
    st.sampled_from([0, len(SYMBOLS) + 1, 2**32 - 1]) | st.integers(0, 2**32 - 1),
)
FLAGS = mostly(st.sampled_from([0, 1]), st.integers(0, 255))


def reserved(n: int) -> st.SearchStrategy[bytes]:
    return st.integers(0, 7).flatmap(
        lambda k: st.just(bytes(n)) if k else st.binary(min_size=n, max_size=n)
    )


@st.composite
def new_order(draw: st.DrawFn) -> bytes:
    order_type = draw(code(range(1, 3)))
    price = draw(MARKET_PRICE if order_type == 2 else NUMBER)
    return struct.pack(
        "<HBBBBBBIB3sQqq", 40, 2, draw(VERSION), draw(code(range(1, 3))), order_type,
        draw(code(range(4))), draw(code(range(5))), draw(SYMBOL), draw(FLAGS),
        draw(reserved(3)), draw(CLIENT_ORDER_ID), price, draw(NUMBER),
    )  # fmt: skip


@st.composite
def cancel(draw: st.DrawFn) -> bytes:
    return struct.pack("<HBB4sQ", 16, 3, draw(VERSION), draw(reserved(4)), draw(CLIENT_ORDER_ID))


@st.composite
def replace(draw: st.DrawFn) -> bytes:
    return struct.pack(
        "<HBB4sQqq", 32, 4, draw(VERSION), draw(reserved(4)), draw(CLIENT_ORDER_ID),
        draw(NUMBER), draw(NUMBER),
    )  # fmt: skip


@st.composite
def mass_cancel(draw: st.DrawFn) -> bytes:
    symbol = draw(st.sampled_from([0, 0]) | SYMBOL)  # 0: every symbol
    return struct.pack("<HBBI", 8, 5, draw(VERSION), symbol)


@st.composite
def relength(draw: st.DrawFn, message: bytes) -> bytes:
    """The message cut or padded to another length, its header saying so."""
    length = draw(st.integers(4, 48))
    body = (message + draw(st.binary(min_size=48, max_size=48)))[:length]
    return struct.pack("<H", length) + body[2:]


REQUEST = st.one_of(new_order(), cancel(), replace(), mass_cancel())
MESSAGE = st.integers(0, 9).flatmap(lambda k: REQUEST if k else REQUEST.flatmap(relength))

# -- the two paths ---------------------------------------------------------------------------


Record = tuple[int, ...] | bytes  # a request's fields but ts_ns; a TERMS record's bytes


@dataclass(frozen=True)
class Verdict:
    """One message as a path sees it: its records (the request's fields but ts_ns, then
    any TERMS record's bytes), or its reject."""

    record: tuple[Record, ...] | None
    reject: MessageReject | None


def _fields(record: np.void) -> tuple[int, ...]:
    return tuple(int(record[name]) for name in NOT_TS)


def _records(records: np.ndarray) -> tuple[Record, ...]:
    """One request's records: its own fields, and a TERMS record's bytes after it."""
    return (_fields(records[0]), *(r.tobytes() for r in records[1:]))


def header(msg: bytes, at: int = 0) -> tuple[int, int, int]:
    length, kind, version = struct.unpack_from("<HBB", msg, at)
    return length, kind, version


def slow_path(msg: bytes, at: int = 0, session: int = 2) -> Verdict:
    """The codec's decoding, then translate.to_command and RecordWriter: the slow path."""
    length, kind, version = header(msg, at)
    decoded = CODECS[session].decode(msg, at, length, kind, version)
    if type(decoded) is BadMessage:
        return Verdict(None, decoded.reject)
    command = to_command(decoded, ACCOUNT, frozenset(SYMBOLS))
    # What the codec decodes, translate takes: the codec's checks are a superset.
    assert not isinstance(command, MessageReject), (decoded, command)
    assert isinstance(command, core.NewOrder | core.Cancel | core.Replace | core.MassCancel)
    writer = RecordWriter(DIRECTORY)
    writer.add(command)
    return Verdict(_records(writer.records()), None)


def fast_path(
    conv: ModuleType, data: bytes, room: int = 64, session: int = 2
) -> tuple[int, list[Verdict]]:
    """orders_to_inputs on ``data``: (consumed, a verdict per message in order)."""
    out = np.zeros(room, L.INPUT_DTYPE)
    consumed, count, rejects = conv.orders_to_inputs(
        data, ACCOUNT_ID, SYMBOL_IDS, TS, out, 65_536, session
    )
    by_index = {int(entry["index"]): entry for entry in rejects}
    verdicts = []
    at = 0
    while at < count or by_index:
        entry = by_index.pop(len(verdicts), None)
        if entry is None:
            # A request, and its TERMS record when flagged so (never a TERMS on its own).
            n = 2 if out["flags"][at] & L.TERMS else 1
            assert out["ts_ns"][at] == TS
            verdicts.append(Verdict(_records(out[at : at + n]), None))
            at += n
        else:
            verdicts.append(Verdict(None, MessageReject(*describe_reject(entry, session))))
    return consumed, verdicts


# -- single messages -------------------------------------------------------------------------

GOOD_NEW_ORDER = struct.pack("<HBBBBBBIB3sQqq", 40, 2, 2, 1, 1, 0, 0, 1, 0, bytes(3), 7, 100, 5)


def patched(msg: bytes, at: int, raw: bytes) -> bytes:
    return msg[:at] + raw + msg[at + len(raw) :]


@every_module
@EXAMPLES
@given(msg=MESSAGE)
@example(msg=patched(GOOD_NEW_ORDER, 12, b"\x02"))  # an unknown flag bit
@example(msg=patched(GOOD_NEW_ORDER, 12, b"\x81"))  # post_only and an unknown bit
@example(msg=patched(patched(GOOD_NEW_ORDER, 14, b"\x01"), 4, b"\x09"))  # reserved and side
@example(msg=patched(patched(GOOD_NEW_ORDER, 8, b"\x09"), 32, bytes(8)))  # symbol and qty
@example(msg=patched(patched(GOOD_NEW_ORDER, 24, bytes(8)), 32, bytes(8)))  # price and qty
@example(msg=patched(GOOD_NEW_ORDER, 5, b"\x02"))  # a market order with a price
def test_one_message_gets_one_verdict_on_both_paths(conv: ModuleType, msg: bytes) -> None:
    consumed, verdicts = fast_path(conv, msg)
    assert consumed == len(msg)
    assert verdicts == [slow_path(msg)]


@every_module
@pytest.mark.parametrize(
    ("msg", "field"),
    [
        (patched(GOOD_NEW_ORDER, 12, b"\x02"), "flags"),
        (patched(patched(GOOD_NEW_ORDER, 14, b"\x01"), 4, b"\x09"), "side"),
        (patched(patched(GOOD_NEW_ORDER, 8, b"\x09"), 32, bytes(8)), "symbol"),
        (patched(patched(GOOD_NEW_ORDER, 12, b"\x04"), 13, b"\x01"), "flags"),
        (patched(patched(GOOD_NEW_ORDER, 24, bytes(8)), 32, bytes(8)), "price"),
        (patched(patched(GOOD_NEW_ORDER, 16, bytes(8)), 8, b"\x00"), "symbol"),
    ],
)
def test_the_first_bad_field_in_offset_order_is_named(
    conv: ModuleType, msg: bytes, field: str
) -> None:
    _, verdicts = fast_path(conv, msg)
    ((_, reject),) = [(v.record, v.reject) for v in verdicts]
    assert reject is not None
    cid = int.from_bytes(msg[16:24], "little")
    assert (reject.message, reject.field, reject.client_order_id) == ("NewOrder", field, cid)
    assert slow_path(msg).reject == reject


# -- streams ---------------------------------------------------------------------------------


@every_module
@EXAMPLES
@given(messages=st.lists(MESSAGE, min_size=2, max_size=10))
def test_a_stream_gives_the_slow_paths_records_in_order(
    conv: ModuleType, messages: list[bytes]
) -> None:
    data = b"".join(messages)
    consumed, verdicts = fast_path(conv, data)
    assert consumed == len(data)
    want, at = [], 0
    for msg in messages:
        want.append(slow_path(data, at))
        at += len(msg)
    assert verdicts == want


@every_module
@EXAMPLES
@given(messages=st.lists(MESSAGE, min_size=1, max_size=10))
def test_the_workers_intake_takes_what_the_slow_path_takes(
    conv: ModuleType, messages: list[bytes]
) -> None:
    # OrderIntake.take_wire itself: its wire id -> record id table, and the rejects it
    # has the codec word (never the fallback that logs a disagreement).
    config = Config(symbols=[Symbol(name) for name in SYMBOLS])
    symbol_ids = wire_symbol_ids(DIRECTORY, config)
    assert symbol_ids.tolist() == SYMBOL_IDS.tolist()
    intake = OrderIntake(DIRECTORY, symbol_ids, conv, 65_536)
    data = b"".join(messages)
    errors = _Errors()
    log = logging.getLogger("ringmatch.gateway")
    log.addHandler(errors)
    try:
        consumed, taken, refused = intake.take_wire(ACCOUNT_ID, memoryview(data), CODEC)
    finally:
        log.removeHandler(errors)
    assert consumed == len(data)
    assert not errors.records
    want, at = [], 0
    for msg in messages:
        want.append(slow_path(data, at))
        at += len(msg)
    assert [_fields(r) for r in taken] == [v.record[0] for v in want if v.record is not None]
    assert refused == [v.reject for v in want if v.reject is not None]


class _Errors(logging.Handler):
    """The error records logged while it is attached."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


# -- version 3 -------------------------------------------------------------------------------

GOOD_STOP = struct.pack(
    "<HBBBBBBIB3sQqqqqq", 64, 2, 3, 1, 3, 0, 0, 1, 0, bytes(3), 7, 0, 5, 120, 0, 0
)
GOOD_REPLACE_V3 = struct.pack("<HBBB3sQqqq", 40, 4, 3, 1, bytes(3), 7, 0, 4, 118)


@every_module
@EXAMPLES
@given(msg=st.one_of(S.REQUEST_V3, S.REQUEST_V3.flatmap(relength)))
@example(msg=GOOD_STOP)
@example(msg=patched(GOOD_STOP, 48, (-1).to_bytes(8, "little", signed=True)))  # display_qty
@example(msg=patched(GOOD_STOP, 5, b"\x04"))  # a stop limit without its price
@example(msg=patched(GOOD_STOP, 3, b"\x02"))  # a v2 header in a v3 session
@example(msg=GOOD_REPLACE_V3)
@example(msg=patched(GOOD_REPLACE_V3, 16, (5).to_bytes(8, "little")))  # kept, yet a price
@example(msg=patched(GOOD_REPLACE_V3, 4, b"\x03"))  # an unknown flag bit
def test_a_version_3_message_gets_one_verdict_on_both_paths(conv: ModuleType, msg: bytes) -> None:
    consumed, verdicts = fast_path(conv, msg, session=3)
    assert consumed == len(msg)
    assert verdicts == [slow_path(msg, session=3)]


@every_module
@EXAMPLES
@given(messages=st.lists(st.one_of(S.REQUEST_V3, S.REQUEST_V3.flatmap(relength)), max_size=10))
def test_a_version_3_stream_gives_the_slow_paths_records_in_order(
    conv: ModuleType, messages: list[bytes]
) -> None:
    data = b"".join(messages)
    consumed, verdicts = fast_path(conv, data, session=3)
    assert consumed == len(data)
    want, at = [], 0
    for msg in messages:
        want.append(slow_path(data, at, session=3))
        at += len(msg)
    assert verdicts == want


@every_module
def test_a_stop_is_two_records_and_waits_for_room_for_both(conv: ModuleType) -> None:
    out = np.zeros(1, L.INPUT_DTYPE)
    assert conv.orders_to_inputs(GOOD_STOP, ACCOUNT_ID, SYMBOL_IDS, TS, out, 65_536, 3)[:2] == (
        0,
        0,
    )
    out = np.zeros(2, L.INPUT_DTYPE)
    consumed, count, _ = conv.orders_to_inputs(
        GOOD_STOP, ACCOUNT_ID, SYMBOL_IDS, TS, out, 65_536, 3
    )
    assert (consumed, count) == (64, 2)
    assert out[0]["flags"] & L.TERMS and out[0]["order_type"] == 3
    terms = out[1:].view(L.TERMS_DTYPE)[0]
    assert (int(terms["present"]), int(terms["trigger_price"])) == (L.HAS_TRIGGER, 120)
