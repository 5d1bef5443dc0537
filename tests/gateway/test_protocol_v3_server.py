"""Protocol version 3 end to end: real sessions over TCP to ``ringmatch serve`` on the pure
engine (RINGMATCH_PURE=1), and on the compiled kernel, whose pre-trade stage runs the
venue's orders as the reference's does.

A v3 client's stop is held, a trade through its trigger releases it, and the client
is told (TRIGGERED, then its fill); a v2 session of the same account on the same
server sees the same orders in the v2 codes it knows and nothing else, and a plain
v2 client trades as it always has.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from ringmatch.engine import build_info
from ringmatch.engine.replay.order_csv import HEADER
from ringmatch.engine.schema.enums import OrderType, Side, StpMode, TimeInForce
from ringmatch.gateway.client.order_entry import Client, LogonError
from ringmatch.gateway.protocol import codes
from ringmatch.gateway.protocol.messages import (
    ExecType,
    ExecutionReport,
    MessageReject,
    NewOrder,
    Replace,
    ServerMessage,
)
from tests.conftest import REPO
from tests.gateway.serve_process import ACCOUNTS, ServeProcess, write_config

SESSION = {"heartbeat_s": 0.5, "timeout_s": 5.0, "logon_reject_delay_s": 0.1}
WAIT = 10.0
_ids = itertools.count(1)


@pytest.fixture(scope="module")
def pure_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp: Path = tmp_path_factory.mktemp("serve-v3")
    return write_config(tmp / "ringmatch.toml", tmp / "data", SESSION, topology="compact")


@pytest.fixture(scope="module")
def server(pure_config: Path) -> Iterator[ServeProcess]:
    config = pure_config
    with pytest.MonkeyPatch.context() as env:
        env.setenv("RINGMATCH_PURE", "1")  # the reference kernel runs the venue rules
        proc = ServeProcess(config)
    with proc:
        yield proc
        assert proc.stop() == 0, "".join(proc.stderr)


def run(coro: Callable[[], Awaitable[Any]]) -> Any:
    return asyncio.run(asyncio.wait_for(coro(), 60))


class Session:
    """A logged-on client and every message it has received, in order."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.seen: list[ServerMessage] = []
        client.on_report(self.seen.append)

    @classmethod
    async def open(cls, port: int, account: str, version: int) -> Session:
        client = await Client.connect(
            "127.0.0.1", port, account, ACCOUNTS[account], protocol_version=version
        )
        return cls(client)

    def reports(self, cid: int) -> list[tuple[ExecType, int, int]]:
        """(exec_type, last_qty, leaves_qty) of each report of client order ``cid``."""
        return [
            (m.exec_type, m.last_qty, m.leaves_qty)
            for m in self.seen
            if type(m) is ExecutionReport and m.client_order_id == cid
        ]


def limit(cid: int, side: Side, price: int, qty: int) -> NewOrder:
    return NewOrder(cid, "AAPL", side, OrderType.LIMIT, price, qty)


def stop(cid: int, side: Side, trigger: int, qty: int) -> NewOrder:
    return NewOrder(
        cid, "AAPL", side, OrderType.STOP, None, qty, None, False, StpMode.NONE, trigger
    )


async def accepted(session: Session, order: NewOrder) -> ExecutionReport:
    answer = await session.client.request(order, WAIT)
    assert type(answer) is ExecutionReport and answer.exec_type is ExecType.ACCEPTED, answer
    return answer


def test_a_v3_client_is_told_when_its_stop_triggers_and_a_v2_session_is_not(
    server: ServeProcess,
) -> None:
    async def main() -> None:
        alice3 = await Session.open(server.port, "alice", 3)
        alice2 = await Session.open(server.port, "alice", 2)  # the same account, version 2
        bob = await Session.open(server.port, "bob", 2)
        carol = await Session.open(server.port, "carol", 2)
        held, ask, lift = next(_ids), next(_ids), next(_ids)
        await accepted(alice3, stop(held, Side.BUY, 105, 5))
        await accepted(bob, limit(ask, Side.SELL, 105, 10))
        await accepted(carol, limit(lift, Side.BUY, 105, 1))  # prints at 105: the trigger
        # Every report up to carol's order is out once each session has synced past it.
        for session in (alice3, alice2, bob):
            await session.client.sync(carol.client.last_seq, WAIT)
        assert alice3.reports(held) == [
            (ExecType.ACCEPTED, 0, 5),
            (ExecType.TRIGGERED, 0, 5),  # released as a market order
            (ExecType.FILLED, 5, 0),
        ]
        # The v2 session of the account learns the fill, never a code v2 lacks.
        assert alice2.reports(held) == [(ExecType.ACCEPTED, 0, 5), (ExecType.FILLED, 5, 0)]
        assert bob.reports(ask) == [
            (ExecType.ACCEPTED, 0, 10),
            (ExecType.PARTIALLY_FILLED, 1, 9),
            (ExecType.PARTIALLY_FILLED, 5, 4),
        ]
        for session in (alice2, bob, carol):
            assert session.client.conn.version == 2
            assert all(
                type(m) is not ExecutionReport or m.exec_type in codes.EXEC_TYPE.code
                for m in session.seen
            )
            assert not any(type(m) is MessageReject for m in session.seen)
        for session in (alice3, alice2, bob, carol):
            await session.client.close()

    run(main)


def test_a_v3_client_replaces_a_held_stop_keeping_its_empty_price(server: ServeProcess) -> None:
    async def main() -> None:
        alice = await Session.open(server.port, "alice", 3)
        held = next(_ids)
        await accepted(alice, stop(held, Side.SELL, 50, 3))
        answer = await alice.client.request(Replace(held, None, 2, 40), WAIT)
        assert type(answer) is ExecutionReport and answer.exec_type is ExecType.REPLACED, answer
        assert (answer.price, answer.leaves_qty) == (None, 2)
        await alice.client.close()

    run(main)


def test_v3_fields_the_engine_refuses_are_its_rejects_and_v2_cannot_send_them(
    server: ServeProcess,
) -> None:
    async def main() -> None:
        alice3 = await Session.open(server.port, "alice", 3)
        bad_gtd = NewOrder(next(_ids), "AAPL", Side.BUY, OrderType.LIMIT, 10, 5, TimeInForce.GTD)
        answer = await alice3.client.request(bad_gtd, WAIT)  # GTD needs its expire_ts
        assert type(answer) is ExecutionReport and answer.exec_type is ExecType.REJECTED
        assert answer.reason == "INVALID_EXPIRE_TS", answer
        alice2 = await Session.open(server.port, "alice", 2)
        with pytest.raises(ValueError, match="protocol version 3"):
            alice2.client.send(stop(next(_ids), Side.BUY, 200, 1))
        for session in (alice3, alice2):
            await session.client.close()

    run(main)


def test_a_logon_for_a_version_the_server_lacks_is_refused(server: ServeProcess) -> None:
    async def main() -> None:
        with pytest.raises(LogonError, match="protocol version 4 not supported \\(use 2 or 3\\)"):
            await Client.connect("127.0.0.1", server.port, "alice", ACCOUNTS["alice"],
                                 protocol_version=4)  # fmt: skip

    run(main)


def test_ringmatch_send_sends_an_order_files_venue_rows(
    server: ServeProcess, pure_config: Path, tmp_path: Path
) -> None:
    # Version 3 carries the file's stop and GTD iceberg; --wait-ack keeps the file's order.
    orders = tmp_path / "venue.csv"
    rows = [
        "1,NEW,7000001,alice,MSFT,BUY,STOP,,,5,,,105,,,",  # held until 105 prints
        "1,NEW,7000002,bob,MSFT,SELL,LIMIT,,105,10,,,,,,",
        "1,NEW,7000003,carol,MSFT,BUY,LIMIT,,105,1,,,,,,",  # prints 105: the stop goes
        # A GTD iceberg, the best ask (bob's 4 left rest at 105), then its slice taken.
        "1,NEW,7000004,alice,MSFT,SELL,LIMIT,GTD,100,9,,,,3,4102444800000000000,",
        "1,NEW,7000005,carol,MSFT,BUY,LIMIT,,100,3,,,,,,",  # a new slice shows
    ]
    orders.write_text(HEADER + "\n" + "\n".join(rows) + "\n")
    reports = tmp_path / "reports.jsonl"
    sent = subprocess.run(
        [sys.executable, "-m", "ringmatch.cli", "send", str(orders), "--port", str(server.port),
         "--config", str(pure_config), "--wait-ack", "--reports-out", str(reports)],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert sent.returncode == 0, sent.stderr
    got = [json.loads(line) for line in reports.read_text().splitlines()]
    alice = [
        (r["exec_type"], r["leaves_qty"])
        for r in got
        if r["type"] == "ExecutionReport" and r["client_order_id"] in (7000001, 7000004)
    ]
    assert alice == [
        ("ACCEPTED", 5),
        ("TRIGGERED", 5),
        ("FILLED", 0),
        ("ACCEPTED", 9),
        ("PARTIALLY_FILLED", 6),
        ("REFRESHED", 6),
    ]


@pytest.fixture(scope="module")
def compiled_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    if not build_info.kernel_built() or build_info.wants_pure():
        pytest.skip("no compiled kernel here")
    tmp: Path = tmp_path_factory.mktemp("serve-compiled")
    config = write_config(tmp / "ringmatch.toml", tmp / "data", SESSION, topology="compact")
    with ServeProcess(config) as proc:
        yield proc
        assert proc.stop() == 0, "".join(proc.stderr)


def test_a_server_on_the_compiled_kernel_runs_venue_orders_as_the_pure_one_does(
    compiled_server: ServeProcess,
) -> None:
    # Its kernel's pre-trade stage checks a stop as PreTradeRisk does: the stop is
    # held, its kept-price replace goes through, and a plain v3 order is served too.
    async def main() -> None:
        alice = await Session.open(compiled_server.port, "alice", 3)
        held = next(_ids)
        await accepted(alice, stop(held, Side.BUY, 105, 5))
        answer = await alice.client.request(Replace(held, None, 4, 106), WAIT)
        assert type(answer) is ExecutionReport and answer.exec_type is ExecType.REPLACED, answer
        assert (answer.price, answer.leaves_qty) == (None, 4)
        await accepted(alice, limit(next(_ids), Side.BUY, 100, 1))  # a v3 plain order: fine
        assert not any(type(m) is MessageReject for m in alice.seen)
        await alice.client.close()

    run(main)


def test_a_halt_and_its_resumption_uncross_on_the_compiled_kernel(
    compiled_server: ServeProcess,
) -> None:
    # An admin halts the symbol (ringmatch risk --phase, journalled as a SET_PHASE):
    # crossing orders rest without trading; resuming uncrosses the call book at one
    # price, and each side is told its fill. (MSFT: the tests before left AAPL stops.)
    def on_msft(order: NewOrder) -> NewOrder:
        return msgspec.structs.replace(order, symbol="MSFT")

    def phase(name: str) -> None:
        done = subprocess.run(
            [sys.executable, "-m", "ringmatch.cli", "risk", "--config", str(compiled_server.config),
             "--phase", "MSFT", name],
            cwd=REPO, capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr

    async def main() -> None:
        alice = await Session.open(compiled_server.port, "alice", 3)
        bob = await Session.open(compiled_server.port, "bob", 3)
        carol = await Session.open(compiled_server.port, "carol", 3)
        phase("HALTED")
        ask, bid, after = next(_ids), next(_ids), next(_ids)
        await accepted(alice, on_msft(limit(ask, Side.SELL, 200, 5)))
        await accepted(bob, on_msft(limit(bid, Side.BUY, 201, 3)))  # crosses, but halted: rests
        await bob.client.sync(alice.client.last_seq, WAIT)
        assert bob.reports(bid) == [(ExecType.ACCEPTED, 0, 3)]
        phase("CONTINUOUS")
        # An order after the resumption: once it is answered, the uncross is out.
        await accepted(carol, on_msft(limit(after, Side.BUY, 1, 1)))
        for session in (alice, bob):
            await session.client.sync(carol.client.last_seq, WAIT)
        assert alice.reports(ask) == [(ExecType.ACCEPTED, 0, 5), (ExecType.PARTIALLY_FILLED, 3, 2)]
        assert bob.reports(bid) == [(ExecType.ACCEPTED, 0, 3), (ExecType.FILLED, 3, 0)]
        fills = [m for m in bob.seen if type(m) is ExecutionReport and m.last_qty]
        assert fills[0].last_price in (200, 201)  # one uncross price for both sides
        assert not any(type(m) is MessageReject for m in (*alice.seen, *bob.seen, *carol.seen))
        for session in (alice, bob, carol):
            await session.client.close()

    run(main)


def test_a_gtd_order_expires_on_the_compiled_kernel_when_its_time_comes(
    compiled_server: ServeProcess,
) -> None:
    # Nothing else arrives: the core's Clock, due at the order's expire_ts, expires
    # it (V-TIME), and the owner is told CANCELLED EXPIRED.
    async def main() -> None:
        alice = await Session.open(compiled_server.port, "alice", 3)
        expired = asyncio.Event()
        gtd = next(_ids)

        def watch(m: ServerMessage) -> None:
            if type(m) is ExecutionReport and m.client_order_id == gtd and m.reason == "EXPIRED":
                expired.set()

        alice.client.on_report(watch)
        order = NewOrder(
            gtd, "MSFT", Side.BUY, OrderType.LIMIT, 2, 1, TimeInForce.GTD,
            expire_ts=time.time_ns() + 300_000_000,
        )  # fmt: skip
        await accepted(alice, order)
        await asyncio.wait_for(expired.wait(), WAIT)
        report = alice.seen[-1]
        assert type(report) is ExecutionReport
        assert (report.exec_type, report.leaves_qty) == (ExecType.CANCELLED, 0)
        await alice.client.close()

    run(main)
