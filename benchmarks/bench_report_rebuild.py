"""A gateway worker's start-up cost after a restart: rebuilding its ReportBook from the journal.

    standard_workload(N) as a gateway sends it (order_id 0, client ids)
        ──▶ JournalWriter (batches of 256, as they came) ──▶ DATA_DIR
    rebuild_report_book(DATA_DIR, N, PreTradeRisk)  ◀── timed, in a fresh subprocess

The journal is written once, untimed. For scale, the core's own recovery of
the same journal (``recover_core`` with the same stage, no snapshot) is timed
the same way. Each figure is the best of ``--repeat`` runs, wall and CPU.

    .venv/bin/python benchmarks/bench_report_rebuild.py            # 1,000,000 inputs
    .venv/bin/python benchmarks/bench_report_rebuild.py -n 200000  # a quicker look
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import msgspec

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CHILD = """
import json, sys, time
from ringmatch.risk.pretrade import PreTradeRisk
resolve = {'risk': PreTradeRisk}.__getitem__
wall, cpu = time.perf_counter(), time.process_time()
if sys.argv[2] == "worker":
    from ringmatch.gateway.server.translate import rebuild_report_book
    book = rebuild_report_book(sys.argv[1], int(sys.argv[3]), resolve)
    live = len(book.orders)
else:
    from ringmatch.engine.core.recovery import recover_core
    logic, _ = recover_core(sys.argv[1], resolve=resolve)
    live = sum(len(logic.engine.l3(s)) for s in logic.engine.symbols())
print(json.dumps({"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu,
                  "live": live}))
"""


def build(data_dir: Path, n: int) -> None:
    from ringmatch.benchmarks.workload import standard_workload
    from ringmatch.engine.journal.fsync_policy import FsyncPolicy
    from ringmatch.engine.journal.log import JournalWriter
    from ringmatch.engine.schema.commands import Cancel, Input, NewOrder, StageChain

    replace = msgspec.structs.replace
    # As serve's core journals them: its stage chain first, then client-id orders as
    # they came from the gateways (the kernel translates them, live and in recovery).
    inputs: list[Input] = [StageChain("risk")]
    inputs += [
        replace(c, order_id=0, client_order_id=c.order_id)
        if isinstance(c, NewOrder | Cancel)
        else c
        for c in standard_workload(n - 1)
    ]
    with JournalWriter(data_dir, fsync=FsyncPolicy.never()) as writer:
        for start in range(0, n, 256):
            writer.append_batch(list(enumerate(inputs[start : start + 256], start + 1)))


def timed(data_dir: Path, what: str, n: int, repeat: int) -> dict[str, float]:
    runs = []
    for _ in range(repeat):
        out = subprocess.run(
            [sys.executable, "-c", CHILD, str(data_dir), what, str(n)],
            cwd=REPO,
            check=True,
            capture_output=True,
            text=True,
        )
        runs.append(json.loads(out.stdout))
    return min(runs, key=lambda r: r["wall"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=1_000_000, help="journalled inputs")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    n = args.n
    print(f"python {platform.python_version()} on {platform.machine()}, {n:,} inputs")
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        build(Path(tmp), n)
        print(f"  (journal written in {time.perf_counter() - started:.0f} s)")
        per_m = 1_000_000 / n
        for name, what in (("worker rebuild", "worker"), ("core recovery", "core")):
            r = timed(Path(tmp), what, n, args.repeat)
            print(
                f"  {name:<15} {r['wall']:.2f} s wall, {r['cpu']:.2f} s CPU "
                f"({r['wall'] * per_m:.2f} s per million inputs; {r['live']:,} live orders)"
            )


if __name__ == "__main__":
    main()
