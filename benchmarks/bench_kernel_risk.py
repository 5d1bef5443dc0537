"""The compiled kernel's pre-trade stage: what it costs per command, stage on vs off.

    records ──▶ Kernel.process_into (stage off)           one call per BATCH records
    records ──▶ Kernel.process_into (stage on, LOOSE)     the same, set_risk(True)

The standard workload (ringmatch.benchmarks.workload), encoded to input records
before anything is timed, through a new compiled kernel per run, the two ways
alternating so that a shared machine's load falls on both alike. The limits
are bench_risk.py's LOOSE (every pre-trade limit set, loose enough that nothing
is rejected: every check is evaluated and the matching work is identical; the
event bytes are compared to make sure), as a table from risk.kernel_limits.

Reported: ns per command (median CPU time over the runs) each way, and the
stage's cost per command.

    .venv/bin/python benchmarks/bench_kernel_risk.py [--n 1000000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time

import numpy as np

from ringmatch.benchmarks.bench_risk import LOOSE
from ringmatch.benchmarks.workload import standard_workload
from ringmatch.engine.core import kernel_choice
from ringmatch.engine.records import layout as L
from ringmatch.engine.records.convert import encode_commands
from ringmatch.engine.records.names import Directory
from ringmatch.risk.kernel_limits import limits_table

BATCH = 4096
EVENT_BUFFER = 1 << 16


def run(records: np.ndarray, table: np.ndarray | None, keep: bool) -> tuple[float, np.ndarray]:
    """CPU seconds for the whole stream; the events if ``keep``."""
    module = kernel_choice.compiled_module()
    assert module is not None, "the compiled kernel was not built"
    kernel = module.Kernel()
    if table is not None:
        kernel.set_risk(True)
        kernel.set_limits(table)
    events = np.zeros(EVENT_BUFFER, L.EVENT_DTYPE)
    kept = []
    n = len(records)
    at = 0
    gc.disable()
    cpu = time.process_time()
    while at < n:
        consumed, written = kernel.process_into(records[at : at + BATCH], events)
        at += consumed
        if keep:
            kept.append(events[:written].copy())
    cpu = time.process_time() - cpu
    gc.enable()
    return cpu, np.concatenate(kept) if kept else events[:0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="commands (default 1,000,000)")
    parser.add_argument("--repeat", type=int, default=5, help="runs each way (default 5)")
    opts = parser.parse_args()
    cmds = standard_workload(opts.n)
    directory = Directory()
    records = encode_commands(cmds, directory)
    table = limits_table(LOOSE, directory)
    off_events = run(records, None, True)[1]
    on_events = run(records, table, True)[1]
    if off_events.tobytes() != on_events.tobytes():
        print("the stage changed the events: the limits are not loose enough", file=sys.stderr)
        return 1
    off: list[float] = []
    on: list[float] = []
    for _ in range(opts.repeat):
        off.append(run(records, None, False)[0])
        on.append(run(records, table, False)[0])
    ns_off = statistics.median(off) / opts.n * 1e9
    ns_on = statistics.median(on) / opts.n * 1e9
    print(f"standard workload, {opts.n:,} commands, {opts.repeat} runs each, batch {BATCH}")
    print(f"  stage off: {ns_off:7.1f} ns/command (median CPU; runs {_ns(off, opts.n)})")
    print(f"  stage on:  {ns_on:7.1f} ns/command (median CPU; runs {_ns(on, opts.n)})")
    print(f"  the stage: {ns_on - ns_off:+7.1f} ns/command ({ns_on / ns_off - 1:+.1%})")
    return 0


def _ns(runs: list[float], n: int) -> str:
    return " ".join(f"{r / n * 1e9:.0f}" for r in runs)


if __name__ == "__main__":
    sys.exit(main())
