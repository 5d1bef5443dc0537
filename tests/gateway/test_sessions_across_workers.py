"""Cancel-on-disconnect across gateway workers: ``ringmatch serve --workers 2``.

    alice A ──▶ worker 0 ──┐
    alice B ──▶ worker 1 ──┼──▶ core: counts alice's sessions on every worker
    bob     ──▶ worker 0 ──┘          (SessionOpened / SessionClosed inputs)

The kernel spreads connections over the workers (SO_REUSEPORT); LogonAccepted
says which worker a session landed on, so a test connects until it has the
sessions it needs. Closing A (worker 0's last alice session) must leave
alice's orders alone; closing B (her last anywhere) cancels them, reason
DISCONNECT, under the seq of B's SessionClosed. Nobody is left to be told, so
the journal is the witness: it is replayed once the server has stopped.
Nothing waits by sleeping: every wait is on a report, an end of stream or the
server's exit.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from ringmatch.engine.core.stage_chain import CoreLogic
from ringmatch.engine.journal.log import JournalReader
from ringmatch.engine.schema.commands import SessionClosed, SessionOpened, WorkerStarted
from ringmatch.engine.schema.enums import CancelReason, OrderType, Side
from ringmatch.engine.schema.events import Cancelled, Event, MassCancelled
from ringmatch.gateway.client.order_entry import Client
from ringmatch.gateway.protocol.messages import ExecType, ExecutionReport, NewOrder, ServerMessage
from ringmatch.stages import resolve
from tests.gateway.serve_process import ACCOUNTS, ServeProcess, write_config

SESSION: dict[str, object] = {"heartbeat_s": 1.0, "timeout_s": 30.0, "logon_reject_delay_s": 0.1}
WAIT = 10.0
TRIES = 64  # connections to land one on each worker: each misses with odds 1/2
_ids = itertools.count(1)


def run(coro: Callable[[], Awaitable[Any]]) -> Any:
    return asyncio.run(asyncio.wait_for(coro(), 90))


def sell(symbol: str, price: int = 500) -> NewOrder:
    return NewOrder(next(_ids), symbol, Side.SELL, OrderType.LIMIT, price, 5)


async def connect(port: int, account: str, cod: bool = False) -> Client:
    client = await Client.connect("127.0.0.1", port, account, ACCOUNTS[account], cod)
    assert client.logon is not None
    return client


async def one_per_worker(port: int, account: str, workers: set[int], cod: bool) -> list[Client]:
    """Sessions of ``account``, one on each of ``workers`` (in that order); others closed
    once all are found (so the account never runs out of sessions on the way)."""
    found: dict[int, Client] = {}
    spare: list[Client] = []
    for _ in range(TRIES):
        client = await connect(port, account, cod)
        assert client.logon is not None
        if client.logon.worker in workers and client.logon.worker not in found:
            found[client.logon.worker] = client
        else:
            spare.append(client)
        if found.keys() == workers:
            break
    for client in spare:
        await client.close()
    assert found.keys() == workers, f"{TRIES} connections never reached workers {workers}"
    return [found[w] for w in sorted(workers)]


async def accepted(client: Client, order: NewOrder) -> ExecutionReport:
    report = await client.request(order, WAIT)
    assert isinstance(report, ExecutionReport) and report.exec_type is ExecType.ACCEPTED, report
    return report


def replay(data: Path) -> tuple[dict[int, Any], dict[int, list[Event]]]:
    """The journal's inputs and the events they give, by seq."""
    logic, inputs, events = CoreLogic(resolve=resolve), {}, {}
    for seq, inp in JournalReader(data):
        inputs[seq] = inp
        events[seq] = logic.process(inp, seq)
    return inputs, events


def test_only_the_accounts_last_session_on_any_worker_cancels(tmp_path: Path) -> None:
    data = tmp_path / "data"
    config = write_config(tmp_path / "ringmatch.toml", data, SESSION, ("COD", "BAR"))
    with ServeProcess(config, "--workers", "2") as server:

        async def main() -> tuple[int, int, int]:
            a, b = await one_per_worker(server.port, "alice", {0, 1}, cod=True)
            seen_by_b: list[ServerMessage] = []
            b.on_report(seen_by_b.append)
            rest = await accepted(a, sell("COD"))
            assert a.logon is not None and b.logon is not None
            a_session, b_session = a.logon.session, b.logon.session
            await a.close()  # worker 0 has no alice session left; worker 1 has B

            # A barrier through worker 0: bob's order is on its ring after A's end.
            (bob,) = await one_per_worker(server.port, "bob", {0}, cod=False)
            barrier = await accepted(bob, sell("BAR"))
            await b.sync(barrier.seq, WAIT)  # B has every alice report up to there
            # Every session of alice hears of her orders: B saw it accepted, and no more.
            about_rest = [
                m.exec_type
                for m in seen_by_b
                if isinstance(m, ExecutionReport) and m.order_id == rest.order_id
            ]
            assert about_rest == [ExecType.ACCEPTED], about_rest

            await b.close()  # alice's last session anywhere
            await bob.close()
            return rest.order_id, a_session, b_session

        order_id, a_session, b_session = run(main)
        assert server.stop() == 0, "".join(server.stderr)

    inputs, events = replay(data)
    closes = {
        (inp.worker, inp.session): seq
        for seq, inp in inputs.items()
        if isinstance(inp, SessionClosed) and inp.account == "alice"
    }
    first, last = closes[(0, a_session)], closes[(1, b_session)]
    assert events[first] == []  # worker 0's last alice session: nothing happens
    cancels = [
        (seq, e)
        for seq, es in events.items()
        for e in es
        if isinstance(e, Cancelled) and e.order_id == order_id
    ]
    disconnect = CancelReason.DISCONNECT
    assert cancels == [
        (last, Cancelled(last, order_id, "alice", "COD", Side.SELL, 500, 5, disconnect))
    ]
    assert MassCancelled(last, "alice", None, 1, disconnect) in events[last]
    # Each worker said it started, first on its own ring, before any session of it.
    started = sorted((inp.worker, seq) for seq, inp in inputs.items() if type(inp) is WorkerStarted)
    assert [w for w, _ in started] == [0, 1]
    opened = [seq for seq, inp in inputs.items() if type(inp) is SessionOpened]
    assert max(seq for _, seq in started) < min(opened)


def test_the_servers_own_stop_ends_a_session_and_cancels(tmp_path: Path) -> None:
    """Stopping serve ends every session, and a flagged account's last one cancels:
    the worker says so before it lets go of its ring, so the next start finds no order."""
    data = tmp_path / "data"
    config = write_config(tmp_path / "ringmatch.toml", data, SESSION, ("COD",))
    with ServeProcess(config, "--workers", "2") as server:

        async def main() -> int:
            alice = await connect(server.port, "alice", cod=True)
            order_id = (await accepted(alice, sell("COD"))).order_id
            # alice is still logged on while the server stops.
            assert await asyncio.to_thread(server.stop) == 0, "".join(server.stderr)
            return order_id

        order_id = run(main)

    inputs, events = replay(data)
    (closed,) = [seq for seq, inp in inputs.items() if type(inp) is SessionClosed]
    assert MassCancelled(closed, "alice", None, 1, CancelReason.DISCONNECT) in events[closed]
    with ServeProcess(config, "--workers", "2") as again:

        async def check() -> None:
            bob = await connect(again.port, "bob")
            seen: list[ServerMessage] = []
            bob.on_report(seen.append)
            # alice's order is gone: bob's crossing buy rests instead of trading with it.
            buy = NewOrder(next(_ids), "COD", Side.BUY, OrderType.LIMIT, 500, 5)
            await accepted(bob, buy)
            await bob.sync(timeout=WAIT)  # every report of the buy's seq is in
            kinds = [m.exec_type for m in seen if isinstance(m, ExecutionReport)]
            assert kinds == [ExecType.ACCEPTED]
            await bob.close()

        run(check)
        assert again.stop() == 0
    assert order_id > 0
