"""Journal benchmark: append throughput per fsync policy, and recovery time.

    core ──append_records(batch of B input records)──▶ JournalWriter ──write (+fsync)──▶ segments
    segments ──JournalReader──▶ decode ──▶ the reference kernel  (recover)

1. Append: the standard workload (ringmatch.benchmarks.workload) journalled in batches of 64
   and 256 at each fsync policy; records/s, batches/s and MB/s. Each run stops
   after --records records or --seconds seconds, whichever comes first (an
   fsync per batch on a slow disk would otherwise take minutes). The batches
   are packed as input records first, untimed, and appended as the core
   appends them (``append_records``: a header, one copy, one write); the
   "Structs" line packs them on the way (``append_batch``), for comparison.
2. Recovery: --recover-n inputs (default 1,000,000) journalled, then timed:
   reading and decoding alone, and recover() (read, decode, replay into a
   fresh MatchingEngine).

fsync costs depend on the disk under --dir: point it at the disk the core
will use (the default is a temporary directory, often tmpfs or overlayfs).

    .venv/bin/python benchmarks/bench_journal.py [--dir PATH] [--quick]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import msgspec
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ringmatch.benchmarks.workload import standard_workload
from ringmatch.engine.core.recovery import recover
from ringmatch.engine.journal.fsync_policy import FsyncPolicy
from ringmatch.engine.journal.log import JournalReader, JournalWriter, Record
from ringmatch.engine.records.inputs import InputPacker, copy_records
from ringmatch.engine.records.names import Directory
from ringmatch.engine.schema.commands import Command

POLICIES = (FsyncPolicy.every_batch(), FsyncPolicy.every_ms(5), FsyncPolicy.never())
BATCH_SIZES = (64, 256)


def batched(cmds: list[Command], size: int) -> list[list[Record]]:
    return [
        [(start + i + 1, c) for i, c in enumerate(cmds[start : start + size])]
        for start in range(0, len(cmds), size)
    ]


def packed(batches: list[list[Record]]) -> list[tuple[np.ndarray, int, int, int]]:
    """Each batch as the core hands it to the journal: records, first and last seq, flags."""
    packer = InputPacker(Directory())
    out = []
    for batch in batches:
        packer.start()
        for seq, inp in batch:
            packer.add(inp, seq)
        out.append((copy_records(packer.records()), batch[0][0], batch[-1][0], packer.flags))
    return out


def bench_append(
    root: Path,
    cmds: list[Command],
    policy: FsyncPolicy,
    size: int,
    seconds: float,
    structs: bool = False,
) -> str:
    data_dir = root / f"append-{policy}-{size}-{structs}".replace(" ", "")
    batches = batched(cmds, size)
    frames = [] if structs else packed(batches)
    records = written = 0
    with JournalWriter(data_dir, fsync=policy) as writer:
        started = time.perf_counter()
        for n, batch in enumerate(batches):
            if structs:
                writer.append_batch(batch)
            else:
                recs, first, last, flags = frames[n]
                writer.append_records(recs, first_seq=first, last_seq=last, flags=flags)
            records += len(batch)
            if time.perf_counter() - started > seconds:
                break
        elapsed = time.perf_counter() - started
    written = sum(p.stat().st_size for p in data_dir.iterdir())
    shutil.rmtree(data_dir)
    what = "Structs" if structs else "records"
    return (
        f"  {what:<7} {policy!s:<12} batch {size:>4}: {records / elapsed:>12,.0f} records/s "
        f"{records / size / elapsed:>10,.0f} batches/s {written / elapsed / 1e6:>8.1f} MB/s "
        f"({records:,} records in {elapsed:.2f} s)"
    )


def bench_recovery(root: Path, cmds: list[Command]) -> list[str]:
    data_dir = root / "recover"
    with JournalWriter(data_dir, fsync=FsyncPolicy.never()) as writer:
        for batch in batched(cmds, 256):
            writer.append_batch(batch)
    size = sum(p.stat().st_size for p in data_dir.iterdir())
    n = len(cmds)

    started = time.perf_counter()
    count = sum(len(batch) for batch in JournalReader(data_dir).batches())
    read_s = time.perf_counter() - started
    assert count == n

    started = time.perf_counter()
    engine, last_seq = recover(data_dir)
    recover_s = time.perf_counter() - started
    assert last_seq == n
    per_million = recover_s * 1_000_000 / n
    shutil.rmtree(data_dir)
    return [
        f"  journal of {n:,} inputs: {size / 1e6:.1f} MB, {size / n:.1f} bytes/input",
        f"  read + decode : {read_s:.3f} s ({n / read_s:,.0f} inputs/s)",
        f"  recover()     : {recover_s:.3f} s ({n / recover_s:,.0f} inputs/s), "
        f"{per_million:.2f} s per million inputs; {len(engine.symbols())} books rebuilt",
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", help="where to write journals (default: a temporary directory)")
    parser.add_argument("--records", type=int, default=200_000, help="records per append run")
    parser.add_argument("--seconds", type=float, default=3.0, help="time cap per append run")
    parser.add_argument("--recover-n", type=int, default=1_000_000, help="inputs to recover")
    parser.add_argument("--quick", action="store_true", help="a smoke run: small sizes")
    args = parser.parse_args()
    if args.quick:
        args.records, args.seconds, args.recover_n = 5_000, 0.5, 20_000

    print(f"python {platform.python_version()} ({platform.python_implementation()})")
    print(f"msgspec {msgspec.__version__}, {platform.platform()}, {os.cpu_count()} CPUs")
    root = Path(tempfile.mkdtemp(prefix="bench-journal-", dir=args.dir))
    print(f"journal directory: {root}")
    try:
        print(f"generating {max(args.records, args.recover_n):,} inputs (standard workload)...")
        cmds = standard_workload(max(args.records, args.recover_n))
        print("append throughput:")
        for policy in POLICIES:
            for size in BATCH_SIZES:
                print(bench_append(root, cmds[: args.records], policy, size, args.seconds))
        print(bench_append(root, cmds[: args.records], FsyncPolicy.never(), 256, 3, True))
        print("recovery:")
        for line in bench_recovery(root, cmds[: args.recover_n]):
            print(line)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
