"""``ringmatch bench memory``: bytes of the core's memory per resting order.

    parent ──▶ fresh interpreter: RSS ─▶ N resting orders, made and entered one at a
                time (each order's own objects counted) ─▶ gc ─▶ RSS ─▶ JSON line

The figure issue 12 sets a target for (at most 100 bytes per resting order in the
kernel): the growth of the process's resident set with ``--orders`` resting
orders over ``--symbols`` symbols and ``--accounts`` accounts, prices within
``--spread`` ticks either side of 100,000 (bids below, asks above, so nothing
trades), divided by the orders. RSS is read from /proc/self/statm, in pages, so
it moves in 4 KiB steps: a million orders make that noise negligible. The
orders are made inside the measured span, so the memory of each order's command
(which the engine keeps as its origin) is in the figure, as it is in a live core.
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


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--orders", type=positive_int, default=1_000_000)
    parser.add_argument("--symbols", type=positive_int, default=8)
    parser.add_argument("--accounts", type=positive_int, default=100)
    parser.add_argument(
        "--spread", type=positive_int, default=500, help="ticks either side of 100,000"
    )


def run(opts: argparse.Namespace) -> report.Result:
    if not os.path.exists("/proc/self/statm"):
        raise report.Unavailable("needs /proc/self/statm (Linux) to read the resident set")
    args = [str(opts.orders), str(opts.symbols), str(opts.accounts), str(opts.spread)]
    done = subprocess.run(
        [sys.executable, "-c", CHILD, *args], check=True, capture_output=True, text=True
    )
    figures = json.loads(done.stdout)
    if figures["resting"] != opts.orders:
        raise RuntimeError(f"{figures['resting']:,} of {opts.orders:,} orders rest: some traded")
    result = report.Result(
        benchmark="memory",
        params={k: getattr(opts, k) for k in ("orders", "symbols", "accounts", "spread")},
        machine=machine.describe(),
    )
    growth = figures["after"] - figures["before"]
    result.costs["bytes per resting order"] = growth / opts.orders
    result.notes.append(
        f"RSS {figures['before'] / 2**20:,.1f} MiB before, {figures['after'] / 2**20:,.1f} MiB"
        f" with {opts.orders:,} resting orders (fresh interpreter, after gc.collect)"
    )
    return result
