"""``ringmatch bench replay``: replay speed, reading and parsing included.

* order CSV: the standard workload (--commands, --seed) written as an order file,
  replayed by ``ringmatch.engine.replay.csv_replay.run`` (no outputs);
* LOBSTER: the AMZN sample's message file, plain and verified
  (benchmarks/bench_lobster.py; skipped when the data directory is absent);
* the stages apart (harness/replay_stages.py, one fresh process): CSV parse-only,
  parse+kernel and parse+kernel+outputs over the same file, LOBSTER parse-only and
  parse+kernel over the AMZN day replayed 10 times, with the kernel named.

Each run is one whole replay in a fresh interpreter (start-up and imports left
out); figures are medians of --runs, by wall and by CPU time.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from ringmatch.benchmarks.harness import machine, report
from ringmatch.benchmarks.harness.checkout import REPO_ROOT, benchmark_module
from ringmatch.benchmarks.harness.progress import progress

CSV_RUN = """
import argparse, io, json, sys, time
from ringmatch.engine.replay.csv_replay import run
args = argparse.Namespace(file={file!r}, trades_out=None, events_out=None, book_out=None,
    skip_bad=False, speed=None)
sys.stderr = io.StringIO()
wall, cpu = time.perf_counter(), time.process_time()
code = run(args)
print(json.dumps({{"seconds": time.perf_counter() - wall, "cpu": time.process_time() - cpu,
                  "code": code}}))
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--commands", type=int, default=1_000_000, help="rows of the CSV file")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--data", type=Path, help="LOBSTER data directory (../shared/data/lobster)")


def _csv_run(path: Path) -> tuple[float, float]:
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    done = subprocess.run(
        [sys.executable, "-c", CSV_RUN.format(file=str(path))],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    out = json.loads(done.stdout)
    if out["code"] != 0:
        raise RuntimeError(f"CSV replay of {path} failed: exit {out['code']}")
    return float(out["seconds"]), float(out["cpu"])


def _stages(orders: Path, messages: Path | None) -> dict[str, object]:
    """replay_stages' figures, from a fresh interpreter."""
    argv = [sys.executable, "-m", "ringmatch.benchmarks.harness.replay_stages", str(orders)]
    if messages is not None:
        argv.append(str(messages))
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    done = subprocess.run(argv, capture_output=True, text=True, env=env, check=True)
    stages: dict[str, object] = json.loads(done.stdout)
    return stages


def _add_stages(result: report.Result, stages: dict[str, object]) -> None:
    for label, figure in stages.items():
        if isinstance(figure, dict):
            unit = "msgs/s" if label.startswith("LOBSTER") else "rows/s"
            result.throughput[f"{label} {unit} (wall)"] = float(figure["wall"])
            result.throughput[f"{label} {unit} (CPU)"] = float(figure["cpu"])
        else:
            result.notes.append(f"{label}: {figure}")


def run(opts: argparse.Namespace) -> report.Result:
    from ringmatch.benchmarks.workload import standard_workload
    from ringmatch.engine.replay.order_csv import COLUMNS, command_to_row

    result = report.Result(
        benchmark="replay",
        params={"commands": opts.commands, "seed": opts.seed, "runs": opts.runs},
        machine=machine.describe(),
    )
    with tempfile.TemporaryDirectory(prefix="ringmatch-bench-") as tmp:
        path = Path(tmp) / "orders.csv"
        with path.open("w", newline="") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(COLUMNS)
            writer.writerows(command_to_row(c) for c in standard_workload(opts.commands, opts.seed))
        runs = [_csv_run(path) for _ in progress(range(opts.runs), desc="CSV replay", unit="run")]
        lobster = benchmark_module("bench_lobster")
        day = (opts.data or lobster.DATA) / lobster.MESSAGES
        _add_stages(result, _stages(path, day if day.exists() else None))
    n = opts.commands
    result.throughput["CSV rows/s (median, wall)"] = n / statistics.median(r[0] for r in runs)
    result.throughput["CSV rows/s (median, CPU)"] = n / statistics.median(r[1] for r in runs)

    data = opts.data or lobster.DATA
    messages = data / lobster.MESSAGES
    if not messages.exists():
        result.notes.append(f"LOBSTER skipped: {messages} is missing")
        return result
    rows = sum(1 for _ in messages.open("rb"))
    for label, orderbook in (("LOBSTER", None), ("LOBSTER verified", data / lobster.ORDERBOOK)):
        runs = [
            lobster.one_run(messages, orderbook)
            for _ in progress(range(opts.runs), desc=label, unit="run")
        ]
        result.throughput[f"{label} msgs/s (median, wall)"] = rows / statistics.median(
            r[0] for r in runs
        )
        result.throughput[f"{label} msgs/s (median, CPU)"] = rows / statistics.median(
            r[1] for r in runs
        )
    result.notes.append(f"LOBSTER: {messages.name}, {rows:,} messages")
    return result
