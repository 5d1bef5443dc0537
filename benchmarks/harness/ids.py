"""``ringmatch bench ids``: ns per sequence ID, local counter vs Redis INCRBY blocks
(benchmarks/bench_ids.py does the timing; best of its repeats)."""

from __future__ import annotations

import argparse
import time

from ringmatch.benchmarks.harness import machine, report
from ringmatch.benchmarks.harness.checkout import benchmark_module
from ringmatch.engine.core.sequence import LocalSequence, RedisBlockSequence


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", help="an existing Redis (default: start a throwaway one)")
    parser.add_argument("--ids", type=int, default=1_000_000, help="IDs per allocator")
    parser.add_argument("--block-size", type=int, default=10_000)


def run(opts: argparse.Namespace) -> report.Result:
    bench = benchmark_module("bench_ids")
    server, url = None, opts.url
    if url is None:
        binary = bench.find_redis_server()
        if binary is None:
            raise report.Unavailable("redis-server is not installed: pass --url or install it")
        server = bench.RedisServer(binary)
        server.start()
        url = server.url
    result = report.Result(
        benchmark="ids",
        params={"ids": opts.ids, "block_size": opts.block_size},
        machine=machine.describe(),
    )
    try:
        local_ns = min(bench.time_next(LocalSequence(), opts.ids)[0] for _ in range(bench.REPEATS))
        key = f"bench:seq:{time.time_ns()}"
        seq = RedisBlockSequence.from_url(url, key, block_size=opts.block_size)
        try:
            if not seq.wait_block(5.0):
                raise report.Unavailable(f"no first block from {url} within 5 s")
            runs = [bench.time_next(seq, opts.ids) for _ in range(bench.REPEATS)]
        finally:
            seq.close()
    finally:
        if server is not None:
            server.close()
    block_ns = min(ns for ns, _ in runs)
    result.throughput["IDs/s, LocalSequence"] = 1e9 / local_ns
    result.throughput["IDs/s, RedisBlockSequence"] = 1e9 / block_ns
    stalls = max(s for _, s in runs)
    result.notes.append(
        f"best of {bench.REPEATS}; Redis refills stalled the loop up to"
        f" {stalls} {'time' if stalls == 1 else 'times'} (waits excluded)"
    )
    return result
