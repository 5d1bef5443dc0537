"""Charts, with the ``plot`` extra (matplotlib): ``pip install 'ringmatch[plot]'``.

* the percentile distribution of each histogram, drawn as HdrHistogram plots are:
  x is 1/(1-percentile) on a log scale, so the tail (99%, 99.9%, 99.99%) gets as
  much room as the median;
* throughput against latency, one point per offered rate (bench e2e).
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from ringmatch.benchmarks.harness.report import Result

TICKS = ((0.0, "0%"), (90.0, "90%"), (99.0, "99%"), (99.9, "99.9%"), (99.99, "99.99%"))


class PlotUnavailable(RuntimeError):
    """matplotlib is not installed."""


def _pyplot() -> Any:
    try:  # imported by name: mypy must pass where the extra is not installed
        matplotlib = importlib.import_module("matplotlib")
        matplotlib.use("Agg")  # files only, never a window
        plt = importlib.import_module("matplotlib.pyplot")
    except ImportError:
        raise PlotUnavailable("charts need matplotlib: pip install 'ringmatch[plot]'") from None
    return plt


def percentile_png(result: Result, path: Path) -> Path:
    """Latency (us) against percentile, log-scaled tail, one line per histogram."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for name, hist in result.histograms.items():
        xs, ys = [], []
        for item in hist.get_percentile_iterator(5):
            pct = item.percentile_level_iterated_to
            if pct >= 100.0:
                break
            xs.append(1.0 / (1.0 - pct / 100.0))
            ys.append(item.value_iterated_to / 1000.0)
        ax.plot(xs, ys, label=name)
    ax.set_xscale("log")
    ax.set_xticks([1.0 / (1.0 - p / 100.0) for p, _ in TICKS], [label for _, label in TICKS])
    ax.set_xlabel("percentile")
    ax.set_ylabel("latency (us)")
    ax.set_title(f"{result.benchmark}: latency by percentile, {result.machine.get('core', '')}")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def throughput_latency_png(
    points: list[tuple[float, dict[str, float]]],
    title: str,
    path: Path,
    floor: list[tuple[float, dict[str, float]]] | None = None,
) -> Path:
    """For each (achieved rate, percentiles in us): p50, p99 and p99.9 against rate;
    ``floor``: the floor's p50 and p99 on the same axes, dashed."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 4.5))
    rates = [rate for rate, _ in points]
    for pct in ("p50", "p99", "p99.9"):
        ax.plot(rates, [figs[pct] for _, figs in points], marker="o", label=pct)
    for pct in ("p50", "p99") if floor else ():
        xs = [rate for rate, _ in floor or ()]
        ys = [figs[pct] for _, figs in floor or ()]
        ax.plot(xs, ys, marker="x", linestyle="--", label=f"floor {pct}")
    ax.set_yscale("log")
    ax.set_xlabel("throughput (per second)")
    ax.set_ylabel("latency (us)")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
