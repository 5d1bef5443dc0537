"""The ``ringmatch bench`` subcommands: argument parsing and the common output steps.

    ringmatch bench core    [--commands N] [--seed S] [--runs R] [--gc MODE] [--pure]
    ringmatch bench e2e     (see benchmarks/bench_e2e.py)
    ringmatch bench replay  [--runs R] [--data DIR]
    ringmatch bench ring    [--records N] [--batches 1,16,64,256] [--rate R]
    ringmatch bench ids     [--ids N] [--url redis://...]
    ringmatch bench compare OLD.json NEW.json [--threshold PCT]

Every benchmark prints a table, writes OUT/NAME.json and OUT/NAME.<histogram>.hgrm
(and with --plot, PNG charts). Exit status: 0 done, 1 a regression (compare),
2 bad input or a benchmark that cannot run here.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from ringmatch.benchmarks.harness import report

EXIT_UNAVAILABLE = 2

# subcommand -> (module with add_arguments(parser) and run(opts), help)
BENCHMARKS = {
    "core": (
        "ringmatch.benchmarks.harness.core",
        "matching core alone: throughput and per-command latency",
    ),
    "e2e": (
        "ringmatch.benchmarks.harness.e2e",
        "over TCP: saturation throughput and round trip by rate",
    ),
    "replay": ("ringmatch.benchmarks.harness.replay", "LOBSTER and order-CSV replay speed"),
    "ring": (
        "ringmatch.benchmarks.harness.ring",
        "SPSC ring throughput by batch size and one-way latency",
    ),
    "ids": ("ringmatch.benchmarks.harness.ids", "sequence IDs: local counter vs Redis blocks"),
    "memory": (
        "ringmatch.benchmarks.harness.memory",
        "bytes of core memory per resting order (growth of RSS)",
    ),
}


def add_subcommands(commands: Any) -> None:
    """Add ``bench`` and its subcommands to the ``ringmatch`` parser (ringmatch/cli.py)."""
    bench = commands.add_parser(
        "bench",
        help="run a benchmark, or compare two results",
        description="Run a benchmark (a table, a JSON result, .hgrm percentile files),"
        " or compare two results.",
    )
    which = bench.add_subparsers(dest="benchmark", required=True, metavar="BENCHMARK")
    for name, (module_name, help_text) in BENCHMARKS.items():
        sub = which.add_parser(name, help=help_text, description=help_text)
        _module(module_name).add_arguments(sub)
        sub.add_argument(
            "--out", type=Path, default=Path("out/bench"), help="where results go (out/bench)"
        )
        sub.add_argument("--name", help="file name stem (default: BENCHMARK-TIMESTAMP)")
        sub.add_argument("--plot", action="store_true", help="draw PNG charts (plot extra)")
    compare = which.add_parser(
        "compare", help="change of every figure between two results; exit 1 on a regression"
    )
    _module("ringmatch.benchmarks.harness.compare").add_arguments(compare)
    bench.set_defaults(run=run)


def _module(name: str) -> ModuleType:
    return importlib.import_module(name)


def run(opts: argparse.Namespace) -> int:
    """Run the chosen benchmark and write its outputs."""
    if opts.benchmark == "compare":
        from ringmatch.benchmarks.harness import compare

        return compare.run(opts)
    module = _module(BENCHMARKS[opts.benchmark][0])
    try:
        result: report.Result = module.run(opts)
    except report.Unavailable as exc:
        print(f"ringmatch bench {opts.benchmark}: {exc}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    print(report.table(result))
    paths = report.write(result, opts.out, opts.name)
    if opts.plot:
        from ringmatch.benchmarks.harness import plot

        stem = paths[0].with_suffix("")
        try:
            if result.histograms:
                paths.append(plot.percentile_png(result, Path(f"{stem}.percentiles.png")))
            if result.rate_points:
                title = f"{result.benchmark}: latency against throughput"
                png = Path(f"{stem}.rates.png")
                paths.append(
                    plot.throughput_latency_png(
                        result.rate_points, title, png, result.floor_points or None
                    )
                )
        except plot.PlotUnavailable as exc:
            print(f"ringmatch bench: {exc}", file=sys.stderr)
    for path in paths:
        print(f"wrote {path}", file=sys.stderr)
    return 0


def main(argv: list[str]) -> int:
    """``ringmatch bench ARGV...`` without the rest of the CLI (the standalone scripts)."""
    parser = argparse.ArgumentParser(prog="ringmatch")
    add_subcommands(parser.add_subparsers(dest="command", required=True))
    opts = parser.parse_args(["bench", *argv])
    status: int = opts.run(opts)
    return status
