"""``ringmatch feed --once`` against a real ``ringmatch serve``: orders sent over TCP,
the book printed in decimals from the configuration's tick size, with the spread,
the mid and the trade with the time it came.

Nothing waits by sleeping: the test's own feed subscriber sees the resting orders
before ``feed`` subscribes (so its snapshot holds them), and ``feed``'s ``--out``
pipe says when it has subscribed, before the order that trades is sent.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import re
import subprocess
import sys
from pathlib import Path

from ringmatch.engine.schema.enums import OrderType, Side
from ringmatch.gateway.client.order_entry import Client
from ringmatch.gateway.feed.client import FeedClient
from ringmatch.gateway.protocol.messages import ExecType, ExecutionReport, NewOrder
from tests.conftest import REPO
from tests.gateway.serve_process import ACCOUNTS, ServeProcess, write_config

SYMBOL = "ACME"
_ids = itertools.count(1)


def order(side: Side, price: int, qty: int) -> NewOrder:
    return NewOrder(next(_ids), SYMBOL, side, OrderType.LIMIT, price, qty)


async def accepted(proc: ServeProcess, account: str, *orders: NewOrder) -> None:
    client = await Client.connect("127.0.0.1", proc.port, account, ACCOUNTS[account])
    try:
        for o in orders:
            answer = await client.request(o)
            assert isinstance(answer, ExecutionReport), answer
            assert answer.exec_type is ExecType.ACCEPTED, answer
    finally:
        await client.close()  # no cancel-on-disconnect: the orders rest


async def book_shows(port: int, bid: int, ask: int) -> None:
    """Until the feed's book has ``bid`` and ``ask`` at the top."""
    feed = await FeedClient.connect("127.0.0.1", port, [SYMBOL], 5)
    try:
        book = feed.books[SYMBOL]
        while True:
            await feed.next_message()
            bids, asks = book.depth()
            if not book.stale and bids and asks and (bids[0][0], asks[0][0]) == (bid, ask):
                return
    finally:
        feed.close()


def run(coro: object) -> None:
    asyncio.run(asyncio.wait_for(coro, 60))  # type: ignore[arg-type]


def test_feed_once_shows_decimal_prices_spread_mid_and_the_timed_trade(tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "ringmatch.toml", tmp_path / "data", {}, symbols=(SYMBOL,)
    )  # [[symbols]] without tick_size: the default, 0.01
    with ServeProcess(config) as proc:
        run(accepted(proc, "alice", order(Side.BUY, 10050, 5), order(Side.BUY, 10040, 1)))
        run(accepted(proc, "bob", order(Side.SELL, 10092, 60)))
        run(book_shows(proc.feed_port, 10050, 10092))
        read_end, write_end = os.pipe()
        feed = subprocess.Popen(
            [
                *(sys.executable, "-m", "ringmatch.cli", "feed", "--config", str(config)),
                *("--port", str(proc.feed_port), "--symbol", SYMBOL, "--once"),
                # the snapshot, then the trade (a batch's trades come before its levels)
                *("--count", "2", "--out", f"/dev/fd/{write_end}"),
            ],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            pass_fds=(write_end,),
        )
        os.close(write_end)
        try:
            with os.fdopen(read_end) as messages:
                assert '"type": "snapshot"' in messages.readline()  # subscribed
                run(accepted(proc, "carol", order(Side.BUY, 10092, 5)))  # takes 5 of bob's 60
                out, err = feed.communicate(timeout=30)
        finally:
            if feed.poll() is None:
                feed.kill()
                feed.wait()
        assert proc.stop() == 0, "".join(proc.stderr)
    assert feed.returncode == 0, err
    assert f"{SYMBOL}  last 100.92" in out
    assert "spread 0.42  mid 100.71" in out  # the snapshot's book: 100.50 / 100.92
    assert re.search(r"\b5\s+100\.50\s+100\.92\s+60\b", out), out
    assert re.search(r"\b1\s+100\.40\b", out), out
    assert re.search(rf"\b\d\d:\d\d:\d\d\.\d{{3}}\s+{SYMBOL}\s+5\s+100\.92\s+BUY\b", out), out
