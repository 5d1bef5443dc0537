"""``ringmatch bench compare OLD.json NEW.json``: every figure's change, and a verdict.

Throughput figures are better higher, latency percentiles better lower. A figure
that got worse by more than ``--threshold`` percent is a regression; any
regression makes the exit status 1, so CI can fail on it. Figures present in
only one file are listed, never judged. Results of two different benchmarks
(``core`` and ``ring``) are refused, status 2, as is a file that is not a result.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, TextIO

from ringmatch.benchmarks.harness import report

EXIT_REGRESSION = 1
EXIT_BAD_INPUT = 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("old", type=Path, metavar="OLD.json")
    parser.add_argument("new", type=Path, metavar="NEW.json")
    parser.add_argument(
        "--threshold",
        type=float,
        default=10.0,
        metavar="PCT",
        help="worse by more than PCT percent is a regression (default 10)",
    )


def figures(result: dict[str, Any]) -> dict[str, tuple[float, bool]]:
    """name -> (value, higher_is_better) for every figure in a result file."""
    out: dict[str, tuple[float, bool]] = {}
    for name, value in result["throughput"].items():
        out[f"throughput {name}"] = (float(value), True)
    for name, figs in result["latency_us"].items():
        for pct, value in figs.items():
            if pct != "count":
                out[f"latency {name} {pct} (us)"] = (float(value), False)
    for name, value in result.get("costs", {}).items():  # files from before costs have none
        out[f"cost {name}"] = (float(value), False)
    for name, value in result.get("ratios", {}).items():
        out[f"ratio {name}"] = (float(value), True)
    return out


def change_pct(old: float, new: float, higher_is_better: bool) -> float:
    """How much better (positive) or worse (negative) ``new`` is than ``old``, in percent."""
    if old == 0:
        return 0.0 if new == 0 else (100.0 if (new > 0) == higher_is_better else -100.0)
    delta = (new - old) / abs(old) * 100.0
    return delta if higher_is_better else -delta


def compare(old: dict[str, Any], new: dict[str, Any], threshold: float, out: TextIO) -> int:
    """Print the comparison; return the number of regressions past ``threshold``."""
    a, b = figures(old), figures(new)
    for side, res in (("old", old), ("new", new)):
        m = res.get("machine", {})
        print(f"{side}: {res.get('when', '?')} {m.get('core', '?')}, {m.get('cpu', '?')}", file=out)
    print(f"\n| figure | old | new | change | verdict (threshold {threshold:g}%) |", file=out)
    print("|---|---:|---:|---:|---|", file=out)
    regressions = 0
    for name in [*a, *(k for k in b if k not in a)]:
        if name not in a or name not in b:
            where = "new" if name in a else "old"
            value = (a.get(name) or b[name])[0]
            print(f"| {name} | {value:,.2f} | | | missing in {where} |", file=out)
            continue
        (va, better_up), (vb, _) = a[name], b[name]
        pct = change_pct(va, vb, better_up)
        if pct < -threshold:
            verdict = "REGRESSION"
            regressions += 1
        elif pct > threshold:
            verdict = "better"
        else:
            verdict = "same"
        print(f"| {name} | {va:,.2f} | {vb:,.2f} | {pct:+.1f}% | {verdict} |", file=out)
    noun = "regression" if regressions == 1 else "regressions"
    print(f"\n{regressions} {noun} past {threshold:g}%", file=out)
    return regressions


def run(opts: argparse.Namespace) -> int:
    try:
        old, new = report.load(opts.old), report.load(opts.new)
    except ValueError as exc:
        print(f"ringmatch bench compare: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if old["benchmark"] != new["benchmark"]:
        print(
            f"ringmatch bench compare: {opts.old} is a {old['benchmark']!r} result and"
            f" {opts.new} a {new['benchmark']!r} one: only results of one benchmark compare",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    if opts.threshold < 0:
        print("ringmatch bench compare: --threshold must be >= 0", file=sys.stderr)
        return EXIT_BAD_INPUT
    return EXIT_REGRESSION if compare(old, new, opts.threshold, sys.stdout) else 0
