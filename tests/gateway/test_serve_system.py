"""The whole system as ``ringmatch serve`` runs it: core, risk, feed, gateway worker.

    test (Client over TCP) ──▶ worker ──▶ core (pre-trade risk) ──▶ event ring
                                 ▲  RiskQuery ──▶ risk admin socket ◀── ringmatch risk
                                 └── reports       risk process (positions, SIGHUP reload)
    ringmatch feed ◀── feed process (snapshot, then updates)

Real processes, real sockets on 127.0.0.1. One server for the module (each
test its own symbol and accounts' positions it checks); the restart and the
default-configuration tests run their own. Nothing waits by sleeping: waits are
on reports, on process output, or on polling a state with a bounded count; the
one timed pause paces retries against the throttle's clock, which is real time.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ringmatch.engine.rings.shm import run_prefix
from ringmatch.engine.schema.enums import OrderType, Side
from ringmatch.gateway.client.order_entry import Client
from ringmatch.gateway.protocol.messages import (
    Cancel,
    ExecType,
    ExecutionReport,
    MassCancel,
    NewOrder,
    RiskQuery,
    RiskState,
)
from tests.conftest import REPO
from tests.gateway.serve_process import ServeProcess, write_config
from tests.process_tree import kill_tree

ACCOUNTS = {"alice": "a-secret", "bob": "b-secret", "carol": "c-secret", "root": "r-secret"}
SYMBOLS = ("LIM", "POS", "FEED", "THR", "ADM", "RST")
RATE = 200  # requests per second per session (a second's burst)
RISK = "[risk]\nmax_order_qty = {qty}\n"
_ids = itertools.count(1)


def cid() -> int:
    return next(_ids)


def run(coro: Callable[[], Awaitable[Any]]) -> Any:
    return asyncio.run(asyncio.wait_for(coro(), 60))


def cli(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ringmatch.cli", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def make_config(tmp: Path, data: Path, topology: str, qty: int = 10) -> Path:
    return write_config(
        tmp / "ringmatch.toml",
        data,
        {"max_msgs_per_s": RATE},
        SYMBOLS,
        ACCOUNTS,
        extra=RISK.format(qty=qty),
        admins=("root",),
        topology=topology,
    )


class Server:
    def __init__(self, proc: ServeProcess, config: Path, data: Path) -> None:
        self.proc, self.config, self.data = proc, config, data
        self.port, self.feed_port = proc.port, proc.feed_port
        self.socket = str(data / "risk.sock")

    async def connect(self, account: str) -> Client:
        return await Client.connect("127.0.0.1", self.port, account, ACCOUNTS[account])

    def risk_state(self) -> dict[str, Any]:
        done = cli("risk", "--socket", self.socket, "--json")
        assert done.returncode == 0, done.stderr
        state: dict[str, Any] = json.loads(done.stdout)
        return state

    def position(self, account: str, symbol: str) -> int | None:
        data = self.risk_state()["accounts"].get(account)
        pos = None if data is None else data["symbols"].get(symbol)
        return None if pos is None else int(pos["position"])

    def wait_position(self, account: str, symbol: str, qty: int) -> None:
        """Poll the risk process (it reads the event ring on its own) until it has the fill."""
        for _ in range(200):
            if self.position(account, symbol) == qty:
                return
        pytest.fail(f"risk never showed {account} {symbol} position {qty}: {self.risk_state()}")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, topology: str) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("system")
    config = make_config(tmp, tmp / "data", topology)
    with ServeProcess(config) as proc:
        yield Server(proc, config, tmp / "data")
        assert proc.stop() == 0, "".join(proc.stderr)


def order(symbol: str, side: Side, price: int, qty: int) -> NewOrder:
    return NewOrder(cid(), symbol, side, OrderType.LIMIT, price, qty)


async def trade(server: Server, symbol: str, seller: str, buyer: str, price: int, qty: int) -> None:
    """``seller`` rests, ``buyer`` takes it whole: a trade of ``qty`` at ``price``."""
    sell, buy = await server.connect(seller), await server.connect(buyer)
    try:
        accepted = await sell.request(order(symbol, Side.SELL, price, qty))
        assert isinstance(accepted, ExecutionReport) and accepted.exec_type is ExecType.ACCEPTED
        taker = order(symbol, Side.BUY, price, qty)
        filled = buy.expect(taker)  # the ACCEPTED; the fill follows
        buy.send(taker)
        assert (await filled).exec_type is ExecType.ACCEPTED  # type: ignore[union-attr]
        async for report in buy:
            if isinstance(report, ExecutionReport) and report.exec_type is ExecType.FILLED:
                break
    finally:
        await sell.close()
        await buy.close()


def test_an_order_over_a_limit_is_rejected_with_its_reason(server: Server) -> None:
    async def go() -> None:
        client = await server.connect("alice")
        over = await client.request(order("LIM", Side.BUY, 100, 11))
        assert isinstance(over, ExecutionReport)
        assert (over.exec_type, over.reason, over.request) == (
            ExecType.REJECTED,
            "RISK_MAX_QTY",
            "NEW",
        )
        at = order("LIM", Side.BUY, 100, 10)  # inclusive: at the limit passes
        assert (await client.request(at)).exec_type is ExecType.ACCEPTED  # type: ignore[union-attr]
        await client.request(Cancel(at.client_order_id))
        await client.close()

    run(go)


async def until(client: Client, qty: int, accepted: bool) -> None:
    """Orders of ``qty`` until one is (or is not) accepted: the core's limits changed."""
    for _ in range(RATE):
        msg = order("LIM", Side.BUY, 100, qty)
        answer = await client.request(msg)
        assert isinstance(answer, ExecutionReport)
        if answer.exec_type is ExecType.ACCEPTED:
            await client.request(Cancel(msg.client_order_id))
            if accepted:
                return
        elif not accepted and answer.reason == "RISK_MAX_QTY":
            return
    pytest.fail(f"an order of {qty} was never {'accepted' if accepted else 'rejected'}")


def test_reload_changes_the_limits_of_the_running_server(server: Server, topology: str) -> None:
    async def go() -> None:
        client = await server.connect("alice")
        await until(client, 15, accepted=False)
        # SIGHUP to serve: passed on to the risk process, which re-reads the file.
        make_config(server.config.parent, server.data, topology, qty=20)
        server.proc.proc.send_signal(signal.SIGHUP)
        await until(client, 15, accepted=True)
        await until(client, 21, accepted=False)
        # ringmatch risk --reload does the same (and puts the module's limit back).
        make_config(server.config.parent, server.data, topology, qty=10)
        done = cli("risk", "--socket", server.socket, "--reload")
        assert done.returncode == 0, done.stderr
        await until(client, 15, accepted=False)
        await client.close()

    run(go)
    assert server.risk_state()["limits"]["max_order_qty"] == 10


def test_ringmatch_risk_prints_positions_after_fills(server: Server) -> None:
    run(lambda: trade(server, "POS", "bob", "carol", 250, 4))
    server.wait_position("carol", "POS", 4)
    done = cli("risk", "--config", str(server.config))  # finds data_dir/risk.sock
    assert done.returncode == 0, done.stderr
    rows = [line.split() for line in done.stdout.splitlines()]
    # position, avg cost, mark, realised, unrealised, total: 250 ticks of 0.01
    assert ["bob", "POS", "-4", "2.5000", "2.50", "0.00", "0.00", "0.00"] in rows
    assert ["carol", "POS", "4", "2.5000", "2.50", "0.00", "0.00", "0.00"] in rows


def test_ringmatch_feed_gets_a_snapshot_then_the_trade(server: Server, tmp_path: Path) -> None:
    # The feed reads the event ring in bites (reader_wake_ms): a rest and its fill in
    # one bite coalesce to no book change. So the resting order is seen first, then
    # the trade.
    out = tmp_path / "feed.jsonl"
    feed = subprocess.Popen(
        [
            *(sys.executable, "-m", "ringmatch.cli", "feed", "--port", str(server.feed_port)),
            *("--symbol", "FEED", "--levels", "3", "--out", str(out)),
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )

    async def rest() -> None:
        seller = await server.connect("bob")
        accepted = await seller.request(order("FEED", Side.SELL, 77, 3))
        assert isinstance(accepted, ExecutionReport) and accepted.exec_type is ExecType.ACCEPTED
        await seller.close()  # no cancel-on-disconnect: the order stays

    async def take() -> None:
        buyer = await server.connect("alice")
        taker = order("FEED", Side.BUY, 77, 3)
        filled = buyer.expect(taker)
        buyer.send(taker)
        assert (await filled).exec_type is ExecType.ACCEPTED  # type: ignore[union-attr]
        await buyer.close()

    try:
        assert feed.stdout is not None
        first = json.loads(feed.stdout.readline())  # subscribed: the snapshot came
        assert first["type"] == "snapshot" and first["symbol"] == "FEED"
        run(rest)
        seen = [first]
        for line in feed.stdout:  # the resting order's level
            seen.append(json.loads(line))
            if seen[-1]["type"] not in ("snapshot", "trade"):
                break
        run(take)
        for line in feed.stdout:
            seen.append(json.loads(line))
            if seen[-1]["type"] == "trade":
                break
    finally:
        feed.send_signal(signal.SIGINT)  # ringmatch feed closes --out and exits
        feed.communicate(timeout=30)
    prints = [m for m in seen if m["type"] == "trade"]
    assert prints and (prints[0]["price"], prints[0]["qty"]) == (77, 3)
    assert any(m["type"] != "snapshot" and m["type"] != "trade" for m in seen)  # book updates
    written = [json.loads(line) for line in out.read_text().splitlines()]
    assert written[: len(seen)] == seen


def test_the_throttle_rejects_the_excess_and_the_session_goes_on(server: Server) -> None:
    async def go() -> None:
        client = await server.connect("alice")
        burst = [MassCancel("THR") for _ in range(RATE + 50)]  # one frame, over a second's worth
        for msg in burst:
            client.send(msg)
        answers = []
        while len(answers) < len(burst):
            report = await client.next_report()
            if isinstance(report, ExecutionReport) and report.reason == "THROTTLED":
                assert (report.exec_type, report.request, report.seq) == (
                    ExecType.REJECTED,
                    "MASS_CANCEL",
                    0,
                )
                answers.append("throttled")
            elif type(report).__name__ == "MassCancelDone":
                answers.append("done")
        # A full bucket lets a second's worth through; past it, the excess is refused
        # (at once, by the gateway: so those answers come before the core's).
        assert answers.count("done") >= RATE
        assert answers.count("throttled") >= 40
        await client.sync()  # Sync is not throttled: the session is alive
        for _ in range(100):  # tokens come back with time, the throttle's real clock
            answer = await client.request(order("THR", Side.BUY, 100, 1))
            assert isinstance(answer, ExecutionReport)
            if answer.exec_type is ExecType.ACCEPTED:
                break
            assert answer.reason == "THROTTLED"
            await asyncio.sleep(1 / RATE)  # pacing against the throttle's clock
        else:
            pytest.fail("the session never got a request through again")
        await client.request(MassCancel("THR"))
        await client.close()

    run(go)


def test_an_admin_session_reads_risk_state_and_others_are_refused(server: Server) -> None:
    run(lambda: trade(server, "ADM", "carol", "bob", 90, 2))
    server.wait_position("bob", "ADM", 2)

    async def go() -> None:
        root = await server.connect("root")
        state = await root.request(RiskQuery(7))
        assert isinstance(state, RiskState) and state.ok and state.request_id == 7
        assert state.state["accounts"]["bob"]["symbols"]["ADM"]["position"] == 2
        assert state.state["limits"]["max_order_qty"] == 10
        # a kill switch over the protocol, and off again
        kill = await root.request(RiskQuery(8, "kill", "carol", True, True, "test"))
        assert isinstance(kill, RiskState) and kill.ok, kill
        carol = await server.connect("carol")
        for _ in range(200):
            answer = await carol.request(order("ADM", Side.BUY, 1, 1))
            assert isinstance(answer, ExecutionReport)
            if answer.reason == "KILL_SWITCH":
                break
            await carol.request(Cancel(answer.client_order_id))
        else:
            pytest.fail("carol's kill switch never took effect")
        release = await root.request(RiskQuery(9, "kill", "carol", False))
        assert isinstance(release, RiskState) and release.ok
        with pytest.raises(ValueError, match="valid ops are 1 state, 2 kill, 3 reload"):
            root.send(RiskQuery(10, "nonsense"))  # version 2 has no code for it
        # not an admin account: refused, and the session goes on
        refused = await carol.request(RiskQuery(11))
        assert isinstance(refused, RiskState) and not refused.ok
        assert "not an admin account" in refused.error and refused.state == {}
        await carol.sync()
        await carol.close()
        await root.close()

    run(go)


def test_a_restart_on_the_same_data_dir_shows_the_same_positions(
    tmp_path: Path, topology: str
) -> None:
    config = make_config(tmp_path, tmp_path / "data", topology)
    with ServeProcess(config) as proc:
        first = Server(proc, config, tmp_path / "data")
        run(lambda: trade(first, "RST", "alice", "bob", 120, 6))
        run(lambda: trade(first, "RST", "bob", "carol", 130, 2))  # bob realises 20
        first.wait_position("carol", "RST", 2)
        before = first.risk_state()["accounts"]
        assert proc.stop() == 0, "".join(proc.stderr)
    with ServeProcess(config) as proc:
        again = Server(proc, config, tmp_path / "data")
        # Ready means rebuilt: the risk process replays the journal before it says so.
        after = again.risk_state()["accounts"]
        assert after == before
        assert after["bob"]["symbols"]["RST"]["position"] == 4
        assert after["bob"]["symbols"]["RST"]["realised_pnl"] == 20.0
        # and the order flow carries on from there
        run(lambda: trade(again, "RST", "carol", "alice", 140, 1))
        again.wait_position("alice", "RST", -5)
        assert proc.stop() == 0, "".join(proc.stderr)


def test_serve_without_a_config_runs_the_default_and_stops_clean(tmp_path: Path) -> None:
    # The default for one worker is the compact topology: the core and the worker in
    # one process, beside risk and the feed.
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen(
        [sys.executable, "-m", "ringmatch.cli", "serve", "--port", "0", "--feed-port", "0"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if "order entry on" in line:
                break
        assert any("market data on" in line for line in lines), lines
        prefix = run_prefix(tmp_path / "ringmatch-data")  # named from the data directory
        shm_before = {n for n in os.listdir("/dev/shm") if n.startswith(f"{prefix}.")}
        assert shm_before, "the rings are in /dev/shm while serving"
        found = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True)
        children = [int(pid) for pid in found.stdout.split()]
        assert len(children) == 3  # the core with its worker, risk, the feed
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        assert "built-in demo configuration" in err and "risk limits: max_order_qty" in err
        assert "topology compact: worker 0 runs in the core's process" in err, err
        assert (tmp_path / "ringmatch-data" / "risk-default.toml").is_file()
        assert not {n for n in os.listdir("/dev/shm") if n.startswith(f"{prefix}.")}
        # Every child stopped and reaped by serve before it exited (none left to init).
        assert not [pid for pid in children if os.path.exists(f"/proc/{pid}")]
    finally:
        if proc.poll() is None:  # a failed check must not leak the server into the run
            kill_tree(proc.pid)
            proc.wait()
