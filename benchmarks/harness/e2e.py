"""``ringmatch bench e2e``: over TCP, through the gateway and the core.

The load generation lives in benchmarks/bench_e2e.py (the gateway's helpers own
it); this module only turns its samples into a result. The contract it expects
from ``ringmatch.benchmarks.bench_e2e``:

    server(host, port, probe=...) -> context manager
        starts a server (with the latency probe on when ``probe``), or targets a
        running one when host/port are given; yields (host, port)
    saturation(host, port, seconds) -> float
        orders/s with batched writes, from a separate load-generator process
    round_trips(host, port, rate, seconds) -> (achieved, samples, engine_share)
        open loop at ``rate`` orders/s: achieved rate, round-trip ns per order
        (counted from each order's *scheduled* send time: coordinated omission
        corrected), and an HdrHistogram of the engine's share per order, gateway in
        to report out (gateway/server/latency_probe.py), or None without the probe
"""

from __future__ import annotations

import argparse

from ringmatch.benchmarks.harness import machine, report
from ringmatch.benchmarks.harness.checkout import benchmark_module
from ringmatch.benchmarks.harness.progress import progress

NEEDED = ("server", "saturation", "round_trips")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="target a running server (default: start one)")
    parser.add_argument("--port", type=int, help="its port")
    parser.add_argument("--seconds", type=float, default=5.0, help="per measurement")
    parser.add_argument(
        "--rates", default="1000,10000,50000", help="offered rates for the round-trip runs"
    )
    parser.add_argument(
        "--no-probe",
        action="store_true",
        help="no latency probe in the server started (no engine-share figures)",
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
    probe = not opts.no_probe
    with bench.server(opts.host, opts.port, probe=probe) as (host, port):
        result.throughput["orders/s, saturation"] = bench.saturation(host, port, opts.seconds)
        for rate in progress(rates, desc="offered rates", unit="rate"):
            achieved, samples, share = bench.round_trips(host, port, rate, opts.seconds)
            hist = report.new_histogram()
            report.record_all(hist, samples)
            name = f"round trip @ {rate:,.0f}/s"
            result.add_latency(name, hist)
            result.rate_points.append((achieved, result.latency[name]))
            if share is not None:
                result.add_latency(
                    f"engine share (gateway in -> report out) @ {rate:,.0f}/s", share
                )
    result.notes.append("round trips counted from the scheduled send time (open loop)")
    if probe and opts.host is None:
        result.notes.append(
            "engine share: the gateway worker's time per order from its bytes read to its"
            " first report written (RINGMATCH_LATENCY_PROBE=1), warm-up orders included"
        )
    return result
