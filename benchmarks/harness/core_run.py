"""One timed run of the core, in a fresh interpreter (spawned by core.py).

    python -m ringmatch.benchmarks.harness.core_run \
        WORKLOAD.pickle throughput|latency|load GC [LATENCY_OUT]
    python -m ringmatch.benchmarks.harness.core_run \
        WORKLOAD.npy kernel|kernel-load GC BATCH

The workload is a pickle of the generated command list: pickle keeps the
sharing of the generator's strings (one ``"AAPL"`` object for every AAPL
command), so dictionary look-ups cost here what they cost in-process. Prints one
JSON line: wall and CPU seconds, events, which core ran.

throughput: one ``process_batch`` call over every command, timed as a whole.
latency:    a fresh engine, one ``process(cmd)`` per command, each call timed with
            ``perf_counter_ns`` (int64 nanoseconds written to LATENCY_OUT); the
            clock's own cost, measured on an empty pair of calls, is reported
            beside it and is included in every sample.
load:       everything but the engine: the baseline a callgrind count of a
            throughput run is taken minus (``bench core --callgrind``).
kernel:     the same stream as input records (WORKLOAD.npy, made before anything
            is timed), through the kernel (compiled unless RINGMATCH_PURE=1) in
            batches of BATCH records, one ``process_into`` call per batch into
            one reused event buffer; timed as a whole.
kernel-load: the kernel run's baseline: the records loaded, the kernel made, no call.
"""

from __future__ import annotations

import gc
import json
import pickle
import sys
import time
from array import array

import numpy as np

from ringmatch.engine import build_info
from ringmatch.engine.book.matching import MatchingEngine
from ringmatch.engine.core import kernel_choice
from ringmatch.engine.records import layout
from ringmatch.engine.schema.commands import Command

GC_MODES = ("on", "freeze", "off")


def set_gc(mode: str) -> None:
    """on: CPython's defaults; freeze: collect, then move everything built so far
    (the workload) out of the collector's sight, as a server does after start-up;
    off: no cyclic collection at all."""
    if mode not in GC_MODES:
        raise ValueError(f"gc mode must be one of {', '.join(GC_MODES)}, got {mode!r}")
    if mode in ("freeze", "off"):
        gc.collect()
        gc.freeze()
    if mode == "off":
        gc.disable()


def clock_cost_ns(samples: int = 100_000) -> int:
    """The median cost of ``t0 = clock(); t1 = clock(); t1 - t0`` (a latency sample's floor)."""
    clock = time.perf_counter_ns
    costs = []
    for _ in range(samples):
        t0 = clock()
        costs.append(clock() - t0)
    costs.sort()
    return costs[len(costs) // 2]


def throughput(cmds: list[Command]) -> dict[str, float]:
    eng = MatchingEngine()
    wall, cpu = time.perf_counter(), time.process_time()
    events = eng.process_batch(cmds)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return {"seconds": wall, "cpu_seconds": cpu, "events": len(events)}


def latency(cmds: list[Command], out_path: str) -> dict[str, float]:
    eng = MatchingEngine()
    process, clock = eng.process, time.perf_counter_ns
    samples = array("q", bytes(8 * len(cmds)))
    events = 0
    wall, cpu = time.perf_counter(), time.process_time()
    for i, cmd in enumerate(cmds):
        t0 = clock()
        out = process(cmd)
        samples[i] = clock() - t0
        events += len(out)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    with open(out_path, "wb") as f:
        samples.tofile(f)
    return {"seconds": wall, "cpu_seconds": cpu, "events": events, "clock_ns": clock_cost_ns()}


EVENT_BUFFER = 1 << 16  # records: room for the worst case of any input of the workload


def kernel_throughput(records: np.ndarray, batch: int, run: bool) -> dict[str, float]:
    kernel = kernel_choice.new_kernel()
    events = np.zeros(EVENT_BUFFER, layout.EVENT_DTYPE)
    total = 0
    n = len(records)
    wall, cpu = time.perf_counter(), time.process_time()
    at = 0
    while run and at < n:
        consumed, written = kernel.process_into(records[at : at + batch], events)
        at += consumed
        total += written
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return {
        "seconds": wall,
        "cpu_seconds": cpu,
        "events": total,
        "compiled": kernel_choice.is_compiled(kernel),
    }


def main(argv: list[str]) -> int:
    if len(argv) >= 4 and argv[1] in ("kernel", "kernel-load"):
        records = np.load(argv[0])
        set_gc(argv[2])
        figures = kernel_throughput(records, int(argv[3]), argv[1] == "kernel")
        print(json.dumps({**figures, "core": build_info.describe()}))
        return 0
    if len(argv) < 3 or argv[1] not in ("throughput", "latency", "load"):
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[0], "rb") as f:
        cmds: list[Command] = pickle.load(f)
    set_gc(argv[2])
    figures: dict[str, float]
    if argv[1] == "load":
        figures = {"seconds": 0.0, "cpu_seconds": 0.0, "events": 0}
    elif argv[1] == "throughput":
        figures = throughput(cmds)
    else:
        figures = latency(cmds, argv[3])
    # The MatchingEngine is the pure-Python one whatever kernel is built.
    report: dict[str, object] = {**figures, "compiled": False}
    report["core"] = "pure-Python engine (MatchingEngine.process_batch)"
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
