"""Results: HdrHistogram percentiles, the JSON file, the .hgrm files, the table.

A ``Result`` holds plain figures (``throughput``: name -> number, higher is
better; ``latency``: name -> {p50, ..., max} in microseconds, lower is better)
so that compare.py can diff any two results without knowing the benchmark.
Latencies are recorded in nanoseconds into an HdrHistogram with 3 significant
digits (any recorded value is within 0.1% of the truth) and reported in us.
"""

from __future__ import annotations

import datetime
import io
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hdrh.histogram import HdrHistogram  # type: ignore[import-untyped]

PERCENTILES = (("p50", 50.0), ("p90", 90.0), ("p99", 99.0), ("p99.9", 99.9), ("p99.99", 99.99))
LOWEST_NS = 1
HIGHEST_NS = 60 * 1_000_000_000  # one minute: anything slower is a hang, not a latency
SIGNIFICANT_DIGITS = 3
NS_PER_US = 1000.0
SCHEMA = 1


def new_histogram() -> HdrHistogram:
    """An empty nanosecond histogram (1 ns to 60 s, 3 significant digits)."""
    return HdrHistogram(LOWEST_NS, HIGHEST_NS, SIGNIFICANT_DIGITS)


def record_all(hist: HdrHistogram, values_ns: Iterable[int]) -> None:
    """Record many nanosecond values, clamped into the histogram's range.

    Counting equal values first and recording each distinct value once is ~50x
    faster than one ``record_value`` call per value (hdrh is pure Python).
    """
    counts: dict[int, int] = {}
    get = counts.get
    for v in values_ns:
        counts[v] = get(v, 0) + 1
    for v, n in counts.items():
        hist.record_value(min(max(v, LOWEST_NS), HIGHEST_NS), n)


def percentiles_us(hist: HdrHistogram) -> dict[str, float]:
    """p50, p90, p99, p99.9, p99.99 and max of a nanosecond histogram, in microseconds."""
    out = {
        name: hist.get_value_at_percentile(p) / NS_PER_US if hist.get_total_count() else 0.0
        for name, p in PERCENTILES
    }
    out["max"] = hist.get_max_value() / NS_PER_US if hist.get_total_count() else 0.0
    out["count"] = float(hist.get_total_count())
    return out


def hgrm_text(hist: HdrHistogram) -> str:
    """The standard HdrHistogram percentile-distribution text, values in microseconds."""
    buf = io.BytesIO()
    hist.output_percentile_distribution(buf, NS_PER_US, ticks_per_half_distance=5)
    text = buf.getvalue().decode("ascii")
    # hdrh 0.10 scales the mean but not the standard deviation in the footer.
    return re.sub(
        r"StdDeviation\s*=\s*[0-9.]+",
        f"StdDeviation   = {hist.get_stddev() / NS_PER_US:12.3f}",
        text,
    )


@dataclass
class Result:
    """One benchmark run: what ran, with what, where, and the figures it gave."""

    benchmark: str
    params: dict[str, Any]
    machine: dict[str, Any]
    throughput: dict[str, float] = field(default_factory=dict)  # per second, higher better
    latency: dict[str, dict[str, float]] = field(default_factory=dict)  # us, lower better
    costs: dict[str, float] = field(default_factory=dict)  # lower better: bytes, instructions
    ratios: dict[str, float] = field(default_factory=dict)  # x times, higher better
    notes: list[str] = field(default_factory=list)
    histograms: dict[str, HdrHistogram] = field(default_factory=dict, repr=False)
    # (achieved rate per second, latency percentiles in us) per offered rate (e2e)
    rate_points: list[tuple[float, dict[str, float]]] = field(default_factory=list)
    # the same for the floor measured beside it (e2e: a Python echo server)
    floor_points: list[tuple[float, dict[str, float]]] = field(default_factory=list)
    when: str = field(
        default_factory=lambda: datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    )

    def add_latency(self, name: str, hist: HdrHistogram) -> None:
        self.histograms[name] = hist
        self.latency[name] = percentiles_us(hist)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "benchmark": self.benchmark,
            "when": self.when,
            "params": self.params,
            "machine": self.machine,
            "throughput": self.throughput,
            "latency_us": self.latency,
            "costs": self.costs,
            "ratios": self.ratios,
            "notes": self.notes,
            "rates": [{"rate": rate, "latency_us": figs} for rate, figs in self.rate_points],
            # The whole histogram, compressed: enough to redraw or re-merge it later.
            "histograms": {name: h.encode().decode("ascii") for name, h in self.histograms.items()},
        }


class Unavailable(RuntimeError):
    """A benchmark cannot run here (a missing file, server or module); says which."""


def load(path: Path) -> dict[str, Any]:
    """A result JSON file, checked enough that compare.py can trust its shape."""
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not a readable result file: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: not a result file: the top level is not an object")
    for key in ("benchmark", "throughput", "latency_us"):
        if key not in data:
            raise ValueError(f"{path}: not a result file: no {key!r} field")
    return data


def file_slug(name: str) -> str:
    """A histogram name made safe for a file name: "round trip @ 1,000/s" -> "round-trip-1000-s"."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name.replace(",", "")).strip("-") or "latency"


def write(result: Result, out_dir: Path, stem: str | None = None) -> list[Path]:
    """Write ``STEM.json`` and ``STEM.NAME.hgrm`` per histogram; return the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = stem or f"{result.benchmark}-{result.when.replace(':', '')}"
    json_path = out_dir / f"{stem}.json"
    json_path.write_text(json.dumps(result.to_json(), indent=2) + "\n")
    paths = [json_path]
    for name, hist in result.histograms.items():
        hgrm = out_dir / f"{stem}.{file_slug(name)}.hgrm"
        hgrm.write_text(hgrm_text(hist))
        paths.append(hgrm)
    return paths


def table(result: Result) -> str:
    """The result as a Markdown table (pasteable into benchmarks/README.md)."""
    lines = [f"## {result.benchmark}: {result.machine.get('core', '?')}", ""]
    if result.throughput:
        lines += ["| throughput | per second |", "|---|---:|"]
        lines += [f"| {name} | {value:,.0f} |" for name, value in result.throughput.items()]
        lines.append("")
    if result.latency:
        heads = [name for name, _ in PERCENTILES] + ["max"]
        lines.append("| latency (us) | " + " | ".join(heads) + " | count |")
        lines.append("|---|" + "---:|" * (len(heads) + 1))
        for name, figs in result.latency.items():
            cells = " | ".join(f"{figs[h]:,.2f}" for h in heads)
            lines.append(f"| {name} | {cells} | {int(figs['count']):,} |")
        lines.append("")
    if result.ratios:
        lines += ["| ratio (side by side, one run) | times |", "|---|---:|"]
        lines += [f"| {name} | {value:,.2f}x |" for name, value in result.ratios.items()]
        lines.append("")
    if result.costs:
        lines += ["| cost (lower is better) | value |", "|---|---:|"]
        lines += [f"| {name} | {value:,.1f} |" for name, value in result.costs.items()]
        lines.append("")
    lines += [f"- {note}" for note in result.notes]
    return "\n".join(lines).rstrip() + "\n"
