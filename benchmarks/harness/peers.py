"""The same command stream through another engine, for ``ringmatch bench core --compare-peers``.

    python -m ringmatch.benchmarks.harness.peers WORKLOAD.pickle   ──▶ one JSON line

One contender today: PyPI's ``cython-orderbook`` (the ``peers`` extra), a
Cython price-time book with limit and market orders and cancels. The standard
workload maps onto it one command for one call, one book per symbol:

    NEW LIMIT GTC   add_limit_order(Order(side, price, qty))
    NEW LIMIT IOC   add_limit_order(...), then cancel_order(...) of what rests
    NEW MARKET      add_market_order(Order(side, qty))
    CANCEL          cancel_order(the peer's id of that order)

Its orders are built before the clock starts, as ours are (the workload is a
list of built commands); only the calls are timed, in a fresh interpreter.
"""

from __future__ import annotations

import json
import pickle
import sys
import time
from typing import Any

from ringmatch.engine.schema.commands import Cancel, Command, NewOrder
from ringmatch.engine.schema.enums import OrderType, Side, TimeInForce

PEER = "cython-orderbook"


def run_cython_orderbook(cmds: list[Command]) -> dict[str, float]:
    from cython_orderbook import Order, OrderBook, OrderSide  # type: ignore[import-not-found]

    books: dict[str, Any] = {}
    peer_ids: dict[int, tuple[Any, int]] = {}
    # (book method, its argument, the book to cancel the rest in after it: IOC)
    calls: list[tuple[Any, Any, Any]] = []
    for cmd in cmds:
        if isinstance(cmd, NewOrder):
            book = books.setdefault(cmd.symbol, OrderBook())
            side = OrderSide.BID if cmd.side is Side.BUY else OrderSide.ASK
            if cmd.order_type is OrderType.MARKET:
                order = Order(side=side, original_quantity=cmd.qty)
                calls.append((book.add_market_order, order, None))
            else:
                order = Order(side=side, price=cmd.price, original_quantity=cmd.qty)
                ioc = book if cmd.tif is TimeInForce.IOC else None
                calls.append((book.add_limit_order, order, ioc))
            peer_ids[cmd.order_id] = (book, order.order_id)
        elif isinstance(cmd, Cancel) and cmd.order_id in peer_ids:
            book, peer_id = peer_ids[cmd.order_id]
            calls.append((book.cancel_order, peer_id, None))
    wall, cpu = time.perf_counter(), time.process_time()
    for method, arg, ioc_book in calls:
        method(arg)
        if ioc_book is not None:
            ioc_book.cancel_order(arg.order_id)  # what did not fill at once goes
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return {"seconds": wall, "cpu_seconds": cpu, "calls": len(calls)}


def main(argv: list[str]) -> int:
    with open(argv[0], "rb") as f:
        cmds: list[Command] = pickle.load(f)
    print(json.dumps({"peer": PEER, **run_cython_orderbook(cmds)}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
