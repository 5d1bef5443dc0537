"""Cross-process ring throughput (by batch size) and one-way latency.

    throughput:  producer process ─▶ SPSC ring ─▶ consumer process
                 (records prebuilt; the producer puts batches of B, the consumer
                  drains whatever is there; records/s from first put to last get)
    latency:     producer stamps time.perf_counter_ns() into each record and puts
                 one at a time at --rate records/s; the consumer subtracts its own
                 perf_counter_ns() on arrival (CLOCK_MONOTONIC is system-wide, so
                 the two clocks agree on one machine)

Run:  .venv/bin/python -m ringmatch.benchmarks.bench_ring  (or python benchmarks/bench_ring.py)
      --records 2000000 --batches 1,16,64,256 --latency-records 20000 --rate 20000
Each measurement runs in fresh spawned processes.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import struct
import sys
import time
import uuid
from multiprocessing.connection import Connection

if __package__ in (None, ""):  # run as a script: make the repo root importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from ringmatch.engine.rings.shm import cleanup_stale
from ringmatch.engine.rings.spsc_ring import RingSpec, SpscRing

SPAWN = multiprocessing.get_context("spawn")
PREFIX = "rmbench"
STAMP = struct.Struct("<qq")  # perf_counter_ns at put, sequence


# The numpy fast path's record: a fixed layout, the same 32 bytes as the bytes records.
ORDER = [("stamp", "<i8"), ("seq", "<i8"), ("price", "<i8"), ("qty", "<i4"), ("side", "<i4")]


def _producer(
    spec: RingSpec, records: int, batch: int, rate: float, arrays: bool, conn: Connection
) -> None:
    ring = SpscRing.attach(spec)
    out = ring.producer()
    conn.send("ready")
    conn.recv()
    if rate:  # latency: one stamped record at a time, paced by spinning on the clock
        gap = int(1e9 / rate)
        clock, pack, put = time.perf_counter_ns, STAMP.pack, out.put
        due = clock()
        for i in range(records):
            while clock() < due:
                pass
            put(pack(clock(), i))
            due += gap
    elif arrays:
        import numpy as np

        block = np.zeros(batch, ORDER)
        block["seq"] = np.arange(batch)
        start = time.perf_counter_ns()
        for _ in range(records // batch):
            out.put_array(block)
        conn.send(start)
    else:
        payload = [STAMP.pack(0, i) + bytes(16) for i in range(batch)]
        start = time.perf_counter_ns()
        for _ in range(records // batch):
            out.put_many(payload)
        conn.send(start)
    out.close()
    ring.close()


def _consumer(spec: RingSpec, records: int, stamped: bool, arrays: bool, conn: Connection) -> None:
    ring = SpscRing.attach(spec)
    inp = ring.consumer()
    if arrays:
        import numpy as np

        dtype = np.dtype(ORDER)
    conn.send("ready")
    conn.recv()
    got, batches = 0, 0
    latencies: list[int] = []
    clock, unpack = time.perf_counter_ns, STAMP.unpack
    while got < records:
        batch = inp.get_array(dtype) if arrays else inp.get_many()
        now = clock()
        if stamped:
            latencies.extend(now - unpack(r)[0] for r in batch)
        got += len(batch)
        batches += 1
    conn.send((clock(), batches, latencies))
    inp.close()
    ring.close()


def _run(
    records: int, batch: int, capacity: int, rate: float, arrays: bool = False
) -> tuple[int, int, int, list[int]]:
    ring = SpscRing.create(PREFIX, f"b{uuid.uuid4().hex[:8]}", capacity, 32)
    conns, procs = [], []
    for target, args in (
        (_consumer, (ring.spec, records, bool(rate), arrays)),
        (_producer, (ring.spec, records, batch, rate, arrays)),
    ):
        parent, child = SPAWN.Pipe()
        proc = SPAWN.Process(target=target, args=(*args, child), daemon=True)
        proc.start()
        conns.append(parent)
        procs.append(proc)
    for conn in conns:
        assert conn.recv() == "ready"
    for conn in conns:
        conn.send("go")
    end, batches, latencies = conns[0].recv()
    start = 0 if rate else conns[1].recv()
    for proc in procs:
        proc.join()
    ring.close()
    return start, end, batches, latencies


def _percentile(sorted_values: list[int], p: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(p / 100 * len(sorted_values)))] / 1e3


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000, help="per batch size")
    parser.add_argument("--batches", default="1,16,64,256", help="producer batch sizes")
    parser.add_argument("--array-batches", default="64,256", help="numpy path batch sizes")
    parser.add_argument("--capacity", type=int, default=4096, help="ring slots")
    parser.add_argument("--latency-records", type=int, default=20_000)
    parser.add_argument("--rate", type=float, default=20_000, help="latency run, records/s")
    args = parser.parse_args(argv)
    cleanup_stale(PREFIX)

    command = [
        "python -m ringmatch.benchmarks.bench_ring",
        *(sys.argv[1:] if argv is None else argv),
    ]
    print(f"# {' '.join(command)}")
    print(
        f"# Python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs,"
        f" {platform.platform()}"
    )
    print(f"# SPSC ring: {args.capacity} slots x 32 B, 32-byte records, spin-then-doorbell waits")
    print()
    print("| producer batch | records/s | ns/record | consumer batches | mean drained |")
    print("|---:|---:|---:|---:|---:|")
    runs = [(int(b), False) for b in args.batches.split(",")]
    runs += [(int(b), True) for b in args.array_batches.split(",") if b]
    for batch, arrays in runs:
        records = args.records // batch * batch
        start, end, batches, _ = _run(records, batch, args.capacity, 0, arrays)
        seconds = (end - start) / 1e9
        label = f"{batch} (numpy)" if arrays else str(batch)
        print(
            f"| {label} | {records / seconds:,.0f} | {1e9 * seconds / records:,.0f} |"
            f" {batches:,} | {records / batches:,.1f} |"
        )
    _, _, _, lat = _run(args.latency_records, 1, args.capacity, args.rate)
    lat.sort()
    print()
    print(
        f"One-way latency, {args.latency_records:,} records one at a time at"
        f" {args.rate:,.0f}/s: p50 {_percentile(lat, 50):.1f} us, p99"
        f" {_percentile(lat, 99):.1f} us, p99.9 {_percentile(lat, 99.9):.1f} us,"
        f" max {lat[-1] / 1e3:.1f} us"
    )


if __name__ == "__main__":
    main()
