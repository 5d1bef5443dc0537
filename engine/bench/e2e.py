"""``ringmatch bench e2e``: over TCP, through the gateway and the core.

The load generation lives in benchmarks/bench_e2e.py (the gateway's helpers own
it); this module only turns its samples into a result. The contract it expects
from ``benchmarks.bench_e2e``:

    server(host, port) -> context manager   starts a server, or targets a running one
                                            when host/port are given; yields (host, port)
    saturation(host, port, seconds) -> float
        orders/s with batched frames, from a separate load-generator process
    round_trips(host, port, rate, seconds) -> tuple[float, list[int]]
        open loop at ``rate`` orders/s: (achieved rate, round-trip ns per order,
        counted from each order's *scheduled* send time: coordinated omission corrected)
"""

from __future__ import annotations

import argparse

from engine.bench import machine, report
from engine.bench.checkout import benchmark_module
from engine.bench.progress import progress

NEEDED = ("server", "saturation", "round_trips")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="target a running server (default: start one)")
    parser.add_argument("--port", type=int, help="its port")
    parser.add_argument("--seconds", type=float, default=5.0, help="per measurement")
    parser.add_argument(
        "--rates", default="1000,10000,50000", help="offered rates for the round-trip runs"
    )


def run(opts: argparse.Namespace) -> report.Result:
    bench = benchmark_module("bench_e2e")
    missing = [name for name in NEEDED if not hasattr(bench, name)]
    if missing:
        raise report.Unavailable(f"benchmarks/bench_e2e.py lacks {', '.join(missing)}")
    rates = [float(r) for r in opts.rates.split(",") if r]
    result = report.Result(
        benchmark="e2e",
        params={"seconds": opts.seconds, "rates": rates, "host": opts.host, "port": opts.port},
        machine=machine.describe(),
    )
    with bench.server(opts.host, opts.port) as (host, port):
        result.throughput["orders/s, saturation"] = bench.saturation(host, port, opts.seconds)
        for rate in progress(rates, desc="offered rates", unit="rate"):
            achieved, samples = bench.round_trips(host, port, rate, opts.seconds)
            hist = report.new_histogram()
            report.record_all(hist, samples)
            name = f"round trip @ {rate:,.0f}/s"
            result.add_latency(name, hist)
            result.rate_points.append((achieved, result.latency[name]))
    result.notes.append("round trips counted from the scheduled send time (open loop)")
    return result
