"""The standard benchmark workload: a seeded, reproducible command stream.

Per command, drawn with a seeded ``random.Random``:

* 60% new GTC limit orders near the touch: a passive price 1 to 20 ticks
  away from the symbol's mid (10,000 ticks), quantity 1 to 100 lots;
* 30% cancels of live orders (live at that point of the stream: the stream is
  run through a scratch engine while it is generated, so every cancel hits);
* 10% marketable orders: half MARKET, half LIMIT IOC 5 ticks through the mid,
  quantity 1 to 100 lots.

Over 8 symbols and 100 accounts, with no self-trade prevention. The stream is
generated before anything is timed.
"""

from __future__ import annotations

import random

from ringmatch.engine.book.matching import MatchingEngine
from ringmatch.engine.schema.commands import Cancel, Command, NewOrder
from ringmatch.engine.schema.enums import OrderType, Side, TimeInForce
from ringmatch.engine.schema.events import Cancelled, Trade

SYMBOLS = ("AAPL", "AMZN", "GOOG", "META", "MSFT", "NFLX", "NVDA", "TSLA")
ACCOUNTS = tuple(f"acct{i:03d}" for i in range(100))
MID = 10_000


def standard_workload(n: int, seed: int = 1) -> list[Command]:
    """``n`` commands of the standard mix; the same ``seed`` gives the same list."""
    rng = random.Random(seed)
    scratch = MatchingEngine()
    live: list[tuple[int, str]] = []  # (order id, account) of resting orders
    where: dict[int, int] = {}  # order id -> index in ``live``, for O(1) removal
    cmds: list[Command] = []
    next_id = 0

    def forget(oid: int) -> None:
        i = where.pop(oid)
        last = live.pop()
        if i < len(live):
            live[i] = last
            where[last[0]] = i

    for _ in range(n):
        r = rng.random()
        if r < 0.30 and live:
            oid, account = live[rng.randrange(len(live))]
            cmd: Command = Cancel(oid, account)
        else:
            next_id += 1
            symbol = SYMBOLS[rng.randrange(len(SYMBOLS))]
            account = ACCOUNTS[rng.randrange(len(ACCOUNTS))]
            side = Side.BUY if rng.random() < 0.5 else Side.SELL
            qty = rng.randint(1, 100)
            if r < 0.90:
                off = rng.randint(1, 20)
                price = MID - off if side is Side.BUY else MID + off
                cmd = NewOrder(next_id, account, symbol, side, OrderType.LIMIT, price, qty)
            elif rng.random() < 0.5:
                cmd = NewOrder(next_id, account, symbol, side, OrderType.MARKET, None, qty)
            else:
                price = MID + 5 if side is Side.BUY else MID - 5
                cmd = NewOrder(
                    next_id, account, symbol, side, OrderType.LIMIT, price, qty, TimeInForce.IOC
                )
        cmds.append(cmd)
        for ev in scratch.process(cmd):
            if type(ev) is Trade and ev.maker_leaves == 0:
                forget(ev.maker_order_id)
            elif type(ev) is Cancelled and ev.order_id in where:
                forget(ev.order_id)
        if type(cmd) is NewOrder and scratch.order(cmd.order_id) is not None:
            where[cmd.order_id] = len(live)
            live.append((cmd.order_id, cmd.account))
    return cmds
