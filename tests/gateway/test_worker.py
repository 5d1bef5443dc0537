"""The worker in this process, over real sockets, with the in-process core (LocalCore).

Fast checks of the worker's own logic that do not need the core process: the
batching of commands per loop turn, Sync, routing to every session of an account.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from ringmatch.engine.schema.enums import OrderType, Side
from ringmatch.gateway.client.order_entry import Client
from ringmatch.gateway.config import Account, Config, Server, SessionSettings, Symbol
from ringmatch.gateway.protocol.messages import (
    Cancel,
    ExecType,
    ExecutionReport,
    MassCancel,
    MassCancelDone,
    NewOrder,
)
from ringmatch.gateway.server.core_link import LocalCore
from ringmatch.gateway.server.worker_loop import serve

CONFIG = Config(
    server=Server(port=0),
    session=SessionSettings(heartbeat_s=5.0, timeout_s=10.0),
    accounts=[Account("alice", "a"), Account("bob", "b")],
    symbols=[Symbol("AAPL")],
)


def with_worker(body: Callable[[int, LocalCore], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        stop = asyncio.Event()
        started: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        core = LocalCore()
        task = asyncio.create_task(serve(CONFIG, core, 0, stop, started.set_result))
        port = await asyncio.wait_for(started, 10)
        try:
            return await asyncio.wait_for(body(port, core), 30)
        finally:
            stop.set()
            await task

    return asyncio.run(main())


def order(cid: int, side: Side, price: int, qty: int) -> NewOrder:
    return NewOrder(cid, "AAPL", side, OrderType.LIMIT, price, qty)


def test_every_session_of_the_account_gets_its_reports() -> None:
    async def body(port: int, core: LocalCore) -> None:
        one = await Client.connect("127.0.0.1", port, "alice", "a")
        two = await Client.connect("127.0.0.1", port, "alice", "a")
        ack = await one.request(order(1, Side.BUY, 10, 5))
        await two.sync(one.last_seq)
        assert await two.next_report() == ack
        await one.close()
        await two.close()

    with_worker(body)


def test_requests_of_one_loop_turn_reach_the_core_as_one_batch() -> None:
    async def body(port: int, core: LocalCore) -> None:
        alice = await Client.connect("127.0.0.1", port, "alice", "a")
        before = len(core.submitted)  # records per batch the core was handed
        answers = [alice.expect(order(cid, Side.SELL, 20 + cid, 1)) for cid in range(1, 51)]
        for cid in range(1, 51):
            alice.send(order(cid, Side.SELL, 20 + cid, 1))
        assert all(
            isinstance(a, ExecutionReport) and a.exec_type is ExecType.ACCEPTED
            for a in await asyncio.gather(*answers)
        )
        batches = core.submitted[before:]
        assert sum(batches) == 50 and len(batches) < 50  # one frame in, batches to the core
        done = await alice.request(MassCancel(None))
        assert done == MassCancelDone(done.seq, None, 50, "MASS_CANCEL")  # type: ignore[union-attr]
        again = await alice.request(Cancel(1))
        assert isinstance(again, ExecutionReport) and again.reason == "ORDER_NOT_RESTING"
        await alice.close()

    with_worker(body)
