"""Recovery time per million journalled inputs, with and without a snapshot.

    standard_workload(N) ──▶ JournalWriter (batches of 256, fsync never) ──▶ DATA_DIR
                                  │ optional: snapshot at N/2 (or at N)
    recover_core(DATA_DIR)  ◀─────┘ timed: read + decode + replay through the stage chain

The journal is written once per scenario, untimed. Each recovery runs in a
fresh subprocess (the one being timed holds nothing from the writing), and the
figure reported is the best of ``--repeat`` runs, wall and CPU.

    .venv/bin/python benchmarks/bench_recovery.py            # 1,000,000 inputs
    .venv/bin/python benchmarks/bench_recovery.py -n 200000  # a quicker look
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

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CHILD = """
import json, sys, time
from ringmatch.engine.core.recovery import recover_core
wall, cpu = time.perf_counter(), time.process_time()
logic, last = recover_core(sys.argv[1])
print(json.dumps({"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu,
                  "last_seq": last, "snapshot_seq": int(sys.argv[2])}))
"""


def build(data_dir: Path, n: int, snapshot_at: int | None) -> None:
    from ringmatch.benchmarks.workload import standard_workload
    from ringmatch.engine.core.recovery import write_snapshot
    from ringmatch.engine.core.stage_chain import CoreLogic
    from ringmatch.engine.journal.fsync_policy import FsyncPolicy
    from ringmatch.engine.journal.log import JournalWriter

    cmds = standard_workload(n)
    logic = CoreLogic()
    with JournalWriter(data_dir, fsync=FsyncPolicy.never()) as writer:
        for start in range(0, n, 256):
            batch = [(start + i + 1, c) for i, c in enumerate(cmds[start : start + 256])]
            writer.append_batch(batch)
            if snapshot_at is not None:
                for seq, cmd in batch:
                    logic.process(cmd, seq)
                if logic.last_seq >= snapshot_at:
                    write_snapshot(data_dir, logic)
                    snapshot_at = None


def time_recovery(data_dir: Path, snapshot_seq: int, repeat: int) -> dict[str, float]:
    runs = []
    for _ in range(repeat):
        out = subprocess.run(
            [sys.executable, "-c", CHILD, str(data_dir), str(snapshot_seq)],
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
    scenarios = [("journal only", None), ("snapshot at N/2", n // 2), ("snapshot at N", n)]
    for name, snapshot_at in scenarios:
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            build(Path(tmp), n, snapshot_at)
            built = time.perf_counter() - started
            r = time_recovery(Path(tmp), snapshot_at or 0, args.repeat)
            per_m = 1_000_000 / n
            print(
                f"  {name:<16} recover {r['wall']:.2f} s wall, {r['cpu']:.2f} s CPU "
                f"({r['wall'] * per_m:.2f} s per million inputs; setup {built:.0f} s)"
            )


if __name__ == "__main__":
    main()
