"""The order-entry server as users meet it: real processes, real sockets on 127.0.0.1.

One ``ringmatch serve`` (core process and a gateway worker) for the module; each
test uses its own symbol and fresh client order ids, so they cannot meet in a
book. Nothing waits by sleeping: every wait is on a report, with a timeout.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
import struct
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ringmatch.engine.schema.enums import OrderType, Side, TimeInForce
from ringmatch.gateway.client.order_entry import Client, LogonError
from ringmatch.gateway.protocol.connection import NEED_DATA, Connection, Role
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
    MessageReject,
    NewOrder,
    Replace,
    SymbolDirectory,
    Sync,
    Synced,
)
from ringmatch.gateway.protocol.session_state import State
from ringmatch.gateway.protocol.wire import NEW_ORDER
from tests.gateway.serve_process import ACCOUNTS, ServeProcess, write_config

SYMBOLS = ("AAPL", "MSFT", *(f"T{k}" for k in range(10)))
SESSION = {
    "heartbeat_s": 0.2,
    "timeout_s": 1.0,
    "logon_reject_delay_s": 0.1,
    "max_frame": 4096,
    "max_outbound": 65536,
    "socket_sndbuf": 32768,
}
WAIT = 10.0
_ids = itertools.count(1)


def cid() -> int:
    return next(_ids)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, topology: str) -> Iterator[ServeProcess]:
    tmp = tmp_path_factory.mktemp("serve")
    config = write_config(tmp / "ringmatch.toml", tmp / "data", SESSION, SYMBOLS, topology=topology)
    with ServeProcess(config) as proc:
        yield proc
        assert proc.stop() == 0, "".join(proc.stderr)  # a graceful SIGTERM


def run(coro: Callable[[], Awaitable[Any]]) -> Any:
    return asyncio.run(asyncio.wait_for(coro(), 60))


async def connect(port: int, account: str, **kwargs: Any) -> Client:
    return await Client.connect("127.0.0.1", port, account, ACCOUNTS[account], **kwargs)


def limit(cid_: int, symbol: str, side: Side, price: int, qty: int, **kw: Any) -> NewOrder:
    return NewOrder(cid_, symbol, side, OrderType.LIMIT, price, qty, **kw)


async def proof_of_service(port: int, symbol: str = "T9") -> None:
    """Another session still gets its order accepted and cancelled, promptly."""
    carol = await connect(port, "carol")
    order = cid()
    accepted = await carol.request(limit(order, symbol, Side.BUY, 1, 1), WAIT)
    assert isinstance(accepted, ExecutionReport) and accepted.exec_type is ExecType.ACCEPTED
    cancelled = await carol.request(Cancel(order), WAIT)
    assert isinstance(cancelled, ExecutionReport) and cancelled.exec_type is ExecType.CANCELLED
    await carol.close()


class Raw:
    """A hand-driven connection: bytes out exactly as given, messages in via the sans-IO client."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.conn = Connection(Role.CLIENT, max_frame=SESSION["max_frame"])  # type: ignore[arg-type]

    @classmethod
    async def open(cls, port: int, **sockopts: int) -> Raw:
        sock = socket.socket()
        for option, value in sockopts.items():
            sock.setsockopt(socket.SOL_SOCKET, getattr(socket, option), value)
        sock.connect(("127.0.0.1", port))
        reader, writer = await asyncio.open_connection(sock=sock)
        return cls(reader, writer)

    async def logon(self, account: str = "alice", token: str | None = None) -> Any:
        """The answer to our Logon (the symbol directory after it read too)."""
        self.writer.write(
            self.conn.send(Logon(account, ACCOUNTS[account] if token is None else token))
        )
        answer = await self.next()
        while self.conn.state is State.DIRECTORY:
            assert type(await self.next()) is SymbolDirectory
        return answer

    def send(self, *messages: Any) -> None:
        self.writer.write(self.conn.send_many(messages))

    def send_bytes(self, data: bytes) -> None:
        self.writer.write(data)

    async def next(self) -> Any:
        """The next message; None at end of stream."""
        while (event := self.conn.next_event()) is NEED_DATA:
            try:
                data = await asyncio.wait_for(self.reader.read(65536), WAIT)
            except ConnectionResetError:  # closed with our unread bytes in its buffer
                return None
            if not data:
                return None
            self.conn.receive_data(data)
        return event

    async def until(self, kind: type) -> list[Any]:
        """Every message up to and including the first ``kind`` (or the end of stream)."""
        seen = []
        while (message := await self.next()) is not None:
            seen.append(message)
            if type(message) is kind:
                break
        return seen

    async def eof(self) -> bool:
        try:
            return await asyncio.wait_for(self.reader.read(), WAIT) == b""
        except ConnectionResetError:
            return True


_CODEC = Connection(Role.CLIENT, symbols=SYMBOLS).codec  # the server's ids: T2 is 5


def wire(*messages: Any) -> bytes:
    """The bytes of ``messages``, as a client that learnt the server's directory sends them."""
    return _CODEC.encode_many(messages)


# --- orders, fills, both sides ---------------------------------------------------------------


def test_a_trade_reports_to_both_sides_with_cum_and_leaves(server: ServeProcess) -> None:
    async def main() -> None:
        alice, bob = await connect(server.port, "alice"), await connect(server.port, "bob")
        sell, buy = cid(), cid()
        ack = await alice.request(limit(sell, "T0", Side.SELL, 100, 10), WAIT)
        assert isinstance(ack, ExecutionReport) and ack.exec_type is ExecType.ACCEPTED
        assert (ack.client_order_id, ack.leaves_qty, ack.cum_qty) == (sell, 10, 0)
        bob_ack = await bob.request(limit(buy, "T0", Side.BUY, 101, 4), WAIT)
        assert await bob.next_report(WAIT) == bob_ack  # the answer is in the stream too
        fill = await bob.next_report(WAIT)
        assert isinstance(fill, ExecutionReport)
        assert (fill.exec_type, fill.client_order_id, fill.last_price, fill.last_qty) == (
            ExecType.FILLED,
            buy,
            100,
            4,
        )
        assert (fill.cum_qty, fill.leaves_qty) == (4, 0) and fill.trade_id > 0
        await alice.sync(bob.last_seq)
        ack_again, maker = await alice.next_report(WAIT), await alice.next_report(WAIT)
        assert ack_again == ack
        assert isinstance(maker, ExecutionReport)
        assert (maker.exec_type, maker.client_order_id, maker.cum_qty, maker.leaves_qty) == (
            ExecType.PARTIALLY_FILLED,
            sell,
            4,
            6,
        )
        assert maker.trade_id == fill.trade_id
        replaced = await alice.request(Replace(sell, 102, 3), WAIT)
        assert isinstance(replaced, ExecutionReport) and replaced.exec_type is ExecType.REPLACED
        assert (replaced.price, replaced.leaves_qty, replaced.cum_qty) == (102, 3, 4)
        done = await alice.request(Cancel(sell), WAIT)
        assert isinstance(done, ExecutionReport) and done.exec_type is ExecType.CANCELLED
        again = await alice.request(Cancel(sell), WAIT)
        assert isinstance(again, ExecutionReport) and again.exec_type is ExecType.REJECTED
        assert (again.reason, again.request) == ("ORDER_NOT_RESTING", "CANCEL")
        dup = await alice.request(limit(sell, "T0", Side.SELL, 100, 1), WAIT)
        assert isinstance(dup, ExecutionReport) and dup.reason == "DUPLICATE_CLIENT_ORDER_ID"
        killed = await bob.request(
            NewOrder(cid(), "T0", Side.BUY, OrderType.LIMIT, 100, 5, TimeInForce.FOK), WAIT
        )
        assert isinstance(killed, ExecutionReport) and killed.exec_type is ExecType.ACCEPTED
        assert await bob.next_report(WAIT) == killed
        report = await bob.next_report(WAIT)
        assert isinstance(report, ExecutionReport) and report.exec_type is ExecType.KILLED
        await alice.close()
        await bob.close()

    run(main)


# --- account isolation -----------------------------------------------------------------------


def test_a_session_cannot_touch_or_see_another_accounts_orders(server: ServeProcess) -> None:
    async def main() -> None:
        alice, bob = await connect(server.port, "alice"), await connect(server.port, "bob")
        order = cid()
        await alice.request(limit(order, "T1", Side.BUY, 50, 5), WAIT)
        for request in (Cancel(order), Replace(order, 51, 5)):
            answer = await bob.request(request, WAIT)
            assert isinstance(answer, ExecutionReport)
            assert (answer.exec_type, answer.reason) == (
                ExecType.REJECTED,
                "UNKNOWN_CLIENT_ORDER_ID",
            )
            assert answer.order_id == 0 and answer.symbol == ""  # nothing about alice's order
        seen: list[Any] = []
        bob.on_report(seen.append)
        await bob.sync(alice.last_seq)
        assert not seen  # not one of alice's reports reached bob
        still = await alice.request(Cancel(order), WAIT)
        assert isinstance(still, ExecutionReport) and still.exec_type is ExecType.CANCELLED
        assert still.leaves_qty == 0 and still.reason == "USER"
        await alice.close()
        await bob.close()

    run(main)


@pytest.mark.parametrize(("account", "token"), [("alice", "wrong"), ("mallory", "x"), ("", "")])
def test_a_bad_logon_gets_a_reject_then_the_connection_closes(
    server: ServeProcess, account: str, token: str
) -> None:
    async def main() -> None:
        raw = await Raw.open(server.port)
        answer = await raw.logon(account, token)
        assert answer == LogonRejected("unknown account or wrong token")
        raw.send_bytes(wire(limit(1, "T1", Side.BUY, 1, 1)))
        assert await raw.next() is None  # nothing more, then closed
        with pytest.raises(LogonError, match="wrong token"):
            await Client.connect("127.0.0.1", server.port, account or "x", token + "!")
        await proof_of_service(server.port)

    run(main)


# --- bad input ---------------------------------------------------------------------------------

NEW = wire(limit(1, "T2", Side.BUY, 10, 5))  # a good NewOrder (client order id 1)


def _with(**fields: int) -> bytes:
    """NEW with some fields of its layout changed (by their place in wire.NEW_ORDER)."""
    names = "length type version side order_type tif stp symbol flags r1 r2 cid price qty"
    values = dict(zip(names.split(), NEW_ORDER.unpack(NEW), strict=True))
    values.update(fields)
    return NEW_ORDER.pack(*values.values())[: values["length"]]


@pytest.mark.parametrize(
    ("data", "field", "reason"),
    [
        (_with(price=0), "price", "must be > 0, got 0"),
        (_with(price=-3), "price", "must be > 0, got -3"),
        (_with(qty=0), "qty", "must be > 0"),
        (_with(cid=2**63), "client_order_id", "below 2^63"),
        (_with(symbol=99), "symbol", "unknown symbol id 99"),
        (_with(side=7), "side", "invalid code 7 (valid: 1 BUY, 2 SELL)"),
        (_with(order_type=9), "order_type", "invalid code 9 (valid: 1 LIMIT, 2 MARKET)"),
        (_with(cid=0), "client_order_id", "must be > 0"),
        (_with(version=1), "version", "unsupported version 1"),
        (_with(length=38), "length", "NewOrder is 40 bytes, got 38"),
        (struct.pack("<HBBI", 8, 42, 2, 0), "type", "unknown message type 42"),
        (
            struct.pack("<HBBIQqq", 32, 4, 2, 0, 1, 0, 5),  # a Replace at price 0
            "price",
            "must be > 0",
        ),
    ],
)
def test_a_bad_message_is_rejected_naming_the_field_and_the_session_goes_on(
    server: ServeProcess, data: bytes, field: str, reason: str
) -> None:
    async def main() -> None:
        raw = await Raw.open(server.port)
        assert type(await raw.logon("alice")) is LogonAccepted
        raw.send_bytes(data)
        reject = (await raw.until(MessageReject))[-1]
        assert isinstance(reject, MessageReject)
        assert reject.field == field and reason in reject.reason
        raw.send(Heartbeat())  # the same session is still up: it answers a Sync
        raw.send(Sync(0))
        assert (await raw.until(Synced))[-1] == Synced(0)
        raw.writer.close()
        await proof_of_service(server.port)

    run(main)


@pytest.mark.parametrize(
    ("logon_first", "data", "reason"),
    [
        (True, b"\x01\x10\x02\x02", "message of 4097 bytes exceeds the maximum of 4096"),
        (True, b"\xff\xff\x02\x02", "exceeds the maximum"),
        (True, b"\x02\x00\x02\x02", "message length 2 is outside 4..4096"),
        (False, NEW, "NewOrder is not allowed in state AWAIT_LOGON"),
        (False, b"\x04\x00\x63\x02", "in state AWAIT_LOGON: unknown message type 99"),
        (True, wire(Logon("alice", "alice-secret")), "Logon is not allowed in state ACTIVE"),
    ],
)
def test_a_stream_that_cannot_be_trusted_is_dropped_with_a_reason(
    server: ServeProcess, logon_first: bool, data: bytes, reason: str
) -> None:
    async def main() -> None:
        raw = await Raw.open(server.port)
        if logon_first:
            assert type(await raw.logon("alice")) is LogonAccepted
        raw.send_bytes(data)
        goodbye = (await raw.until(Logout))[-1]
        assert isinstance(goodbye, Logout) and reason in goodbye.reason
        assert await raw.eof()
        await proof_of_service(server.port)

    run(main)


def test_a_wrong_protocol_version_is_refused(server: ServeProcess) -> None:
    async def main() -> None:
        raw = await Raw.open(server.port)
        raw.writer.write(raw.conn.send(Logon("alice", ACCOUNTS["alice"], 99)))
        answer = await raw.next()
        assert isinstance(answer, LogonRejected) and "protocol version 99" in answer.reason

    run(main)


# --- session life ----------------------------------------------------------------------------


def test_cancel_on_disconnect_cancels_only_when_asked(server: ServeProcess) -> None:
    async def main() -> None:
        results = {}
        for flag in (True, False):
            alice = await connect(server.port, "alice", cancel_on_disconnect=flag)
            order = cid()
            await alice.request(limit(order, "T3", Side.SELL, 500, 5), WAIT)
            assert alice.transport is not None
            alice.transport.abort()  # the connection drops, no Logout
            again = await connect(server.port, "alice")
            answer = await again.request(Cancel(order), WAIT)
            assert isinstance(answer, ExecutionReport)
            results[flag] = (answer.exec_type, answer.reason)
            await again.close()
        assert results[True] == (ExecType.REJECTED, "ORDER_NOT_RESTING")
        assert results[False] == (ExecType.CANCELLED, "USER")

    run(main)


def test_a_silent_session_gets_heartbeats_then_is_closed(server: ServeProcess) -> None:
    async def main() -> None:
        raw = await Raw.open(server.port)
        assert type(await raw.logon("bob")) is LogonAccepted
        seen = await raw.until(Logout)  # we say nothing at all from here on
        assert Heartbeat() in seen
        assert seen[-1] == Logout("timeout: nothing received for 1.0 s")
        assert await raw.eof()

    run(main)


def test_a_client_that_stops_reading_is_disconnected_and_nobody_else_waits(
    server: ServeProcess,
) -> None:
    async def main() -> None:
        slow = await Raw.open(server.port, SO_RCVBUF=4096)
        assert type(await slow.logon("bob")) is LogonAccepted
        orders = 30_000  # each: ACCEPTED + CANCELLED (IOC remainder), ~140 bytes of reports
        batch = [
            NewOrder(cid(), "T4", Side.BUY, OrderType.LIMIT, 1, 1, TimeInForce.IOC)
            for _ in range(orders)
        ]
        dropped_while_sending = False
        for at in range(0, orders, 200):
            slow.send(*batch[at : at + 200])
            try:
                await slow.writer.drain()
            except ConnectionError:
                dropped_while_sending = True  # the server gave up on us mid-flood
                break
        assert server.wait_for_stderr("slow reader")  # while we read nothing
        await proof_of_service(server.port)
        received = 0
        if not dropped_while_sending:
            while (message := await slow.next()) is not None:
                received += type(message) is ExecutionReport
        assert received < 2 * orders  # cut off, not merely slow

    run(main)


def test_logout_is_answered_and_closes(server: ServeProcess) -> None:
    async def main() -> None:
        raw = await Raw.open(server.port)
        assert type(await raw.logon("carol")) is LogonAccepted
        raw.send(Logout())
        assert (await raw.until(Logout))[-1] == Logout("")
        assert await raw.eof()

    run(main)


def test_the_blocking_client(server: ServeProcess) -> None:
    from ringmatch.gateway.client.order_entry import BlockingClient

    with BlockingClient.connect("127.0.0.1", server.port, "carol", ACCOUNTS["carol"]) as carol:
        order = cid()
        answer = carol.request(limit(order, "T5", Side.BUY, 7, 1))
        assert isinstance(answer, ExecutionReport) and answer.exec_type is ExecType.ACCEPTED
        assert carol.next_report() == answer
        cancelled = carol.request(Cancel(order))
        assert isinstance(cancelled, ExecutionReport) and cancelled.leaves_qty == 0


def test_serve_reports_a_bad_config_by_key(tmp_path: Path) -> None:
    import subprocess
    import sys

    from tests.conftest import REPO

    bad = tmp_path / "bad.toml"
    bad.write_text('[server]\nhost = "127.0.0.1"\nprot = 1\n')
    done = subprocess.run(
        [sys.executable, "-m", "ringmatch.cli", "serve", "--config", str(bad)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert "[server] prot: unknown key; [server] takes host, port," in done.stderr


# --- fuzz against the live worker ------------------------------------------------------------


_good_stream = st.sampled_from(
    [
        NEW,
        wire(Cancel(1), Heartbeat(), MassCancel(None)),
        wire(Replace(1, 10, 2), Sync(0)),
    ]
)


@st.composite
def _mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(_good_stream))
    for _ in range(draw(st.integers(0, 4))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    return bytes(data)


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.one_of(st.binary(max_size=64), _mutated()), min_size=1, max_size=4))
def test_random_and_mutated_streams_never_hurt_the_worker(
    server: ServeProcess, chunks: list[bytes]
) -> None:
    async def main() -> None:
        raw = await Raw.open(server.port)
        assert type(await raw.logon("alice")) is LogonAccepted
        for chunk in chunks:
            raw.send_bytes(chunk)
        raw.writer.close()
        await proof_of_service(server.port)

    run(main)
    assert server.proc.poll() is None
