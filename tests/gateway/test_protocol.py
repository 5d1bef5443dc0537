"""The sans-IO protocol: framing, decoding, rejects that name the field, the state table."""

from __future__ import annotations

import msgspec
import pytest

from ringmatch.engine.schema.enums import OrderType, Side
from ringmatch.gateway.protocol.connection import (
    NEED_DATA,
    BadMessage,
    Connection,
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
    NewOrder,
)
from ringmatch.gateway.protocol.session_state import State


def frame(body: bytes) -> bytes:
    return len(body).to_bytes(4, "big") + body


def drain(conn: Connection) -> list[object]:
    out = []
    while (event := conn.next_event()) is not NEED_DATA:
        out.append(event)
    return out


def logged_on() -> tuple[Connection, Connection]:
    client, server = Connection(Role.CLIENT), Connection(Role.SERVER)
    server.receive_data(client.send(Logon("alice", "t")))
    assert drain(server) == [Logon("alice", "t")]
    client.receive_data(server.send(LogonAccepted("alice", 1.0, 3.0)))
    assert drain(client) == [LogonAccepted("alice", 1.0, 3.0)]
    assert client.state is server.state is State.ACTIVE
    return client, server


ORDER = NewOrder(7, "AAPL", Side.BUY, OrderType.LIMIT, 100, 5)


def test_messages_round_trip_whole_and_byte_by_byte() -> None:
    client, server = logged_on()
    data = client.send_many([ORDER, Cancel(7), Heartbeat()])
    server.receive_data(data)
    assert drain(server) == [ORDER, Cancel(7), Heartbeat()]
    for byte in client.send_many([ORDER, Cancel(7)]):
        server.receive_data(bytes([byte]))
    assert drain(server) == [ORDER, Cancel(7)]


def test_several_messages_share_one_frame() -> None:
    client, _ = logged_on()
    data = client.send_many([Cancel(1), Cancel(2), Cancel(3)])
    assert int.from_bytes(data[:4], "big") == len(data) - 4  # one frame


def test_send_many_splits_to_respect_max_frame() -> None:
    client, server = logged_on()
    client.max_frame = server.max_frame = 64
    server.receive_data(client.send_many([ORDER] * 10))
    assert drain(server) == [ORDER] * 10


def test_frame_over_the_maximum_is_fatal() -> None:
    _, server = logged_on()
    server.receive_data(Cancel(1) and b"")
    server.receive_data((server.max_frame + 1).to_bytes(4, "big"))
    with pytest.raises(ProtocolError, match="exceeds the maximum"):
        server.next_event()
    with pytest.raises(ProtocolError):
        server.next_event()  # and stays so


@pytest.mark.parametrize(
    ("message", "field", "reason_part", "client_order_id"),
    [
        ([2, 7, "AAPL", "SIDEWAYS", "LIMIT", 100, 5], "side", "Invalid enum value", 7),
        ([2, 8, "AAPL", "BUY", "LIMIT", "cheap", 5], "price", "Expected `int", 8),
        ([2, 9, "AAPL", "BUY", "LIMIT", 1, 5, "GTD"], "tif", "Invalid enum value", 9),
        ([2, 9, "AAPL", "BUY", "LIMIT", 1, 5, None, False, "MAYBE"], "stp", "Invalid enum", 9),
        ([2, 9, "AAPL"], "message", "at least length", 9),
        ([4, 3, 1.5, 1], "price", "Expected `int", 3),
        ([99, 1], "type", "unknown message type 99", 0),
        ("hello", "message", "not a message", 0),
    ],
)
def test_a_bad_message_is_rejected_naming_its_field(
    message: object, field: str, reason_part: str, client_order_id: int
) -> None:
    _, server = logged_on()
    server.receive_data(frame(msgspec.msgpack.encode([message, [6]])))
    bad, heartbeat = drain(server)
    assert isinstance(bad, BadMessage)
    assert bad.reject.field == field
    assert reason_part in bad.reject.reason
    assert bad.reject.client_order_id == client_order_id
    assert heartbeat == Heartbeat()  # the good message in the same frame still counts


def test_a_body_that_is_not_msgpack_is_rejected_and_the_stream_goes_on() -> None:
    client, server = logged_on()
    server.receive_data(frame(b"\xc1") + client.send(Cancel(1)))
    bad, cancel = drain(server)
    assert isinstance(bad, BadMessage) and bad.reject.field == "frame"
    assert cancel == Cancel(1)


def test_nothing_but_logon_before_logon() -> None:
    client, server = Connection(Role.CLIENT), Connection(Role.SERVER)
    client.state = State.ACTIVE  # a misbehaving client
    server.receive_data(client.send(ORDER))
    with pytest.raises(ProtocolError, match="NewOrder is not allowed in state AWAIT_LOGON"):
        server.next_event()


def test_garbage_before_logon_is_fatal() -> None:
    server = Connection(Role.SERVER)
    server.receive_data(frame(b"\xc1"))
    with pytest.raises(ProtocolError, match="AWAIT_LOGON"):
        server.next_event()


def test_rejected_logon_closes_and_later_input_is_ignored() -> None:
    client, server = Connection(Role.CLIENT), Connection(Role.SERVER)
    server.receive_data(client.send(Logon("alice", "wrong")))
    drain(server)
    client.receive_data(server.send(LogonRejected("bad token")))
    assert drain(client) == [LogonRejected("bad token")]
    assert client.state is server.state is State.CLOSED
    client.state = State.ACTIVE  # pretend it did not listen
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
