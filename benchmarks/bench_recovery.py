"""Recovery throughput: reading the journal's record frames alone, and the whole recovery.

    standard_workload(N) ──▶ JournalWriter (frames of 256 inputs, fsync never) ──▶ DATA_DIR
                                  │ optional: a kernel snapshot at N/2 (or at N)
    timed, each in a fresh subprocess:
      read + crc   JournalReader.record_batches(): segment reads, crc32c, header
                   chain checks, the records as numpy views (what recovery hands the kernel)
      + look-ahead the same after recovery's first pass (journal_run.look_ahead: the
                   closed segments' frame headers walked, the last segment read and
                   checked, and handed to the reader): the journal's whole part of recovery
      recovery     run_recovery(DATA_DIR): snapshot + read + crc + the kernel
                   (the kernel new_kernel() gives: compiled where built, else the
                   reference kernel; named in the output)

The journal is written once per scenario, untimed. The figure reported is the
best of ``--repeat`` runs, wall and CPU, as inputs per second.

    .venv/bin/python benchmarks/bench_recovery.py            # 1,000,000 inputs
    .venv/bin/python benchmarks/bench_recovery.py -n 200000  # a quicker look
    .venv/bin/python benchmarks/bench_recovery.py --read-only -n 5000000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CHILD = """
import json, sys, time
from ringmatch.engine.core.journal_run import look_ahead  # imports: not timed
from ringmatch.engine.core.recovery import run_recovery
from ringmatch.engine.journal.log import JournalReader
what, data_dir = sys.argv[1], sys.argv[2]
wall, cpu = time.perf_counter(), time.process_time()
if what in ("read", "ahead"):
    preread = {}
    if what == "ahead":  # recovery's first pass (the stage chain, the skips), as start_run
        look_ahead(data_dir, keep=preread)
    inputs = 0
    for batch in JournalReader(data_dir, preread=preread).record_batches():
        inputs += batch.last_seq - batch.prev_seq  # the workload's seqs have no gaps
    kernel = "-"
else:
    done = run_recovery(data_dir)
    inputs = done.last_seq - int(sys.argv[3])
    kernel = type(done.run.kernel).__module__ + "." + type(done.run.kernel).__name__
print(json.dumps({"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu,
                  "inputs": inputs, "kernel": kernel}))
"""


def build(data_dir: Path, n: int, snapshot_at: int | None) -> None:
    from ringmatch.benchmarks.workload import standard_workload
    from ringmatch.engine.core.journal_run import start_run, write_snapshot
    from ringmatch.engine.journal.fsync_policy import FsyncPolicy
    from ringmatch.engine.journal.log import JournalWriter

    cmds = standard_workload(n)
    with JournalWriter(data_dir, fsync=FsyncPolicy.never()) as writer:
        for start in range(0, n, 256):
            batch = [(start + i + 1, c) for i, c in enumerate(cmds[start : start + 256])]
            writer.append_batch(batch)
    if snapshot_at is not None:
        run = start_run(data_dir, snapshot=False)
        run.feed(snapshot_at)
        write_snapshot(data_dir, run.kernel, run.directory)


def timed(what: str, data_dir: Path, snapshot_seq: int, repeat: int) -> dict[str, object]:
    runs = []
    for _ in range(repeat):
        out = subprocess.run(
            [sys.executable, "-c", CHILD, what, str(data_dir), str(snapshot_seq)],
            cwd=REPO,
            check=True,
            capture_output=True,
            text=True,
        )
        runs.append(json.loads(out.stdout))
    return min(runs, key=lambda r: float(r["wall"]))


def line(name: str, r: dict[str, object]) -> str:
    wall, cpu, inputs = float(r["wall"]), float(r["cpu"]), int(r["inputs"])  # type: ignore[arg-type]
    if not inputs:
        return f"  {name:<28} {wall:.2f} s wall, {cpu:.2f} s CPU (nothing after the snapshot)"
    return (
        f"  {name:<28} {inputs / wall:>12,.0f} inputs/s wall {inputs / cpu:>12,.0f} CPU "
        f"({inputs:,} inputs in {wall:.2f} s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=1_000_000, help="journalled inputs")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--read-only", action="store_true", help="time read + crc alone")
    parser.add_argument("--dir", help="where to write the journals (default: a temporary one)")
    args = parser.parse_args()
    n = args.n
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"python {platform.python_version()} on {platform.machine()}, {n:,} inputs, load {load}")
    scenarios = [("journal only", None)]
    if not args.read_only:
        scenarios += [("snapshot at N/2", n // 2), ("snapshot at N", n)]
    for name, snapshot_at in scenarios:
        with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
            started = time.perf_counter()
            build(Path(tmp), n, snapshot_at)
            size = sum(p.stat().st_size for p in Path(tmp).iterdir())
            print(
                f"{name}: journal {size / 1e6:.1f} MB ({size / n:.1f} bytes/input), "
                f"setup {time.perf_counter() - started:.0f} s"
            )
            if snapshot_at is None:
                print(line("read + crc", timed("read", Path(tmp), 0, args.repeat)))
                print(line("look-ahead + read + crc", timed("ahead", Path(tmp), 0, args.repeat)))
            if not args.read_only:
                r = timed("recover", Path(tmp), snapshot_at or 0, args.repeat)
                print(line(f"recovery ({str(r['kernel']).rsplit('.', 1)[-1]})", r))


if __name__ == "__main__":
    main()
