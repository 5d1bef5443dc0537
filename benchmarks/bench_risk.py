"""Pre-trade risk benchmark: what the checks cost per order, on the core's thread.

    cmds ──▶ PreTradeRisk.check ──▶ MatchingEngine.process ──▶ PreTradeRisk.on_events
             (NEW/REPLACE only)                                  (every event)

The standard workload (ringmatch.benchmarks.workload: 60% passive limits, 30% cancels, 10%
marketable, 8 symbols, 100 accounts) run three ways, one command at a time as
the core does:

1. matching alone;
2. matching + the stage with no limits configured (the bookkeeping: live
   orders, exposure, last prices, and the kill-switch test);
3. matching + the stage with every pre-trade limit configured, loose enough
   that nothing is rejected, so the matching work is identical.

Reported: commands/s (CPU time: wall time on a shared machine says little),
and the stage's cost in ns per command over matching alone.

    .venv/bin/python benchmarks/bench_risk.py [--n 200000] [--repeat 3] [--quick]
"""

from __future__ import annotations

import argparse
import gc
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ringmatch.benchmarks.workload import standard_workload
from ringmatch.engine.book.matching import MatchingEngine
from ringmatch.engine.schema.commands import Command, NewOrder, Replace
from ringmatch.risk.limits import RiskConfig
from ringmatch.risk.pretrade import PreTradeRisk

LOOSE = RiskConfig(
    max_order_qty=1_000,
    max_notional=10**9,
    price_band_ticks=1_000,
    price_band_bps=5_000,
    max_open_orders=100_000,
    max_position=10**9,
)


def run_plain(cmds: list[Command]) -> float:
    eng = MatchingEngine()
    process = eng.process
    started = time.process_time()
    for cmd in cmds:
        process(cmd)
    return time.process_time() - started


def run_checked(cmds: list[Command], config: RiskConfig) -> tuple[float, int]:
    eng = MatchingEngine()
    stage = PreTradeRisk(config)
    process, check, on_events = eng.process, stage.check, stage.on_events
    rejected = 0
    started = time.process_time()
    for cmd in cmds:
        kind = type(cmd)
        if (kind is NewOrder or kind is Replace) and check(cmd, eng) is not None:  # type: ignore[arg-type]
            rejected += 1
            continue
        on_events(process(cmd))
    return time.process_time() - started, rejected


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=200_000, help="commands (default 200,000)")
    parser.add_argument("--repeat", type=int, default=3, help="best of R runs (default 3)")
    parser.add_argument("--quick", action="store_true", help="20,000 commands, one run")
    args = parser.parse_args()
    n, repeat = (20_000, 1) if args.quick else (args.n, args.repeat)
    print(f"python {platform.python_version()} on {platform.machine()} {platform.system()}")
    cmds = standard_workload(n)
    gc.collect()
    gc.freeze()
    plain = min(run_plain(cmds) for _ in range(repeat))
    print(f"matching alone:                {n / plain:>10,.0f} cmd/s")
    for label, config in (("stage, no limits", RiskConfig()), ("stage, every limit", LOOSE)):
        best, rejected = min(run_checked(cmds, config) for _ in range(repeat))
        extra = (best - plain) / n * 1e9
        print(
            f"matching + {label + ':':<19}{n / best:>10,.0f} cmd/s"
            f"  (+{extra:,.0f} ns/cmd, {rejected} rejected)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
