"""``ringmatch bench memory``: bytes of the core's memory per resting order.

    parent ──▶ fresh interpreter (pure): RSS ─▶ N resting orders, made and entered
                one at a time (each order's own objects counted) ─▶ gc ─▶ RSS ─▶ JSON
           ──▶ fresh interpreter (kernel): the same N orders as input records, made
                first ─▶ RSS ─▶ through the kernel in batches ─▶ RSS ─▶ JSON

The figure issue 12 sets a target for (at most 100 bytes per resting order in the
kernel): the growth of the process's resident set with ``--orders`` resting
orders over ``--symbols`` symbols and ``--accounts`` accounts, prices within
``--spread`` ticks either side of 100,000 (bids below, asks above, so nothing
trades), divided by the orders. RSS is read from /proc/self/statm, in pages, so
it moves in 4 KiB steps: a million orders make that noise negligible. The
orders are made inside the measured span, so the memory of each order's command
(which the engine keeps as its origin) is in the figure, as it is in a live core.
The kernel's records are made before the first reading: they are the input
ring's and the journal's memory, not the book's, and the kernel keeps none of
them (the event buffer is made before it too).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

from ringmatch.benchmarks.harness import machine, report
from ringmatch.benchmarks.harness.core import positive_int

CHILD = """
import gc, json, os, sys
from ringmatch import MatchingEngine, NewOrder, OrderType, Side
orders, symbols, accounts, spread = (int(a) for a in sys.argv[1:5])
page = os.sysconf("SC_PAGE_SIZE")

def rss():
    gc.collect()
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * page

names = [f"SYM{s}" for s in range(symbols)]
owners = [f"acct{a}" for a in range(accounts)]
engine = MatchingEngine()
process = engine.process
before = rss()
for i in range(1, orders + 1):
    buy = i % 2 == 0
    offset = 1 + (i * 7919) % spread
    price = 100_000 - offset if buy else 100_000 + offset
    process(NewOrder(i, owners[i % accounts], names[i % symbols], Side.BUY if buy else Side.SELL,
                     OrderType.LIMIT, price, 1 + i % 100))
after = rss()
resting = sum(len(engine.l3(s)) for s in names)
print(json.dumps({"before": before, "after": after, "resting": resting}))
"""


KERNEL_CHILD = """
import gc, json, os, sys
import numpy as np
from ringmatch.engine.core import kernel_choice
from ringmatch.engine.records import layout as L
from ringmatch.engine.records.names import Directory
orders, symbols, accounts, spread = (int(a) for a in sys.argv[1:5])
page = os.sysconf("SC_PAGE_SIZE")

def rss():
    gc.collect()
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * page

directory = Directory([f"SYM{s}" for s in range(symbols)], [f"acct{a}" for a in range(accounts)])
defines = directory.define_records()
i = np.arange(1, orders + 1, dtype=np.int64)
buy = i % 2 == 0
offset = 1 + (i * 7919) % spread
recs = np.zeros(orders, L.INPUT_DTYPE)
recs["kind"] = L.NEW
recs["account"] = 1 + i % accounts
recs["symbol"] = 1 + i % symbols
recs["side"] = np.where(buy, 1, 2)
recs["order_type"] = 1
recs["price"] = np.where(buy, 100_000 - offset, 100_000 + offset)
recs["qty"] = 1 + i % 100
recs["order_id"] = i
recs["seq"] = i
kernel = kernel_choice.new_kernel()
events = np.zeros(1 << 16, L.EVENT_DTYPE)
kernel.process_into(defines, events)
before = rss()
at = 0
while at < orders:
    done, _ = kernel.process_into(recs[at : at + 4096], events)
    at += done
after = rss()
print(json.dumps({"before": before, "after": after, "resting": kernel.resting_orders,
                  "compiled": kernel_choice.is_compiled(kernel)}))
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--orders", type=positive_int, default=1_000_000)
    parser.add_argument("--symbols", type=positive_int, default=8)
    parser.add_argument("--accounts", type=positive_int, default=100)
    parser.add_argument(
        "--spread", type=positive_int, default=500, help="ticks either side of 100,000"
    )
    parser.add_argument(
        "--only",
        choices=("pure", "kernel"),
        help="measure one engine (default: the pure engine, then the kernel)",
    )


def run(opts: argparse.Namespace) -> report.Result:
    if not os.path.exists("/proc/self/statm"):
        raise report.Unavailable("needs /proc/self/statm (Linux) to read the resident set")
    args = [str(opts.orders), str(opts.symbols), str(opts.accounts), str(opts.spread)]
    result = report.Result(
        benchmark="memory",
        params={k: getattr(opts, k) for k in ("orders", "symbols", "accounts", "spread")},
        machine=machine.describe(),
    )
    for engine, child in (("pure", CHILD), ("kernel", KERNEL_CHILD)):
        if opts.only not in (None, engine):
            continue
        done = subprocess.run(
            [sys.executable, "-c", child, *args], check=True, capture_output=True, text=True
        )
        figures = json.loads(done.stdout)
        if figures["resting"] != opts.orders:
            raise RuntimeError(
                f"{engine}: {figures['resting']:,} of {opts.orders:,} orders rest: some traded"
            )
        if engine == "kernel" and not figures["compiled"]:
            engine = "reference kernel"
        growth = figures["after"] - figures["before"]
        result.costs[f"{engine}: bytes per resting order"] = growth / opts.orders
        result.notes.append(
            f"{engine}: RSS {figures['before'] / 2**20:,.1f} MiB before,"
            f" {figures['after'] / 2**20:,.1f} MiB with {opts.orders:,} resting orders"
            " (fresh interpreter, after gc.collect)"
        )
    return result
