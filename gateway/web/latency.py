"""The engine's own latency, from the latency probe's histograms (gateway/server/latency_probe.py).

With ``RINGMATCH_LATENCY_PROBE=1`` in ``serve``'s environment each worker writes,
as each order-entry session ends, that session's histogram of frame read to
first report written (ns) to ``DATA_DIR/latency-probe/ACCOUNT-FIRSTID.hdr``.

    files = ProbeFiles(data_dir)
    files.scan()       # decodes the files not seen yet; True when something was new
    files.points       # one point per scan that found samples: its own percentiles
    files.summary()    # every sample so far: count, p50, p99, p99.9, max (microseconds)

What a client measures (its round trip) the server cannot; this is the share
inside the server, the same figure ``ringmatch bench e2e`` reports as the
server's.
"""

from __future__ import annotations

import time
from collections import deque
from pathlib import Path
from typing import Any

from hdrh.histogram import HdrHistogram  # type: ignore[import-untyped]

from ringmatch.gateway.server.latency_probe import (
    DIRECTORY,
    HIGHEST_NS,
    LOWEST_NS,
    SIGNIFICANT_DIGITS,
)

POINTS = 60
QUANTILES = (50.0, 99.0, 99.9)


def _us(value_ns: int) -> float:
    return round(value_ns / 1000.0, 1)


def percentiles(hist: HdrHistogram) -> dict[str, Any]:
    return {
        "count": hist.get_total_count(),
        **{f"p{q:g}_us": _us(hist.get_value_at_percentile(q)) for q in QUANTILES},
        "max_us": _us(hist.get_max_value()),
    }


class ProbeFiles:
    def __init__(self, data_dir: str | Path) -> None:
        self.directory = Path(data_dir) / DIRECTORY
        self.total = HdrHistogram(LOWEST_NS, HIGHEST_NS, SIGNIFICANT_DIGITS)
        self.points: deque[dict[str, Any]] = deque(maxlen=POINTS)
        self._seen: dict[str, float] = {}  # file name -> mtime when read

    def scan(self, now: float | None = None) -> bool:
        try:
            paths = sorted(self.directory.glob("*.hdr"))
        except OSError:
            return False
        fresh = HdrHistogram(LOWEST_NS, HIGHEST_NS, SIGNIFICANT_DIGITS)
        for path in paths:
            try:
                mtime = path.stat().st_mtime
                if self._seen.get(path.name) == mtime:
                    continue
                hist = HdrHistogram.decode(path.read_bytes())
            except (OSError, ValueError):
                continue  # gone, or not a histogram: skipped, tried again if it changes
            self._seen[path.name] = mtime
            fresh.add(hist)
        if not fresh.get_total_count():
            return False
        self.total.add(fresh)
        self.points.append({"t": time.time() if now is None else now, **percentiles(fresh)})
        return True

    def summary(self) -> dict[str, Any] | None:
        return percentiles(self.total) if self.total.get_total_count() else None
