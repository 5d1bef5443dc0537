"""Fuzz the sans-IO protocol: whatever the bytes, the only exception is ProtocolError.

Every input is fed whole, then again one byte at a time (h11's fuzzer does the
same): framing must not depend on how the socket happened to split the stream.
"""

from __future__ import annotations

import msgspec
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ringmatch.engine.schema.enums import OrderType, Side, StpMode, TimeInForce
from ringmatch.gateway.protocol.connection import NEED_DATA, Connection, ProtocolError, Role
from ringmatch.gateway.protocol.messages import (
    Cancel,
    Heartbeat,
    Logon,
    MassCancel,
    NewOrder,
    Replace,
)

MAX_FRAME = 512


def run(data: bytes, chunk: int) -> list[object]:
    conn = Connection(Role.SERVER, max_frame=MAX_FRAME)
    seen: list[object] = []
    try:
        for at in range(0, len(data), chunk):
            conn.receive_data(data[at : at + chunk])
            while (event := conn.next_event()) is not NEED_DATA:
                seen.append(event)
                if type(event) is Logon:  # answer it, as the server does
                    from ringmatch.gateway.protocol.messages import LogonAccepted

                    conn.send(LogonAccepted(event.account, 1.0, 3.0))
    except ProtocolError as exc:
        assert exc.reason
        seen.append("error")
    return seen


def check(data: bytes) -> None:
    whole = run(data, max(len(data), 1))
    assert run(data, 1) == whole


def frame(body: bytes) -> bytes:
    return len(body).to_bytes(4, "big") + body


_enum = st.sampled_from([*Side, *OrderType, *TimeInForce, *StpMode])
_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.floats(allow_nan=True),
    st.text(max_size=8),
    st.binary(max_size=8),
    _enum.map(lambda e: e.value),
)
_value = st.recursive(_scalar, lambda inner: st.lists(inner, max_size=4), max_leaves=12)
_message = st.one_of(
    st.builds(lambda tag, rest: [tag, *rest], st.integers(0, 16), st.lists(_value, max_size=10)),
    _value,
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
    ]
)
_LOGON = frame(msgspec.msgpack.encode([Logon("alice", "t")]))
_fuzz = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_fuzz
@given(st.binary(max_size=300))
def test_random_bytes(data: bytes) -> None:
    check(data)
    check(_LOGON + data)


@_fuzz
@given(st.lists(_message, max_size=5))
def test_random_messages_in_good_frames(messages: list[object]) -> None:
    check(_LOGON + frame(msgspec.msgpack.encode(messages)))


@_fuzz
@example(  # found by this test: bad UTF-8 inside an otherwise whole message
    [NewOrder(1, "AAPL", Side.BUY, OrderType.LIMIT, 100, 5)], [(len(_LOGON) + 8, 128)], 0
)
@given(
    st.lists(_good, min_size=1, max_size=6),
    st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=4),
    st.integers(0, 20),
)
def test_mutated_valid_frames(
    messages: list[object], flips: list[tuple[int, int]], cut: int
) -> None:
    data = bytearray(_LOGON + frame(msgspec.msgpack.encode(messages)))
    for at, value in flips:
        data[at % len(data)] = value
    check(bytes(data[: max(0, len(data) - cut)]))
