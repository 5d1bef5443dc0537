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
from typing import Any

from ringmatch.benchmarks.harness import machine, report
from ringmatch.benchmarks.harness.checkout import benchmark_module
from ringmatch.benchmarks.harness.progress import progress

NEEDED = ("server", "saturation", "round_trips", "echo_server", "floor_round_trips")
SWEEP = (1000, 2000, 5000, 10000, 20000, 50000, 100000, 200000)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="target a running server (default: start one)")
    parser.add_argument("--port", type=int, help="its port")
    parser.add_argument("--seconds", type=float, default=5.0, help="per measurement")
    parser.add_argument(
        "--rates", default="1000,10000,50000", help="offered rates for the round-trip runs"
    )
    parser.add_argument("--topology", choices=("compact", "processes"), help="server topology")
    parser.add_argument("--fsync", default="never", choices=("never", "batch", "interval"))
    parser.add_argument(
        "--fsync-compare",
        action="store_true",
        help="also run fsync batch, inline and overlapped, at the same rates (side by side)",
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs per rate; the median run (by p50) is kept"
    )
    parser.add_argument(
        "--sweep",
        action="store_true",
        help="sweep rates upward (1k..200k) until both ringmatch and the floor pass their knee",
    )
    parser.add_argument(
        "--no-floor", action="store_true", help="no echo floor beside the round trips"
    )
    parser.add_argument(
        "--no-probe",
        action="store_true",
        help="no latency probe in the server started (no engine-share figures)",
    )


def _median_run(runs: list[tuple[float, list[int]]]) -> tuple[float, list[int]]:
    """Of ``runs`` (achieved rate, samples), the one whose p50 is the median."""
    ranked = sorted(runs, key=lambda run: sorted(run[1])[len(run[1]) // 2] if run[1] else 0)
    return ranked[len(ranked) // 2]


def knee(points: list[tuple[float, float, float]], floor_p99: dict[float, float]) -> float | None:
    """The lowest offered rate at which p99 exceeds twice the floor's p99 at that rate, or
    fewer than 95% of the offered orders per second were answered; ``points`` are
    (offered, achieved, p99 us) in rising order. None: no knee within the sweep."""
    for offered, achieved, p99 in points:
        if achieved < 0.95 * offered or p99 > 2 * floor_p99[offered]:
            return offered
    return None


def fdatasync_median_us(directory: str, count: int = 200) -> float:
    """One median fdatasync of a small append on ``directory``'s disk, in us."""
    import os
    import statistics
    import tempfile
    import time

    with tempfile.NamedTemporaryFile(dir=directory) as handle:
        times = []
        for _ in range(count):
            os.write(handle.fileno(), b"x" * 128)
            start = time.perf_counter_ns()
            os.fdatasync(handle.fileno())
            times.append(time.perf_counter_ns() - start)
    return statistics.median(times) / 1000


def run(opts: argparse.Namespace) -> report.Result:
    bench = benchmark_module("bench_e2e")
    missing = [name for name in NEEDED if not hasattr(bench, name)]
    if missing:
        raise report.Unavailable(f"benchmarks/bench_e2e.py lacks {', '.join(missing)}")
    rates = list(SWEEP) if opts.sweep else [float(r) for r in opts.rates.split(",") if r]
    result = report.Result(
        benchmark="e2e",
        params={
            "seconds": opts.seconds,
            "rates": rates,
            "host": opts.host,
            "port": opts.port,
            "topology": opts.topology,
            "fsync": opts.fsync,
            "repeat": opts.repeat,
            "fsync_compare": opts.fsync_compare,
        },
        machine=machine.describe(),
    )
    probe = not opts.no_probe
    floor = not opts.no_floor
    floor_p50: dict[float, float] = {}
    floor_p99: dict[float, float] = {}
    ours: list[tuple[float, float, float]] = []
    theirs: list[tuple[float, float, float]] = []
    if floor:
        with bench.echo_server() as (host, port):
            for rate in progress(rates, desc="floor rates", unit="rate"):
                runs = [
                    bench.floor_round_trips(host, port, rate, opts.seconds)
                    for _ in range(opts.repeat)
                ]
                achieved, samples = _median_run(runs)
                hist = report.new_histogram()
                report.record_all(hist, samples)
                name = f"floor (Python echo) @ {rate:,.0f}/s"
                result.add_latency(name, hist)
                figs = result.latency[name]
                result.floor_points.append((achieved, figs))
                floor_p50[rate], floor_p99[rate] = figs["p50"], figs["p99"]
                theirs.append((rate, achieved, figs["p99"]))
                if opts.sweep and achieved < 0.95 * rate and len(theirs) > 1:
                    break  # past the floor's own knee: higher rates say nothing more
    base = dict(fsync=opts.fsync, probe=probe)
    if opts.topology:
        base["topology"] = opts.topology
    with bench.server(opts.host, opts.port, **base) as (host, port):
        if not opts.sweep:
            result.throughput["orders/s, saturation"] = bench.saturation(host, port, opts.seconds)
        ours = _round_trips(bench, host, port, rates, opts, result, floor_p50, "round trip")
    if opts.fsync_compare:
        for overlap in (False, True):
            how = "overlapped" if overlap else "inline"
            label = f"round trip, fsync batch {how}"
            with bench.server(None, None, **{**base, "fsync": "batch", "overlap": overlap}) as at:
                _round_trips(bench, *at, rates, opts, result, floor_p50, label)
            for rate in rates:
                base_name, name = f"round trip @ {rate:,.0f}/s", f"{label} @ {rate:,.0f}/s"
                if base_name in result.latency and name in result.latency:
                    extra = result.latency[name]["p50"] - result.latency[base_name]["p50"]
                    result.notes.append(
                        f"{label} @ {rate:,.0f}/s: p50 {extra:+.0f} us over fsync {opts.fsync}"
                    )
    if floor and opts.sweep:
        our_knee = knee([p for p in ours if p[0] in floor_p99], floor_p99)
        lowest = {rate: floor_p99[rates[0]] for rate in floor_p99}
        floor_knee = knee(theirs, lowest)
        result.notes.append(f"knee: ringmatch {our_knee}, floor {floor_knee} (None: beyond sweep)")
        if our_knee and floor_knee:
            result.notes.append(f"knee ratio (ringmatch / floor): {our_knee / floor_knee:.2f}")
    if opts.fsync == "batch" or opts.fsync_compare:
        import tempfile

        synced = fdatasync_median_us(tempfile.gettempdir())
        result.notes.append(f"one median fdatasync of this disk: {synced:.0f} us")
    result.notes.append("round trips counted from the scheduled send time (open loop)")
    if floor:
        result.notes.append(
            "floor: a blocking Python echo server on loopback answering each 40-byte frame,"
            " driven by the same open-loop client"
        )
    if probe and opts.host is None:
        result.notes.append(
            "engine share: the gateway worker's time per order from its bytes read to its"
            " first report written (RINGMATCH_LATENCY_PROBE=1), warm-up orders included"
        )
    return result


def _round_trips(
    bench: Any,
    host: str,
    port: int,
    rates: list[float],
    opts: argparse.Namespace,
    result: report.Result,
    floor_p50: dict[float, float],
    label: str,
) -> list[tuple[float, float, float]]:
    """Open-loop runs at each rate against host:port, recorded as ``label @ rate``;
    the (offered, achieved, p99) points."""
    ours: list[tuple[float, float, float]] = []
    for rate in progress(rates, desc="offered rates", unit="rate"):
        runs_full = [bench.round_trips(host, port, rate, opts.seconds) for _ in range(opts.repeat)]
        chosen = _median_run([(r.achieved, r.samples) for r in runs_full])
        share = next(r.engine_share for r in runs_full if r.samples is chosen[1])
        achieved, samples = chosen
        hist = report.new_histogram()
        report.record_all(hist, samples)
        name = f"{label} @ {rate:,.0f}/s"
        result.add_latency(name, hist)
        figs = result.latency[name]
        if label == "round trip":
            result.rate_points.append((achieved, figs))
        ours.append((rate, achieved, figs["p99"]))
        if rate in floor_p50:
            floor_figs = result.latency[f"floor (Python echo) @ {rate:,.0f}/s"]
            ratios = ", ".join(
                f"{pct} {figs[pct] / floor_figs[pct]:.2f}x"
                for pct in ("p50", "p90", "p99", "p99.9")
                if floor_figs[pct]
            )
            what = "" if label == "round trip" else f"{label}, "
            result.notes.append(f"{what}ratio to the floor @ {rate:,.0f}/s: {ratios}")
        if share is not None:
            what = "" if label == "round trip" else f", {label}"
            result.add_latency(
                f"engine share (gateway in -> report out){what} @ {rate:,.0f}/s", share
            )
        if opts.sweep and achieved < 0.95 * rate:
            break
    return ours
