"""Readers of the event ring: CPU time per event record, Structs (old) against records (new).

    event records ──▶ decode_events ──▶ RiskMonitor.on_events / MarketData.on_events   (old)
    event records ───────────────────▶ RiskMonitor.on_records / MarketData.on_records (new)

The standard workload (ringmatch.benchmarks.workload: 60% passive limits, 30%
cancels, 10% marketable, 8 symbols, 100 accounts) is run through the reference
kernel once, before anything is timed; its event records are then cut into
batches of ``--batch`` records (never between a trade's two records, so the
old reader can decode each) and read by each reader in turn, fresh each
repeat. The feed has a channel per symbol at 5 levels (what the feed server
keeps). Risk runs twice: with ``kill_position`` only (the checks are numpy)
and with a ``max_loss`` too (every holder checked per trade). Reported: CPU
time (time.process_time) per event record, best of ``--repeat``, and new/old.

    .venv/bin/python benchmarks/bench_readers.py [--n 20000] [--batch 64 512] [--repeat 3]

Measured 2026-12-02 (2 shared cores, load ~2, --batch 64 256 1024 4096), new/old:
feed 2.78 / 0.90 / 0.52 / 0.26, risk kill_position 1.16 / 0.37 / 0.55 / 0.43,
risk with max_loss 0.17 / 0.06 / 0.02 / 0.02. The numpy readers pay a fixed cost
per batch (some tens of numpy calls, ~0.5 ms for the feed), so they win from
about 256 records a batch: a reader should take what the ring holds, not a
fixed small count.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from ringmatch.benchmarks.workload import SYMBOLS, standard_workload
from ringmatch.engine.core.reference_kernel import ReferenceKernel
from ringmatch.engine.records import layout as L
from ringmatch.engine.records.convert import Encoder, decode_events
from ringmatch.engine.records.names import Directory
from ringmatch.gateway.feed.marketdata import MarketData
from ringmatch.risk.limits import RiskConfig
from ringmatch.risk.monitor import RiskMonitor

KILL_ONLY = RiskConfig(kill_position=1_000_000)
WITH_LOSS = RiskConfig(kill_position=1_000_000, max_loss=10**12)


def event_stream(n: int) -> np.ndarray:
    inputs = Encoder(Directory()).encode(standard_workload(n), first_seq=1)
    return ReferenceKernel().process(inputs)


def batches(events: np.ndarray, size: int) -> list[np.ndarray]:
    out, start = [], 0
    taker = (events["kind"] == L.TRADE) & (events["flags"] & L.TAKER != 0)
    while start < len(events):
        end = min(len(events), start + size)
        while end < len(events) and taker[end]:
            end += 1
        out.append(events[start:end])
        start = end
    return out


def cpu(run: Callable[[], None], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        run()
        best = min(best, time.process_time() - t0)
    return best


def feed(parts: list[np.ndarray], records: bool) -> Callable[[], None]:
    def run() -> None:
        md, names = MarketData(), Directory()
        for s in SYMBOLS:
            md.channel(s, 5)
        for b in parts:
            if records:
                md.on_records(b, names)
            else:
                md.on_events(decode_events(b, names))

    return run


def risk(parts: list[np.ndarray], config: RiskConfig, records: bool) -> Callable[[], None]:
    def run() -> None:
        monitor, names = RiskMonitor(config, lambda k: None), Directory()
        for b in parts:
            if records:
                monitor.on_records(b, names)
            else:
                monitor.on_events(decode_events(b, names))

    return run


def decode_only(parts: list[np.ndarray]) -> Callable[[], None]:
    def run() -> None:
        names = Directory()
        for b in parts:
            decode_events(b, names)

    return run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--n", type=int, default=20_000, help="commands of the standard workload")
    ap.add_argument("--batch", type=int, nargs="+", default=[64, 512], help="records per batch")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    events = event_stream(args.n)
    n = int((events["kind"] != L.NAME).sum())
    trades = int(((events["kind"] == L.TRADE) & (events["flags"] & L.TAKER != 0)).sum())
    print(f"python {platform.python_version()}, numpy {np.__version__}")
    print(f"{args.n} commands -> {n} event records ({trades} trades, two records each)")
    print(f"{'batch':>6} {'reader':<22} {'old us/ev':>10} {'new us/ev':>10} {'new/old':>8}")
    for size in args.batch:
        parts = batches(events, size)
        dec = cpu(decode_only(parts), args.repeat)
        print(f"{size:>6} {'(decode_events alone)':<22} {dec / n * 1e6:>10.2f}")
        rows = (
            ("feed", feed(parts, False), feed(parts, True)),
            ("risk kill_position", risk(parts, KILL_ONLY, False), risk(parts, KILL_ONLY, True)),
            ("risk with max_loss", risk(parts, WITH_LOSS, False), risk(parts, WITH_LOSS, True)),
        )
        for name, old, new in rows:
            t_old, t_new = cpu(old, args.repeat), cpu(new, args.repeat)
            print(
                f"{size:>6} {name:<22} {t_old / n * 1e6:>10.2f} {t_new / n * 1e6:>10.2f}"
                f" {t_new / t_old:>8.3f}"
            )


if __name__ == "__main__":
    main()
