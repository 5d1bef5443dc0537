"""The sans-IO protocol: the stream, decoding, rejects that name the field, the state table,
the symbol directory."""

from __future__ import annotations

import struct

import pytest

from ringmatch.engine.schema.enums import OrderType, Side
from ringmatch.gateway.protocol.connection import (
    NEED_DATA,
    BadMessage,
    Connection,
    LocalProtocolError,
    ProtocolError,
    Role,
)
from ringmatch.gateway.protocol.messages import (
    Cancel,
    ExecType,
    ExecutionReport,
    Heartbeat,
    Logon,
    LogonAccepted,
    LogonRejected,
    Logout,
    MassCancel,
    NewOrder,
    RiskState,
    SymbolDirectory,
)
from ringmatch.gateway.protocol.session_state import State
from ringmatch.gateway.protocol.wire import NEW_ORDER

SYMBOLS = ["AAPL", "MSFT"]


def drain(conn: Connection) -> list[object]:
    out = []
    while (event := conn.next_event()) is not NEED_DATA:
        out.append(event)
    return out


def logon_answer(account: str = "alice") -> list[object]:
    directory = [SymbolDirectory(i, name) for i, name in enumerate(SYMBOLS, 1)]
    return [LogonAccepted(account, 1.0, 3.0, 0, 1, len(directory)), *directory]


def logged_on() -> tuple[Connection, Connection]:
    client, server = Connection(Role.CLIENT), Connection(Role.SERVER, symbols=SYMBOLS)
    server.receive_data(client.send(Logon("alice", "t")))
    assert drain(server) == [Logon("alice", "t")]
    client.receive_data(server.send_many(logon_answer()))  # type: ignore[arg-type]
    assert drain(client) == logon_answer()
    assert client.state is server.state is State.ACTIVE
    assert client.symbols.ids == server.symbols.ids
    return client, server


ORDER = NewOrder(7, "AAPL", Side.BUY, OrderType.LIMIT, 100, 5)


def new_order(**fields: int) -> bytes:
    """A NewOrder's bytes, good unless ``fields`` say otherwise (by layout position name)."""
    values = dict(
        length=40, type=2, version=2, side=1, order_type=1, tif=0, stp=0, symbol=1,
        flags=0, r1=0, r2=0, cid=9, price=100, qty=5,
    )  # fmt: skip
    values.update(fields)
    return NEW_ORDER.pack(*values.values())


def test_messages_round_trip_whole_and_byte_by_byte() -> None:
    client, server = logged_on()
    data = client.send_many([ORDER, Cancel(7), Heartbeat()])
    server.receive_data(data)
    assert drain(server) == [ORDER, Cancel(7), Heartbeat()]
    for byte in client.send_many([ORDER, Cancel(7)]):
        server.receive_data(bytes([byte]))
    assert drain(server) == [ORDER, Cancel(7)]


def test_messages_go_back_to_back_with_no_outer_frame() -> None:
    client, _ = logged_on()
    data = client.send_many([ORDER, Cancel(1), Heartbeat()])
    assert len(data) == 40 + 16 + 4
    assert struct.unpack_from("<HBB", data, 0) == (40, 2, 2)
    assert struct.unpack_from("<HBB", data, 40) == (16, 3, 2)
    assert struct.unpack_from("<HBB", data, 56) == (4, 6, 2)


@pytest.mark.parametrize(
    ("data", "max_frame", "reason"),
    [
        (b"\x03\x00\x06\x02", 65536, "message length 3 is outside 4..65536"),
        (b"\x00\x00\x06\x02", 65536, "message length 0"),
        (
            struct.pack("<HBB", 4097, 2, 2),
            4096,
            "message of 4097 bytes exceeds the maximum of 4096",
        ),
    ],
)
def test_a_length_that_cannot_be_trusted_is_fatal(data: bytes, max_frame: int, reason: str) -> None:
    client, server = logged_on()
    server.max_frame = max_frame
    server.receive_data(client.send(Cancel(1)) + data + client.send(Cancel(2)))
    assert server.next_event() == Cancel(1)  # what came before is handed out first
    with pytest.raises(ProtocolError, match=reason.replace(".", r"\.")):
        server.next_event()
    with pytest.raises(ProtocolError):
        server.next_event()  # and stays so
    server.receive_data(client.send(Cancel(3)))
    with pytest.raises(ProtocolError):
        server.next_event()


@pytest.mark.parametrize(
    ("data", "message", "field", "reason", "client_order_id"),
    [
        (new_order(side=7), "NewOrder", "side", "invalid code 7 (valid: 1 BUY, 2 SELL)", 9),
        (new_order(side=0), "NewOrder", "side", "invalid code 0 (valid: 1 BUY, 2 SELL)", 9),
        (new_order(order_type=3), "NewOrder", "order_type", "1 LIMIT, 2 MARKET)", 9),
        (new_order(tif=4), "NewOrder", "tif", "0 default, 1 GTC, 2 IOC, 3 FOK)", 9),
        (new_order(stp=5), "NewOrder", "stp", "invalid code 5 (valid: 0 NONE, 1 CANCEL_TAKER", 9),
        (new_order(symbol=9), "NewOrder", "symbol", "unknown symbol id 9", 9),
        (new_order(symbol=0), "NewOrder", "symbol", "unknown symbol id 0", 9),
        (new_order(flags=2), "NewOrder", "flags", "unknown flag bits 0x02", 9),
        (new_order(r2=1), "NewOrder", "reserved", "must be 0", 9),
        (new_order(cid=0), "NewOrder", "client_order_id", "must be > 0, got 0", 0),
        (new_order(cid=2**63), "NewOrder", "client_order_id", "below 2^63", 2**63),
        (new_order(price=0), "NewOrder", "price", "must be > 0, got 0", 9),
        (new_order(price=-5, order_type=2), "NewOrder", "price", "must be > 0, got -5", 9),
        (new_order(qty=0), "NewOrder", "qty", "must be > 0, got 0", 9),
        (new_order(qty=-1), "NewOrder", "qty", "must be > 0, got -1", 9),
        # The first bad field in offset order is the one named.
        (new_order(side=9, qty=0), "NewOrder", "side", "invalid code 9", 9),
        (new_order(version=1), "NewOrder", "version", "unsupported version 1", 9),
        (new_order(length=38)[:38], "NewOrder", "length", "NewOrder is 40 bytes, got 38", 9),
        (new_order(length=20)[:20], "NewOrder", "length", "got 20", 0),  # too short for its id
        (struct.pack("<HBBIQ", 16, 3, 2, 0, 0), "Cancel", "client_order_id", "must be > 0", 0),
        (struct.pack("<HBBIQ", 16, 3, 2, 1, 4), "Cancel", "reserved", "must be 0", 4),
        (struct.pack("<HBBIQqq", 32, 4, 2, 0, 3, 0, 5), "Replace", "price", "must be > 0", 3),
        (struct.pack("<HBBIQqq", 32, 4, 2, 0, 3, 1, -2), "Replace", "qty", "got -2", 3),
        (struct.pack("<HBBI", 8, 5, 2, 3), "MassCancel", "symbol", "unknown symbol id 3", 0),
        (struct.pack("<HBBH", 6, 7, 2, 5), "Logout", "length", "runs past the message end", 0),
        (struct.pack("<HBBHB", 7, 7, 2, 1, 0xFF), "Logout", "reason", "invalid UTF-8", 0),
        (struct.pack("<HBBHx", 7, 7, 2, 0), "Logout", "length", "1 bytes after its last", 0),
        (struct.pack("<HBBBBHQHH", 20, 9, 2, 7, 0, 0, 1, 0, 0), "RiskQuery", "op", "1 state", 0),
        (struct.pack("<HBBI", 8, 42, 2, 0), "", "type", "unknown message type 42", 0),
        (struct.pack("<HBB", 4, 13, 2), "", "type", "unknown message type 13", 0),  # not a request
    ],
)
def test_a_bad_message_is_rejected_naming_its_field(
    data: bytes, message: str, field: str, reason: str, client_order_id: int
) -> None:
    client, server = logged_on()
    server.receive_data(data + client.send(Heartbeat()))
    bad, heartbeat = drain(server)
    assert isinstance(bad, BadMessage)
    assert (bad.reject.message, bad.reject.field) == (message, field)
    assert reason in bad.reject.reason
    assert bad.reject.client_order_id == client_order_id
    assert heartbeat == Heartbeat()  # skipped by its length: the stream goes on


def test_a_good_new_order_from_raw_bytes() -> None:
    _, server = logged_on()
    server.receive_data(new_order(side=2, order_type=2, tif=2, price=0, symbol=2, flags=0))
    (order,) = drain(server)
    assert order == NewOrder(9, "MSFT", Side.SELL, OrderType.MARKET, None, 5, order.tif)
    assert order.tif is not None and order.tif.value == "IOC"


def test_nothing_but_logon_before_logon() -> None:
    client, server = Connection(Role.CLIENT), Connection(Role.SERVER, symbols=SYMBOLS)
    client.state = State.ACTIVE  # a misbehaving client
    client.symbols.add(1, "AAPL")
    server.receive_data(client.send(ORDER))
    with pytest.raises(ProtocolError, match="NewOrder is not allowed in state AWAIT_LOGON"):
        server.next_event()


def test_garbage_before_logon_is_fatal() -> None:
    server = Connection(Role.SERVER)
    server.receive_data(struct.pack("<HBB", 4, 99, 2))
    with pytest.raises(ProtocolError, match="in state AWAIT_LOGON: unknown message type 99"):
        server.next_event()


def test_a_version_1_client_is_dropped_at_once() -> None:
    """Version 1 framed msgpack behind a 4-byte big-endian length: read as version 2, that
    length's first bytes are a message length of 0, so the stream cannot be trusted."""
    server = Connection(Role.SERVER)
    server.receive_data(b"\x00\x00\x00\x18\x91\x95\x01\xa5alice")
    with pytest.raises(ProtocolError, match="message length 0"):
        server.next_event()


def test_rejected_logon_closes_and_later_input_is_ignored() -> None:
    client, server = Connection(Role.CLIENT), Connection(Role.SERVER, symbols=SYMBOLS)
    server.receive_data(client.send(Logon("alice", "wrong")))
    drain(server)
    client.receive_data(server.send(LogonRejected("bad token")))
    assert drain(client) == [LogonRejected("bad token")]
    assert client.state is server.state is State.CLOSED
    client.state = State.ACTIVE  # pretend it did not listen
    client.symbols.add(1, "AAPL")
    server.receive_data(client.send(ORDER))
    assert drain(server) == []


def test_logout_handshake_lets_reports_through() -> None:
    client, server = logged_on()
    server.receive_data(client.send(Logout()))
    assert drain(server) == [Logout()]
    report = ExecutionReport(1, ExecType.ACCEPTED, 1, 7, "AAPL", Side.BUY, 1, None, 0, 0, 5, 0)
    client.receive_data(server.send_many([report, Logout("bye")]))
    assert drain(client) == [report, Logout("bye")]
    assert client.state is server.state is State.CLOSED


def test_the_client_cannot_send_orders_before_logon_accepted() -> None:
    client = Connection(Role.CLIENT)
    assert not client.can_send(ORDER)
    with pytest.raises(ProtocolError, match="cannot send NewOrder"):
        client.send(ORDER)


# --- the symbol directory ------------------------------------------------------------------


def test_the_session_is_active_only_after_the_whole_directory() -> None:
    client, server = Connection(Role.CLIENT), Connection(Role.SERVER, symbols=SYMBOLS)
    server.receive_data(client.send(Logon("alice", "t")))
    drain(server)
    data = server.send_many(logon_answer())  # type: ignore[arg-type]
    assert server.state is State.ACTIVE
    first = len(server.codec.encode(logon_answer()[0])) + 1  # LogonAccepted and a byte more
    client.receive_data(data[:first])
    assert drain(client) == [logon_answer()[0]]
    assert client.state is State.DIRECTORY
    assert not client.can_send(Heartbeat())  # nothing until it knows every id
    with pytest.raises(LocalProtocolError, match="cannot send Heartbeat in state DIRECTORY"):
        client.send(Heartbeat())
    client.receive_data(data[first:])
    assert drain(client) == logon_answer()[1:]
    assert client.state is State.ACTIVE
    assert client.symbols.names == {1: "AAPL", 2: "MSFT"}


def test_a_server_without_symbols_goes_straight_to_active() -> None:
    client, server = Connection(Role.CLIENT), Connection(Role.SERVER)
    server.receive_data(client.send(Logon("alice", "t")))
    drain(server)
    client.receive_data(server.send(LogonAccepted("alice", 1.0, 3.0)))
    assert drain(client) == [LogonAccepted("alice", 1.0, 3.0)]
    assert client.state is server.state is State.ACTIVE


def test_sendable_follows_the_directory_count() -> None:
    server = Connection(Role.SERVER, symbols=SYMBOLS)
    server.receive_data(Connection(Role.CLIENT).send(Logon("alice", "t")))
    drain(server)
    answer = logon_answer()
    assert server.sendable(answer) == answer  # type: ignore[arg-type]
    assert server.sendable([*answer, Heartbeat()]) == [*answer, Heartbeat()]  # type: ignore[list-item]
    assert server.sendable([answer[0], Heartbeat()]) == [answer[0]]  # type: ignore[list-item]


def test_a_directory_that_contradicts_itself_is_fatal() -> None:
    client = Connection(Role.CLIENT)
    client.send(Logon("alice", "t"))
    bad = [
        LogonAccepted("alice", 1.0, 3.0, 0, 1, 2),
        SymbolDirectory(1, "A"),
        SymbolDirectory(1, "B"),
    ]
    client.receive_data(Connection(Role.SERVER).codec.encode_many(bad))
    assert drain_until_error(client) == bad[:2]


def drain_until_error(conn: Connection) -> list[object]:
    seen = []
    with pytest.raises(ProtocolError, match="bad SymbolDirectory: symbol id 1 defined twice"):
        while (event := conn.next_event()) is not NEED_DATA:
            seen.append(event)
    return seen


def test_an_unknown_symbol_name_is_refused_when_sent_naming_the_known_ones() -> None:
    client, _ = logged_on()
    with pytest.raises(
        ValueError, match=r"unknown symbol 'NOPE' \(the server's symbols: AAPL, MSFT\)"
    ):
        client.send(NewOrder(1, "NOPE", Side.BUY, OrderType.LIMIT, 1, 1))
    with pytest.raises(ValueError, match="unknown symbol 'NOPE'"):
        client.send(MassCancel("NOPE"))
    assert client.state is State.ACTIVE  # nothing was sent


def test_a_report_naming_an_unknown_symbol_id_is_a_bad_message() -> None:
    client, _ = logged_on()
    liar = Connection(Role.SERVER, symbols=[*SYMBOLS, "ZZZ"])
    report = ExecutionReport(1, ExecType.ACCEPTED, 1, 7, "ZZZ", Side.BUY, 1, None, 0, 0, 5, 0)
    client.receive_data(liar.codec.encode(report))
    (bad,) = drain(client)
    assert isinstance(bad, BadMessage)
    assert (bad.reject.message, bad.reject.field) == ("ExecutionReport", "symbol")
    assert bad.reject.reason == "unknown symbol id 3"


def test_a_message_too_long_for_the_wire_cannot_be_sent() -> None:
    _, server = logged_on()
    huge = RiskState(1, True, "", {"blob": "x" * 70_000})
    with pytest.raises(ValueError, match="exceeds the 65535-byte message limit"):
        server.send(huge)
    assert server.state is State.ACTIVE
