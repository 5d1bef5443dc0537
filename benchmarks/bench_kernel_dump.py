"""The compiled kernel's dump() and load() at a million resting orders.

``python -m ringmatch.benchmarks.bench_kernel_dump [orders]``: 8 symbols, 100
accounts, GTC limit orders that never cross (bids below 10_000, asks above),
each with a client order id; prints the dump's and the load's time (best of
three) and the bytes per resting order.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

import numpy as np

from ringmatch.engine.kernel._kernel import Kernel
from ringmatch.engine.records import layout as L
from ringmatch.engine.records.names import Directory
from ringmatch.engine.schema.enums import OrderType

SYMBOLS = 8
ACCOUNTS = 100


def resting_book(orders: int) -> Kernel:
    directory = Directory([f"S{i}" for i in range(SYMBOLS)], [f"A{i}" for i in range(ACCOUNTS)])
    rng = np.random.default_rng(7)
    r = np.zeros(orders, L.INPUT_DTYPE)
    side = rng.integers(1, 3, orders)
    r["kind"] = L.NEW
    r["side"] = side
    r["order_type"] = L.ORDER_TYPE_CODE[OrderType.LIMIT]
    r["account"] = rng.integers(1, ACCOUNTS + 1, orders)
    r["symbol"] = rng.integers(1, SYMBOLS + 1, orders)
    r["order_id"] = np.arange(1, orders + 1)
    r["client_order_id"] = np.arange(1, orders + 1)
    # Within the price window and never crossing: the book only grows.
    below = 10_000 - rng.integers(1, 1000, orders)
    above = 10_001 + rng.integers(0, 1000, orders)
    r["price"] = np.where(side == 1, below, above)
    r["qty"] = rng.integers(1, 1000, orders)
    r["seq"] = np.arange(1, orders + 1)
    k = Kernel()
    k.process(directory.define_records())
    for start in range(0, orders, 65536):
        k.process(r[start : start + 65536])
    assert k.resting_orders == orders, k.resting_orders
    return k


def best_of(n: int, run: Callable[[], object]) -> float:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        run()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    orders = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    k = resting_book(orders)
    data = k.dump()
    dump_s = best_of(3, k.dump)
    load_s = best_of(3, lambda: Kernel().load(data))
    b = Kernel()
    b.load(data)
    assert b.dump() == data
    print(f"{orders} resting orders, {SYMBOLS} symbols, {ACCOUNTS} accounts")
    print(f"dump: {len(data)} bytes, {len(data) / orders:.1f} bytes per resting order")
    print(f"dump() {dump_s * 1e3:.1f} ms ({dump_s / orders * 1e9:.0f} ns per order)")
    print(f"load() {load_s * 1e3:.1f} ms ({load_s / orders * 1e9:.0f} ns per order)")


if __name__ == "__main__":
    main()
