"""Cost of one sequence ID: local counter vs Redis INCRBY blocks, and a raw INCR for scale.

    core thread ──next()──▶ LocalSequence             (a counter)
    core thread ──next()──▶ RedisBlockSequence ◀──block── fetcher thread ──INCRBY──▶ redis
    bench thread ──INCR──▶ redis                        (one round trip per ID, for reference)

Each figure is the best of five runs, loop included (the "empty next()" row is
the loop with a method that does nothing). The Redis-block figure is the hot path
only: when the tight loop outruns the prefetch (the fetcher needs the GIL, which
the loop holds for up to a switch interval), the refusal and the wait are taken
out of the time and counted as stalls. A real core does work between IDs, so a
well-sized block never stalls.

Run from the repo root:
    .venv/bin/python benchmarks/bench_ids.py                 # starts its own redis-server
    .venv/bin/python benchmarks/bench_ids.py --url redis://host:6379/0 --ids 2000000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

import redis

if __package__ in (None, ""):  # run as a script: make the repo root importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from ringmatch.engine.core.sequence import (
    LocalSequence,
    RedisBlockSequence,
    SequenceAllocator,
    SequenceUnavailable,
)
from tests.redis_server import RedisServer, find_redis_server

REPEATS = 5  # best of: the machine is shared, the minimum is the least disturbed run


class EmptyAllocator:
    """The harness's own cost: a next() that does nothing."""

    def next(self) -> int:
        return 0

    def next_block(self, n: int) -> range:
        return range(n)

    def close(self) -> None:
        pass


def time_next(seq: SequenceAllocator, n: int, wait_block: float = 5.0) -> tuple[float, int]:
    """ns per next() over n calls, refusals and waits excluded; and the stall count."""
    take = seq.next
    stalls = 0
    stalled_ns = 0
    done = 0
    start = time.perf_counter_ns()
    while done < n:
        try:
            for _ in range(n - done):
                take()
                done += 1
        except SequenceUnavailable:
            paused = time.perf_counter_ns()
            if not isinstance(seq, RedisBlockSequence) or not seq.wait_block(wait_block):
                raise
            stalled_ns += time.perf_counter_ns() - paused
            stalls += 1
    elapsed = time.perf_counter_ns() - start - stalled_ns
    return elapsed / n, stalls


def time_incr(client: redis.Redis, key: str, n: int) -> float:
    """ns per raw INCR round trip."""
    incr = client.incr
    start = time.perf_counter_ns()
    for _ in range(n):
        incr(key)
    return (time.perf_counter_ns() - start) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="an existing Redis (default: start a throwaway one)")
    parser.add_argument("--ids", type=int, default=1_000_000, help="IDs per allocator")
    parser.add_argument("--incr", type=int, default=20_000, help="raw INCR round trips")
    parser.add_argument("--block-size", type=int, default=10_000)
    parser.add_argument("--prefetch-at", type=float, default=0.5)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()

    server = None
    url = args.url
    if url is None:
        binary = find_redis_server()
        if binary is None:
            sys.exit("redis-server is not installed: pass --url or apt-get install redis-server")
        server = RedisServer(binary)
        server.start()
        url = server.url
    key = f"bench:seq:{time.time_ns()}"
    try:
        empty_ns = min(time_next(EmptyAllocator(), args.ids)[0] for _ in range(REPEATS))
        local_ns = min(time_next(LocalSequence(), args.ids)[0] for _ in range(REPEATS))
        seq = RedisBlockSequence.from_url(
            url, key, block_size=args.block_size, prefetch_at=args.prefetch_at
        )
        try:
            if not seq.wait_block(5.0):
                sys.exit(f"no first block from {url} within 5 s")
            runs = [time_next(seq, args.ids) for _ in range(REPEATS)]
        finally:
            seq.close()
        block_ns = min(ns for ns, _ in runs)
        stalls = max(stalls for _, stalls in runs)
        with redis.Redis.from_url(url) as client:
            incr_ns = time_incr(client, key + ":incr", args.incr)
            redis_version = client.info("server")["redis_version"]
            client.delete(key, key + ":incr")
    finally:
        if server is not None:
            server.close()

    result = {
        "python": sys.version.split()[0],
        "redis_py": redis.__version__,
        "redis_server": redis_version,
        "machine": f"{platform.machine()} {platform.processor() or platform.platform()}",
        "ids": args.ids,
        "block_size": args.block_size,
        "prefetch_at": args.prefetch_at,
        "empty_next_ns": round(empty_ns, 1),
        "local_ns_per_id": round(local_ns, 1),
        "redis_block_ns_per_id": round(block_ns, 1),
        "redis_block_stalls": stalls,
        "raw_incr_ns_per_id": round(incr_ns, 1),
    }
    if args.json:
        print(json.dumps(result))
        return
    print(
        f"python {result['python']}, redis-py {result['redis_py']}, "
        f"redis-server {result['redis_server']}, {result['machine']}"
    )
    print(f"{'allocator':<34}{'ns per ID':>12}")
    print(f"{'empty next() (the loop itself)':<34}{empty_ns:>12.1f}")
    print(f"{'LocalSequence.next()':<34}{local_ns:>12.1f}")
    print(f"{'RedisBlockSequence.next()':<34}{block_ns:>12.1f}")
    print(f"{'raw INCR round trip':<34}{incr_ns:>12.1f}")
    print(
        f"block {args.block_size}, prefetch at {args.prefetch_at}: up to {stalls} stalls "
        f"per {args.ids} IDs (the loop outran the prefetch; excluded from the time above)"
    )


if __name__ == "__main__":
    main()
