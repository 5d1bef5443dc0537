"""LOBSTER replay throughput: messages per second, parsing included.

    message file ──numpy──▶ columns ──conversion loop──▶ MatchingEngine.process_batch
    (+ with --orderbook: orderbook file ──numpy──▶ rows; after every message the
       engine's top of book is compared with the recorded row, resync on mismatch)

Each run is a whole ``ringmatch.engine.replay.lobster_replay.run`` (reading, checking, converting,
matching, the summary) in a fresh subprocess, timed from the call to its return;
interpreter start-up and imports are left out. Reported: the median and the best
of --runs runs (and the median by CPU time, steadier on a shared machine), for the
plain replay (as fast as possible, no per-row output) and
for the verified replay (--orderbook --resync).

    .venv/bin/python benchmarks/bench_lobster.py [--runs 7] [--data ../shared/data/lobster]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "data" / "lobster"
MESSAGES = "AMZN_2012-06-21_34200000_57600000_message_1.csv"
ORDERBOOK = "AMZN_2012-06-21_34200000_57600000_orderbook_1.csv"

ONE_RUN = """
import argparse, io, json, sys, time
sys.path.insert(0, {repo!r})
from ringmatch.engine.replay.lobster_replay import run
args = argparse.Namespace(file={file!r}, orderbook={orderbook!r}, levels=1, resync={resync!r},
    book_out=None, trades_out=None, events_out=None, speed=None, skip_bad=False)
start, cpu = time.perf_counter(), time.process_time()
code = run(args, stdout=io.StringIO(), stderr=io.StringIO())
print(json.dumps({{"seconds": time.perf_counter() - start, "cpu": time.process_time() - cpu,
                  "code": code}}))
"""


def one_run(file: Path, orderbook: Path | None) -> tuple[float, float]:
    """Wall-clock and CPU seconds of one replay in a fresh interpreter."""
    script = ONE_RUN.format(
        repo=str(REPO),
        file=str(file),
        orderbook=None if orderbook is None else str(orderbook),
        resync=orderbook is not None,
    )
    result = subprocess.run(
        [sys.executable, "-c", script], check=True, capture_output=True, text=True
    )
    report = json.loads(result.stdout)
    if report["code"] != 0:
        raise SystemExit(f"replay failed: {report}")
    return float(report["seconds"]), float(report["cpu"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--data", type=Path, default=DATA)
    opts = parser.parse_args()
    file = opts.data / MESSAGES
    rows = sum(1 for _ in file.open("rb"))
    print(f"python {platform.python_version()} on {platform.machine()}, {platform.processor()}")
    print(f"{file.name}: {rows} messages, {opts.runs} {'run' if opts.runs == 1 else 'runs'} each\n")
    for label, orderbook in (
        ("plain replay", None),
        ("verified (--orderbook --resync)", opts.data / ORDERBOOK),
    ):
        runs = [one_run(file, orderbook) for _ in range(opts.runs)]
        wall = statistics.median(r[0] for r in runs)
        cpu = statistics.median(r[1] for r in runs)
        best = min(r[0] for r in runs)
        print(
            f"{label:32s} median {rows / wall:>9,.0f} msg/s ({wall * 1e3:.0f} ms wall, "
            f"{rows / cpu:,.0f} msg/s by CPU time)   best {rows / best:>9,.0f} msg/s"
        )


if __name__ == "__main__":
    main()
