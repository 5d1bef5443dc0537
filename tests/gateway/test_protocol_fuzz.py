"""Fuzz the sans-IO protocol: whatever the bytes, the only exception is ProtocolError.

Every input is fed whole, then again one byte at a time (h11's fuzzer does the
same): reading the stream must not depend on how the socket happened to split it.
"""

from __future__ import annotations

import struct

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ringmatch.engine.schema.enums import OrderType, Side, StpMode, TimeInForce
from ringmatch.gateway.protocol.connection import (
    NEED_DATA,
    BadMessage,
    Connection,
    ProtocolError,
    Role,
)
from ringmatch.gateway.protocol.messages import (
    Cancel,
    Heartbeat,
    Logon,
    LogonAccepted,
    Logout,
    MassCancel,
    NewOrder,
    Replace,
    RiskQuery,
    SymbolDirectory,
    Sync,
)

MAX_FRAME = 512
SYMBOLS = ["AAPL", "MSFT"]
HELLO = [
    LogonAccepted("alice", 1.0, 3.0, 0, 1, 2),
    SymbolDirectory(1, "AAPL"),
    SymbolDirectory(2, "MSFT"),
]


def run(data: bytes, chunk: int) -> list[object]:
    conn = Connection(Role.SERVER, max_frame=MAX_FRAME, symbols=SYMBOLS)
    seen: list[object] = []
    try:
        for at in range(0, len(data), chunk):
            conn.receive_data(data[at : at + chunk])
            while (event := conn.next_event()) is not NEED_DATA:
                seen.append(event)
                if type(event) is Logon:  # answer it, as the server does
                    conn.send_many(HELLO)  # type: ignore[arg-type]
                elif type(event) is BadMessage:
                    conn.send(event.reject)  # and a reject must always be sendable
    except ProtocolError as exc:
        assert exc.reason
        seen.append("error")
    return seen


def check(data: bytes) -> None:
    whole = run(data, max(len(data), 1))
    assert run(data, 1) == whole


_CLIENT = Connection(Role.CLIENT)
_LOGON = _CLIENT.send(Logon("alice", "t"))


def encode(messages: list[object]) -> bytes:
    client = Connection(Role.CLIENT, symbols=SYMBOLS)
    return client.codec.encode_many(messages)


# A message with a sane header: any type (known or not), version mostly 2, then any body.
_message = st.builds(
    lambda kind, version, body: struct.pack("<HBB", 4 + len(body), kind, version) + body,
    st.integers(0, 255),
    st.sampled_from([2, 2, 2, 1, 3, 255]),
    st.binary(max_size=60),
)
_good = st.sampled_from(
    [
        NewOrder(1, "AAPL", Side.BUY, OrderType.LIMIT, 100, 5),
        NewOrder(2, "MSFT", Side.SELL, OrderType.MARKET, None, 1, TimeInForce.IOC),
        Cancel(1),
        Replace(1, 101, 4),
        MassCancel(None),
        MassCancel("AAPL"),
        Heartbeat(),
        Sync(5),
        RiskQuery(3, "kill", "bob", True, False, "why"),
        Logout("bye"),
    ]
)
_fuzz = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_fuzz
@given(st.binary(max_size=300))
def test_random_bytes(data: bytes) -> None:
    check(data)
    check(_LOGON + data)


@_fuzz
@given(st.lists(_message, max_size=6))
def test_random_messages_with_sane_lengths(messages: list[bytes]) -> None:
    check(_LOGON + b"".join(messages))


@_fuzz
@example(  # bad UTF-8 inside an otherwise whole message (Logout's reason)
    [Logout("bye")], [(len(_LOGON) + 6, 0xFF)], 0
)
@given(
    st.lists(_good, min_size=1, max_size=6),
    st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=4),
    st.integers(0, 20),
)
def test_mutated_valid_streams(
    messages: list[object], flips: list[tuple[int, int]], cut: int
) -> None:
    data = bytearray(_LOGON + encode(messages))
    for at, value in flips:
        data[at % len(data)] = value
    check(bytes(data[: max(0, len(data) - cut)]))


@_fuzz
@given(
    st.lists(_good.filter(lambda m: type(m) is not Logout), min_size=1, max_size=6),
    st.integers(0, 200),
    st.integers(0, 255),
)
def test_a_flipped_byte_in_a_body_never_loses_the_messages_after_it(
    messages: list[object], where: int, value: int
) -> None:
    """Past the header, a bad byte costs at most its own message: the length still holds."""
    body = bytearray(encode(messages))
    first = struct.unpack_from("<H", body, 0)[0]
    if first > 4:
        body[4 + where % (first - 4)] = value
    seen = run(_LOGON + bytes(body), len(body) + len(_LOGON))
    assert "error" not in seen
    assert seen[2:] == messages[1:]


def run_client(data: bytes, chunk: int) -> list[object]:
    conn = Connection(Role.CLIENT, max_frame=MAX_FRAME)
    conn.send(Logon("alice", "t"))
    seen: list[object] = []
    try:
        for at in range(0, len(data), chunk):
            conn.receive_data(data[at : at + chunk])
            while (event := conn.next_event()) is not NEED_DATA:
                seen.append(event)
    except ProtocolError as exc:
        assert exc.reason
        seen.append("error")
    return seen


_HELLO = Connection(Role.SERVER, symbols=SYMBOLS).codec.encode_many(HELLO)


@_fuzz
@given(st.lists(_message, max_size=6), st.binary(max_size=100))
def test_what_a_client_reads(messages: list[bytes], tail: bytes) -> None:
    """The client's end too: a server's stream, good directory first, then anything."""
    for data in (_HELLO + b"".join(messages) + tail, b"".join(messages) + tail):
        assert run_client(data, 1) == run_client(data, max(len(data), 1))


# --- version 3: the same properties once a Logon has picked it ------------------------------

_LOGON_V3 = Connection(Role.CLIENT).send(Logon("alice", "t", 3))
_good_v3 = st.sampled_from(
    [
        NewOrder(1, "AAPL", Side.BUY, OrderType.STOP, None, 5, None, False, StpMode.NONE, 120),
        NewOrder(
            2,
            "MSFT",
            Side.SELL,
            OrderType.LIMIT,
            100,
            9,
            TimeInForce.GTD,
            True,
            StpMode.NONE,
            None,
            3,
            1_700_000_000_000_000_000,
        ),
        NewOrder(
            3,
            "AAPL",
            Side.BUY,
            OrderType.STOP_LIMIT,
            101,
            2,
            TimeInForce.DAY,
            False,
            StpMode.NONE,
            99,
        ),
        Replace(1, None, 4, 118),
        Replace(2, 102, 8),
        Cancel(1),
        MassCancel("AAPL"),
        Heartbeat(),
        Sync(5),
    ]
)


def encode_v3(messages: list[object]) -> bytes:
    client = Connection(Role.CLIENT, symbols=SYMBOLS)
    client.codec.use_version(3)
    return client.codec.encode_many(messages)


@_fuzz
@given(st.lists(_message, max_size=6))
def test_random_messages_after_a_version_3_logon(messages: list[bytes]) -> None:
    check(_LOGON_V3 + b"".join(messages))


@_fuzz
@given(
    st.lists(_good_v3, min_size=1, max_size=6),
    st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=4),
    st.integers(0, 20),
)
def test_mutated_valid_version_3_streams(
    messages: list[object], flips: list[tuple[int, int]], cut: int
) -> None:
    data = bytearray(_LOGON_V3 + encode_v3(messages))
    for at, value in flips:
        data[at % len(data)] = value
    check(bytes(data[: max(0, len(data) - cut)]))


@_fuzz
@given(st.lists(_good_v3, min_size=1, max_size=6), st.integers(0, 200), st.integers(0, 255))
def test_a_flipped_byte_in_a_version_3_body_costs_only_its_message(
    messages: list[object], where: int, value: int
) -> None:
    body = bytearray(encode_v3(messages))
    first = struct.unpack_from("<H", body, 0)[0]
    if first > 4:
        body[4 + where % (first - 4)] = value
    seen = run(_LOGON_V3 + bytes(body), len(body) + len(_LOGON_V3))
    assert "error" not in seen
    assert seen[2:] == messages[1:]
    assert run(_LOGON_V3 + encode_v3(messages), 1)[1:] == messages  # unflipped: all read back
