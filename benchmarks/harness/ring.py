"""``ringmatch bench ring``: cross-process SPSC ring throughput by producer batch
size, and one-way latency at a fixed rate (benchmarks/bench_ring.py does the runs:
fresh spawned producer and consumer processes for each)."""

from __future__ import annotations

import argparse

from ringmatch.benchmarks.harness import machine, report
from ringmatch.benchmarks.harness.checkout import benchmark_module
from ringmatch.benchmarks.harness.progress import progress


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--records", type=int, default=1_000_000, help="per batch size")
    parser.add_argument("--batches", default="1,16,64,256", help="producer batch sizes")
    parser.add_argument("--capacity", type=int, default=4096, help="ring slots")
    parser.add_argument("--latency-records", type=int, default=20_000)
    parser.add_argument("--rate", type=float, default=20_000, help="latency run, records/s")


def run(opts: argparse.Namespace) -> report.Result:
    bench = benchmark_module("bench_ring")
    bench.cleanup_stale(bench.PREFIX)
    result = report.Result(
        benchmark="ring",
        params={k: getattr(opts, k) for k in ("records", "batches", "capacity", "rate")},
        machine=machine.describe(),
    )
    for text in progress(opts.batches.split(","), desc="batch sizes", unit="size"):
        batch = int(text)
        records = opts.records // batch * batch
        start, end, _, _ = bench._run(records, batch, opts.capacity, 0)
        result.throughput[f"records/s, producer batch {batch}"] = records / ((end - start) / 1e9)
    _, _, _, latencies = bench._run(opts.latency_records, 1, opts.capacity, opts.rate)
    hist = report.new_histogram()
    report.record_all(hist, latencies)
    result.add_latency("one-way", hist)
    result.notes.append(
        f"one-way latency: {opts.latency_records:,} 32-byte records put one at a time at"
        f" {opts.rate:,.0f}/s, stamped by the producer, read by the consumer"
    )
    return result
