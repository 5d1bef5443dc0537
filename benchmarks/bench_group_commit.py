"""The overlapped group commit's hand-off cost: one batch appended and synced,
inline against a GroupCommit with each syncer, one batch at a time.

    inline       append_records (write + fdatasync on the core's thread)
    nogil        GroupCommit, the compiled sync loop: request pipe -> fdatasync
                 on its thread -> answer pipe -> the core's select -> publish
    thread       GroupCommit, the Python thread syncer (the reference)

Each batch is one input and nothing overlaps it (the core waits for the answer
before the next batch), so the difference to "inline" is what the hand-off to
the sync thread and back costs: the price overlap must win back by matching
while the disk syncs. The variants take turns, batch by batch, so the disk's
drift hits them alike. p50 and p90 in us.

    .venv/bin/python benchmarks/bench_group_commit.py [--batches 300] [--dir PATH]
"""

from __future__ import annotations

import argparse
import os
import select
import shutil
import statistics
import tempfile
import time

import numpy as np

from ringmatch.engine.journal.group_commit import GroupCommit
from ringmatch.engine.journal.log import JournalWriter
from ringmatch.engine.records import layout as L
from ringmatch.engine.records.names import Directory
from ringmatch.engine.records.stream import input_spans
from ringmatch.engine.records.writer import RecordWriter
from ringmatch.engine.schema.commands import Cancel

NAMES = Directory(["X"], ["a"])


def _batch(seq: int) -> np.ndarray:
    writer = RecordWriter(NAMES)
    writer.start()
    writer.add(Cancel(seq, "a"))
    batch = L.join_records([writer.records()], L.INPUT_DTYPE)
    starts, _, _ = input_spans(batch)
    batch["seq"][starts] = seq
    return batch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=300)
    parser.add_argument("--dir", default=os.getcwd(), help="where the journals go (its disk)")
    args = parser.parse_args()
    root = tempfile.mkdtemp(prefix="bench-group-commit-", dir=args.dir)
    try:
        inline = JournalWriter(os.path.join(root, "inline"))
        commits: dict[str, tuple[JournalWriter, GroupCommit, list[int]]] = {}
        for syncer in ("nogil", "thread"):
            writer = JournalWriter(os.path.join(root, syncer))
            out: list[int] = []
            commit = GroupCommit(writer, lambda e, o=out: o.append(0), syncer)
            commits[syncer] = (writer, commit, out)
        times: dict[str, list[int]] = {"inline": [], "nogil": [], "thread": []}
        event = np.zeros(1, L.EVENT_DTYPE)
        for seq in range(1, args.batches + 1):
            batch = _batch(seq)
            start = time.perf_counter_ns()
            inline.append_records(batch, first_seq=seq, last_seq=seq)
            times["inline"].append(time.perf_counter_ns() - start)
            for name, (_, commit, out) in commits.items():
                start = time.perf_counter_ns()
                commit.write(batch, first_seq=seq, last_seq=seq, flags=0)
                commit.hold(event)
                while len(out) < seq:
                    select.select([commit.done_fd], [], [], 10.0)
                    commit.settle()
                times[name].append(time.perf_counter_ns() - start)
        inline.close()
        for writer, commit, _ in commits.values():
            commit.close()
            writer.close()
    finally:
        shutil.rmtree(root)
    print(f"one batch appended and synced, {args.batches} batches each, on {args.dir}:")
    for name, samples in times.items():
        ordered = sorted(samples)
        p50 = statistics.median(ordered) / 1000
        p90 = ordered[int(len(ordered) * 0.9)] / 1000
        print(f"  {name:7s} p50 {p50:8.1f} us   p90 {p90:8.1f} us")


if __name__ == "__main__":
    main()
