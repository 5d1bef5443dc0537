"""``ringmatch risk`` against a real ``ringmatch serve``: the table, kill, release, refusal.

    test (Client over TCP) ──▶ serve: worker ──▶ core ──▶ event ring ──▶ risk process
    ringmatch risk (a subprocess) ──▶ DATA_DIR/risk.sock ──────────────────────┘

Two symbols with different tick sizes (AAPL 0.01, BTC 0.5), three accounts.
The trades are chosen so that every number in the table is known by hand.
Nothing waits by sleeping: the risk process reads the ring on its own, so the
test polls its state (a bounded count) until it has seen the last trade.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ringmatch.engine.journal.log import JournalReader
from ringmatch.engine.schema.commands import KillSwitch
from ringmatch.engine.schema.enums import OrderType, Side
from ringmatch.gateway.client.order_entry import Client
from ringmatch.gateway.protocol.messages import ExecType, ExecutionReport, NewOrder
from tests.conftest import REPO
from tests.gateway.serve_process import ServeProcess, write_config

ACCOUNTS = {"alice": "a-secret", "bob": "b-secret", "carol": "c-secret"}
SYMBOLS = """
[[symbols]]
name = "AAPL"
tick_size = "0.01"
[[symbols]]
name = "BTC"
tick_size = "0.5"
"""
_ids = iter(range(1, 1 << 30))


def risk(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ringmatch.cli", "risk", "--config", str(config), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
    )


def state(config: Path) -> dict[str, Any]:
    done = risk(config, "--json")
    assert done.returncode == 0, done.stderr
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


def order(symbol: str, side: Side, price: int, qty: int) -> NewOrder:
    return NewOrder(next(_ids), symbol, side, OrderType.LIMIT, price, qty)


class Venue:
    def __init__(self, proc: ServeProcess, config: Path) -> None:
        self.proc, self.config = proc, config

    async def connect(self, account: str) -> Client:
        return await Client.connect("127.0.0.1", self.proc.port, account, ACCOUNTS[account])

    async def rest(self, account: str, symbol: str, side: Side, price: int, qty: int) -> None:
        client = await self.connect(account)
        try:
            answer = await client.request(order(symbol, side, price, qty))
            assert isinstance(answer, ExecutionReport), answer
            assert answer.exec_type is ExecType.ACCEPTED, answer
        finally:
            await client.close()  # no cancel-on-disconnect here: the order stays

    async def trade(self, symbol: str, seller: str, buyer: str, price: int, qty: int) -> None:
        """``seller`` rests, ``buyer`` takes it whole."""
        await self.rest(seller, symbol, Side.SELL, price, qty)
        buy = await self.connect(buyer)
        try:
            taker = order(symbol, Side.BUY, price, qty)
            accepted = buy.expect(taker)
            buy.send(taker)
            assert (await accepted).exec_type is ExecType.ACCEPTED  # type: ignore[union-attr]
            async for report in buy:
                if isinstance(report, ExecutionReport) and report.exec_type is ExecType.FILLED:
                    break
        finally:
            await buy.close()

    def wait_for(self, account: str, symbol: str, position: int, mark: int) -> dict[str, Any]:
        """The risk state once it shows ``account``'s ``position`` at ``mark`` (polled)."""
        for _ in range(300):
            got = state(self.config)
            pos = got["accounts"].get(account, {}).get("symbols", {}).get(symbol)
            if pos is not None and (pos["position"], pos["mark"]) == (position, mark):
                return got
        pytest.fail(f"risk never showed {account} {symbol} {position} @ {mark}: {got}")


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 60))


@pytest.fixture(scope="module")
def venue(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Venue]:
    tmp = tmp_path_factory.mktemp("risk_cli")
    data = tmp / "data"
    config = write_config(tmp / "ringmatch.toml", data, {}, (), ACCOUNTS, extra=SYMBOLS)
    with ServeProcess(config) as proc:
        v = Venue(proc, config)

        async def trades() -> None:
            await v.trade("AAPL", "bob", "alice", 10000, 10)  # alice +10 @ 100.00
            await v.trade("AAPL", "bob", "carol", 10050, 4)  # mark 100.50
            await v.trade("AAPL", "alice", "carol", 10100, 5)  # alice closes 5 at 101.00
            await v.trade("BTC", "bob", "alice", 200, 3)  # alice +3 @ 100.0
            await v.trade("BTC", "carol", "bob", 210, 1)  # mark 105.0
            # bob's resting orders the kill switch will cancel
            await v.rest("bob", "AAPL", Side.SELL, 12000, 1)
            await v.rest("bob", "BTC", Side.SELL, 300, 2)

        run(trades())
        v.wait_for("bob", "BTC", -2, 210)
        yield v
        assert proc.stop() == 0, "".join(proc.stderr)


def test_the_table_has_decimal_prices_marks_and_each_total_under_its_header(
    venue: Venue,
) -> None:
    done = risk(venue.config)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "AAPL 0.01, BTC 0.5" in lines[1] and "mark = the symbol's last trade price" in lines[1]
    assert lines[2].split() == [
        *("account", "symbol", "position", "avg", "cost", "mark"),
        *("realised", "unrealised", "total"),
    ]
    rows = {tuple(line.split()[:2]): line.split()[2:] for line in lines[3:]}
    # alice: AAPL 10 bought at 100.00, 5 sold at 101.00 (realised 5 x 1.00); 5 left,
    # marked at 101.00 (unrealised 5 x 1.00). BTC: 3 at 100.0, marked at 105.0 (3 x 5.0).
    assert rows["alice", "AAPL"] == ["5", "100.0000", "101.00", "5.00", "5.00", "10.00"]
    assert rows["alice", "BTC"] == ["3", "100.000", "105.0", "0.00", "15.00", "15.00"]
    # The total row: realised, unrealised and total, each under its own header.
    total = lines[[tuple(x.split()[:2]) for x in lines].index(("alice", "total"))]
    assert total.split() == ["alice", "total", "5.00", "20.00", "25.00"]

    def end(line: str, word: str) -> int:  # right-aligned: values end where headers end
        return line.index(word) + len(word)

    for value, heading in (("5.00", "realised"), ("20.00", "unrealised"), ("25.00", "total")):
        assert end(total, value) == end(lines[2], heading), (total, lines[2])
    # bob: short 14 AAPL at (10 x 100.00 + 4 x 100.50) / 14 = 100.142857..., marked at 101.00.
    assert rows["bob", "AAPL"] == ["-14", "100.1429", "101.00", "0.00", "-12.00", "-12.00"]
    # BTC: short 3 at 100.0, bought 1 back at 105.0: realised -5.0; -2 x (105.0 - 100.0) open.
    assert rows["bob", "BTC"] == ["-2", "100.000", "105.0", "-5.00", "-10.00", "-15.00"]
    assert rows["bob", "total"] == ["-5.00", "-22.00", "-27.00"]
    # carol: AAPL +4 at 100.50, +5 at 101.00: avg 100.7778; BTC short 1 at 105.0.
    assert rows["carol", "AAPL"] == ["9", "100.7778", "101.00", "0.00", "2.00", "2.00"]
    assert rows["carol", "BTC"] == ["-1", "105.000", "105.0", "0.00", "0.00", "0.00"]
    # Every account's P&L sums to zero with the others' (a closed venue).
    assert rows["carol", "total"] == ["0.00", "2.00", "2.00"]


def test_kill_says_how_many_orders_the_core_cancelled_and_release_says_what_it_did(
    venue: Venue,
) -> None:
    done = risk(venue.config, "--kill", "bob", "--why", "test")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        "kill switch on for account bob (why: test); "
        "2 resting orders cancelled by the core (its MASS_CANCELLED count)"
    )
    # Again: nothing left to cancel, and the core says so.
    again = risk(venue.config, "--kill", "bob")
    assert again.returncode == 0, again.stderr
    assert "account bob (why: admin); 0 resting orders cancelled by the core" in again.stdout
    kept = risk(venue.config, "--kill", "carol", "--keep-orders")
    assert kept.stdout.strip() == (
        "kill switch on for account carol (why: admin); resting orders kept (--keep-orders)"
    )
    assert state(venue.config)["kill_switches"] == {"bob": "admin", "carol": "admin"}
    for account in ("bob", "carol"):
        off = risk(venue.config, "--release", account)
        assert off.returncode == 0, off.stderr
        assert off.stdout.strip() == (
            f"kill switch off for account {account}: orders accepted again, "
            "post-trade limits re-armed"
        )
    assert state(venue.config)["kill_switches"] == {}
    # bob trades again: the switch is really off.
    run(venue.rest("bob", "AAPL", Side.SELL, 13000, 1))


@pytest.mark.parametrize("flag", ["--kill", "--release"])
def test_an_unknown_account_is_refused_and_nothing_is_sent(venue: Venue, flag: str) -> None:
    before = state(venue.config)
    done = risk(venue.config, flag, "nosuch")
    assert done.returncode == 2
    assert done.stdout == ""
    assert "unknown account 'nosuch'; known accounts: alice, bob, carol" in done.stderr
    after = state(venue.config)
    assert after["kill_switches"] == before["kill_switches"]  # (the journal: the last test)


def test_the_journal_holds_the_kills_and_no_unknown_account(tmp_path: Path) -> None:
    """A server of its own, stopped, so its journal can be read whole."""
    data = tmp_path / "data"
    config = write_config(tmp_path / "ringmatch.toml", data, {}, (), ACCOUNTS, extra=SYMBOLS)
    with ServeProcess(config) as proc:
        v = Venue(proc, config)
        run(v.rest("carol", "AAPL", Side.BUY, 9000, 1))
        run(v.rest("alice", "BTC", Side.BUY, 100, 1))
        assert risk(config, "--kill", "nosuch").returncode == 2
        assert risk(config, "--release", "nosuch").returncode == 2
        # The global switch: every account's orders, each account's count.
        done = risk(config, "--kill", "*")
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith(
            "kill switch on for the global kill switch (why: admin); "
            "2 resting orders cancelled by the core: alice 1, carol 1"
        )
        assert risk(config, "--release", "*").returncode == 0
        assert proc.stop() == 0, "".join(proc.stderr)
    kills = [inp for _, inp in JournalReader(data) if isinstance(inp, KillSwitch)]
    assert [(k.account, k.on) for k in kills] == [(None, True), (None, False)]
