"""Property tests of the codec, versions 2 and 3: every message type encodes and decodes back
to itself, the numpy layouts are the Struct layouts, and how the stream is split never
changes what comes out."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ringmatch.engine.schema.enums import CancelReason, OrderType, Side, StpMode, TimeInForce
from ringmatch.gateway.protocol import codes
from ringmatch.gateway.protocol.connection import NEED_DATA, Connection, Role
from ringmatch.gateway.protocol.message_codec import BadMessage, Codec
from ringmatch.gateway.protocol.messages import (
    CLIENT_TYPES,
    RISK_OPS,
    SERVER_TYPES,
    Cancel,
    ExecType,
    ExecutionReport,
    Heartbeat,
    Logon,
    LogonAccepted,
    LogonRejected,
    Logout,
    MassCancel,
    MassCancelDone,
    MessageReject,
    NewOrder,
    Replace,
    RiskQuery,
    RiskState,
    SymbolDirectory,
    Sync,
    Synced,
)
from ringmatch.gateway.protocol.symbols import SymbolTable
from ringmatch.gateway.protocol.wire import (
    EXECUTION_REPORT_DTYPE,
    HEADER,
    LAYOUTS,
    LAYOUTS_V3,
    NEW_ORDER,
    NEW_ORDER_DTYPE,
    TYPE_OF,
    VAR_FIELDS,
)

SYMBOLS = ["AAPL", "MSFT", "BTC-USD", "Ünï"]
U32, U64 = st.integers(0, 2**32 - 1), st.integers(0, 2**64 - 1)
I64 = st.integers(-(2**63), 2**63 - 1)
POSITIVE = st.integers(1, 2**63 - 1)
CID = POSITIVE
TEXT = st.text(max_size=40)
SYMBOL = st.sampled_from(SYMBOLS)
NONZERO = I64.filter(bool)


ORDER_CODES = {2: (codes.ORDER_TYPE, codes.TIF), 3: (codes.ORDER_TYPE_V3, codes.TIF_V3)}


@st.composite
def new_orders(draw: st.DrawFn, version: int = 2) -> NewOrder:
    # The types and tifs the version's code tables carry (docs/PROTOCOL.md, "Codes"), and
    # in version 3 the venue's fields (0 on the wire is None: never drawn).
    types, tifs = ORDER_CODES[version]
    order_type = draw(st.sampled_from(list(types.code)))
    needs_price = order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT)
    price = draw(POSITIVE) if needs_price else draw(st.none() | POSITIVE)
    venue = [draw(st.none() | POSITIVE) for _ in range(3)] if version == 3 else []
    return NewOrder(
        draw(CID),
        draw(SYMBOL),
        draw(st.sampled_from(Side)),
        order_type,
        price,
        draw(POSITIVE),
        draw(st.sampled_from(list(tifs.code))),
        draw(st.booleans()),
        draw(st.sampled_from(StpMode)),
        *venue,
    )


@st.composite
def execution_reports(
    draw: st.DrawFn, exec_types: codes.Codes = codes.EXEC_TYPE
) -> ExecutionReport:
    exec_type = draw(st.sampled_from(list(exec_types.code)))
    reason = draw(st.sampled_from(sorted(codes.REASON_OF_EXEC[exec_type].code)))
    request = draw(st.sampled_from(sorted(codes.REQUEST_OF_EXEC[exec_type].code)))
    return ExecutionReport(
        draw(U64),
        exec_type,
        draw(U64),
        draw(U64),
        draw(st.sampled_from(["", *SYMBOLS])),
        draw(st.none() | st.sampled_from(Side)),
        draw(st.none() | NONZERO),
        draw(st.none() | NONZERO),
        draw(I64),
        draw(I64),
        draw(I64),
        draw(U64),
        reason,
        request,
    )


_state_value = st.recursive(
    st.none() | st.booleans() | I64 | st.floats(allow_nan=False) | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)

CLIENT_MESSAGES = st.one_of(
    st.builds(Logon, TEXT, TEXT, st.integers(0, 2**16 - 1), st.booleans()),
    new_orders(),
    st.builds(Cancel, CID),
    st.builds(Replace, CID, POSITIVE, POSITIVE),
    st.builds(MassCancel, st.none() | SYMBOL),
    st.just(Heartbeat()),
    st.builds(Logout, TEXT),
    st.builds(Sync, U64),
    st.builds(
        RiskQuery,
        U64,
        st.sampled_from(RISK_OPS),
        st.none() | TEXT,
        st.booleans(),
        st.booleans(),
        TEXT,
    ),
)
SERVER_MESSAGES = st.one_of(
    st.builds(
        LogonAccepted,
        TEXT,
        st.floats(allow_nan=False),
        st.floats(allow_nan=False),
        U32,
        U64,
        U32,
    ),
    st.builds(SymbolDirectory, U32, TEXT),
    st.builds(LogonRejected, TEXT),
    execution_reports(),
    st.builds(MessageReject, TEXT, TEXT, TEXT, U64),
    st.builds(
        MassCancelDone,
        U64,
        st.none() | SYMBOL,
        U64,
        st.sampled_from(["", *(r.value for r in CancelReason)]),
    ),
    st.builds(Synced, U64),
    st.builds(RiskState, U64, st.booleans(), TEXT, st.dictionaries(TEXT, _state_value, max_size=4)),
    st.just(Heartbeat()),
    st.builds(Logout, TEXT),
)


def codec_of(incoming: dict[int, type]) -> Codec:
    return Codec(list(incoming.values()), SymbolTable(SYMBOLS))


SERVER_CODEC, CLIENT_CODEC = codec_of(CLIENT_TYPES), codec_of(SERVER_TYPES)


def decode_one(codec: Codec, data: bytes) -> Any:
    length, kind, version = HEADER.unpack_from(data, 0)
    assert length == len(data)
    return codec.decode(data, 0, length, kind, version)


def test_every_message_type_has_a_strategy_and_a_layout() -> None:
    assert set(LAYOUTS) == {*CLIENT_TYPES.values(), *SERVER_TYPES.values()}
    assert {TYPE_OF[t] for t in LAYOUTS} == {*CLIENT_TYPES, *SERVER_TYPES}
    assert set(VAR_FIELDS) <= set(LAYOUTS)


@settings(max_examples=400, deadline=None)
@given(CLIENT_MESSAGES)
def test_client_messages_round_trip(message: Any) -> None:
    data = CLIENT_CODEC.encode(message)
    assert decode_one(SERVER_CODEC, data) == message
    assert CLIENT_CODEC.encode_many([message, message]) == data + data
    if type(message) not in VAR_FIELDS:
        assert len(data) == LAYOUTS[type(message)].size


@settings(max_examples=400, deadline=None)
@given(SERVER_MESSAGES)
def test_server_messages_round_trip(message: Any) -> None:
    data = SERVER_CODEC.encode(message)
    assert decode_one(CLIENT_CODEC, data) == message
    assert SERVER_CODEC.encode_many([message, message]) == data + data


@settings(max_examples=100, deadline=None)
@given(st.lists(new_orders(), min_size=1, max_size=20))
def test_the_new_order_dtype_is_the_struct_layout(orders: list[NewOrder]) -> None:
    records = np.frombuffer(CLIENT_CODEC.encode_many(orders), NEW_ORDER_DTYPE)
    assert [int(c) for c in records["client_order_id"]] == [o.client_order_id for o in orders]
    assert [int(q) for q in records["qty"]] == [o.qty for o in orders]
    assert [SYMBOLS[s - 1] for s in records["symbol"]] == [o.symbol for o in orders]
    assert records.tobytes() == CLIENT_CODEC.encode_many(orders)  # every byte a field's


@settings(max_examples=100, deadline=None)
@given(st.lists(execution_reports(), min_size=1, max_size=20))
def test_the_report_dtype_is_the_struct_layout(reports: list[ExecutionReport]) -> None:
    data = SERVER_CODEC.encode_many(reports)
    records = np.frombuffer(data, EXECUTION_REPORT_DTYPE)
    assert [int(s) for s in records["seq"]] == [r.seq for r in reports]
    assert [int(t) for t in records["trade_id"]] == [r.trade_id for r in reports]
    assert [int(q) for q in records["leaves_qty"]] == [r.leaves_qty for r in reports]
    assert records.tobytes() == data


def _events(conn: Connection, chunks: list[bytes]) -> list[object]:
    out: list[object] = []
    for chunk in chunks:
        conn.receive_data(chunk)
        while (event := conn.next_event()) is not NEED_DATA:
            out.append(event)
    return out


def _active_client() -> Connection:
    client = Connection(Role.CLIENT)
    client.send(Logon("alice", "t"))
    directory = [SymbolDirectory(i, name) for i, name in enumerate(SYMBOLS, 1)]
    hello = [LogonAccepted("alice", 1.0, 3.0, 0, 1, len(directory)), *directory]
    client.receive_data(SERVER_CODEC.encode_many(hello))
    assert len(_events(client, [b""])) == len(hello)
    return client


REPORTS = st.one_of(
    execution_reports(),
    st.builds(Synced, U64),
    st.builds(MessageReject, TEXT, TEXT, TEXT, U64),
    st.builds(MassCancelDone, U64, st.none() | SYMBOL, U64, st.just("MASS_CANCEL")),
    st.just(Heartbeat()),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(REPORTS, min_size=1, max_size=6))
def test_a_split_at_any_byte_gives_the_same_events(messages: list[Any]) -> None:
    data = SERVER_CODEC.encode_many(messages)
    assert _events(_active_client(), [data]) == messages
    for cut in range(len(data) + 1):
        assert _events(_active_client(), [data[:cut], data[cut:]]) == messages
    assert _events(_active_client(), [bytes([b]) for b in data]) == messages


# --- the reject rules against a reference written from the spec's table ---------------------


def _field(valid: st.SearchStrategy[int], whole: st.SearchStrategy[int]) -> st.SearchStrategy[int]:
    return st.one_of(valid, valid, valid, whole)  # mostly good, so later fields get checked


RAW_NEW_ORDER = st.fixed_dictionaries(
    {
        "version": _field(st.just(2), st.integers(0, 255)),
        "side": _field(st.integers(1, 2), st.integers(0, 255)),
        "order_type": _field(st.integers(1, 2), st.integers(0, 255)),
        "tif": _field(st.integers(0, 3), st.integers(0, 255)),
        "stp": _field(st.integers(0, 4), st.integers(0, 255)),
        "symbol": _field(st.integers(1, len(SYMBOLS)), U32),
        "flags": _field(st.integers(0, 1), st.integers(0, 255)),
        "r1": _field(st.just(0), st.integers(0, 255)),
        "r2": _field(st.just(0), st.integers(0, 2**16 - 1)),
        "cid": _field(CID, U64),
        "price": _field(POSITIVE, I64),
        "qty": _field(POSITIVE, I64),
    }
)


def reference_new_order(f: dict[str, int]) -> NewOrder | str:
    """The spec, read plainly: the first bad field in offset order, else the order."""
    limit = f["order_type"] == 1
    checks = [
        ("version", f["version"] == 2),
        ("side", f["side"] in (1, 2)),
        ("order_type", f["order_type"] in (1, 2)),
        ("tif", 0 <= f["tif"] <= 3),
        ("stp", 0 <= f["stp"] <= 4),
        ("symbol", 1 <= f["symbol"] <= len(SYMBOLS)),
        ("flags", f["flags"] in (0, 1)),
        ("reserved", f["r1"] == 0 and f["r2"] == 0),
        ("client_order_id", 0 < f["cid"] < 2**63),
        ("price", f["price"] > 0 or (f["price"] == 0 and not limit)),
        ("qty", f["qty"] > 0),
    ]
    for name, ok in checks:
        if not ok:
            return name
    return NewOrder(
        f["cid"],
        SYMBOLS[f["symbol"] - 1],
        Side.BUY if f["side"] == 1 else Side.SELL,
        OrderType.LIMIT if limit else OrderType.MARKET,
        f["price"] or None,
        f["qty"],
        (None, TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK)[f["tif"]],
        f["flags"] == 1,
        list(StpMode)[f["stp"]],
    )


@settings(max_examples=500, deadline=None)
@given(RAW_NEW_ORDER)
def test_new_order_rejects_match_the_reference(fields: dict[str, int]) -> None:
    f = fields
    data = NEW_ORDER.pack(
        40, 2, f["version"], f["side"], f["order_type"], f["tif"], f["stp"], f["symbol"],
        f["flags"], f["r1"], f["r2"], f["cid"], f["price"], f["qty"],
    )  # fmt: skip
    got = decode_one(SERVER_CODEC, data)
    expected = reference_new_order(fields)
    if isinstance(expected, str):
        assert isinstance(got, BadMessage)
        assert (got.reject.message, got.reject.field) == ("NewOrder", expected)
        assert got.reject.client_order_id == f["cid"]  # the message holds it: echoed
    else:
        assert got == expected


CLIENT_MESSAGES_V3 = st.one_of(
    new_orders(3),
    st.builds(Replace, CID, st.none() | POSITIVE, POSITIVE, st.none() | POSITIVE),
    st.builds(Cancel, CID),
    st.builds(MassCancel, st.none() | SYMBOL),
    st.builds(Sync, U64),
)


def codec_v3(incoming: dict[int, type]) -> Codec:
    codec = codec_of(incoming)
    codec.use_version(3)
    return codec


SERVER_CODEC_V3, CLIENT_CODEC_V3 = codec_v3(CLIENT_TYPES), codec_v3(SERVER_TYPES)


@settings(max_examples=400, deadline=None)
@given(CLIENT_MESSAGES_V3)
def test_version_3_requests_round_trip(message: Any) -> None:
    data = CLIENT_CODEC_V3.encode(message)
    assert data[3] == 3  # the header's version is the session's
    assert decode_one(SERVER_CODEC_V3, data) == message
    assert len(data) == LAYOUTS_V3[type(message)].size
    assert CLIENT_CODEC_V3.encode_many([message, message]) == data + data


@settings(max_examples=200, deadline=None)
@given(execution_reports(codes.EXEC_TYPE_V3))
def test_version_3_reports_round_trip(message: ExecutionReport) -> None:
    data = SERVER_CODEC_V3.encode(message)
    assert data[3] == 3
    assert decode_one(CLIENT_CODEC_V3, data) == message


@settings(max_examples=100, deadline=None)
@given(new_orders(3))
def test_a_version_2_session_cannot_send_what_only_version_3_carries(order: NewOrder) -> None:
    venue = (order.trigger_price, order.display_qty, order.expire_ts) != (None, None, None)
    if venue or order.order_type not in codes.ORDER_TYPE.code or order.tif not in codes.TIF.code:
        with pytest.raises(ValueError):
            CLIENT_CODEC.encode(order)
    else:
        assert decode_one(SERVER_CODEC, CLIENT_CODEC.encode(order)) == order


def test_a_version_2_session_is_never_sent_a_version_3_exec_type() -> None:
    for exec_type in (ExecType.TRIGGERED, ExecType.REFRESHED):
        report = ExecutionReport(1, exec_type, 1, 1, "AAPL", Side.BUY, None, None, 0, 0, 5, 0)
        with pytest.raises(ValueError):
            SERVER_CODEC.encode(report)
        assert decode_one(CLIENT_CODEC_V3, SERVER_CODEC_V3.encode(report)) == report


def test_the_logon_picks_the_version_both_ends_speak_from_the_answer_on() -> None:
    for version in (2, 3):
        client, server = Connection(Role.CLIENT), Connection(Role.SERVER, symbols=SYMBOLS)
        hello = client.send(Logon("alice", "t", version))
        assert hello[3] == version and client.version == version
        assert _events(server, [hello]) == [Logon("alice", "t", version)]
        assert server.version == version
        answer = server.send_many([LogonAccepted("alice", 1.0, 3.0, 0, 1, 0)])
        assert answer[3] == version
        assert _events(client, [answer]) == [LogonAccepted("alice", 1.0, 3.0, 0, 1, 0)]
        # Now a header of the other version is a BadMessage naming it, the session goes on.
        other = 5 - version
        wrong = bytearray(client.send(Sync(1)))
        wrong[3] = other
        (bad,) = _events(server, [bytes(wrong)])
        assert isinstance(bad, BadMessage) and bad.reject.field == "version"
        assert bad.reject.reason == f"unsupported version {other} (this end speaks {version})"


def test_a_logon_for_a_version_nobody_speaks_is_read_and_answered_in_version_2() -> None:
    client, server = Connection(Role.CLIENT), Connection(Role.SERVER, symbols=SYMBOLS)
    (logon,) = _events(server, [client.send(Logon("alice", "t", 9))])
    assert isinstance(logon, Logon) and logon.protocol_version == 9
    assert (client.version, server.version) == (2, 2)
    refused = server.send(LogonRejected("protocol version 9 not supported (use 2 or 3)"))
    assert refused[3] == 2
    assert _events(client, [refused]) == [
        LogonRejected("protocol version 9 not supported (use 2 or 3)")
    ]
