"""The overlapped group commit: a batch's events are published only once a sync that
covers its journal frame has returned, in order, whatever the syncs and batches do.

The syncs run on the GroupCommit's own thread against a real file; the tests hold
each fdatasync at a gate they open themselves, so "not yet published" is asserted
while the sync is provably still running, and every wait is on the commit's own
``done_fd`` (select), never a sleep.
"""

from __future__ import annotations

import errno
import os
import select
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ringmatch.engine.journal.files import OS_FILES, FileLayer
from ringmatch.engine.journal.group_commit import GroupCommit
from ringmatch.engine.journal.log import (
    JournalError,
    JournalReader,
    JournalWriter,
    SyncTarget,
    list_segments,
)
from ringmatch.engine.journal.syncers import NogilSyncer
from ringmatch.engine.records import layout as L
from ringmatch.engine.records.names import Directory
from ringmatch.engine.records.stream import input_spans
from ringmatch.engine.schema.commands import Cancel
from tests.engine.gated_fs import GatedFiles
from tests.engine.ring_records import records

NAMES = Directory(["X"], ["a"])
WAIT_S = 10.0


def _batch(first_seq: int, n: int) -> np.ndarray:
    batch = records([Cancel(first_seq + i, "a") for i in range(n)], NAMES)
    starts, _, _ = input_spans(batch)
    batch["seq"][starts] = np.arange(first_seq, first_seq + n, dtype=np.uint64)
    return batch


class Harness:
    """A writer, its GroupCommit, and what it published, with where each batch's
    frame ends in its segment (to check against what the syncs made durable)."""

    def __init__(
        self, data: Path, fs: FileLayer, segment_bytes: int = 1 << 20, syncer: str | None = None
    ) -> None:
        self.data = data
        self.writer = JournalWriter(data, files=fs, segment_bytes=segment_bytes)
        self.published: list[int] = []  # the last seq of each published batch
        self.commit = GroupCommit(self.writer, self._publish, syncer)
        self.fs = fs
        self.ends: dict[int, tuple[str, int]] = {}  # batch's last seq -> (segment, end)
        self.held: list[int] = []  # every batch's last seq, in the order held
        self.next_seq = 1
        self.durable_at_publish: list[tuple[int, bool]] = []

    def _publish(self, events: np.ndarray) -> None:
        last = int(events["seq"][-1])
        self.published.append(last)
        fs = self.fs
        if isinstance(fs, GatedFiles):
            path, end = self.ends[last]
            self.durable_at_publish.append((last, fs.durable.get(path, 0) >= end))

    def batch(self, n: int) -> None:
        first, last = self.next_seq, self.next_seq + n - 1
        self.commit.write(_batch(first, n), first_seq=first, last_seq=last, flags=0)
        path = max(path for _, path in list_segments(OS_FILES, str(self.data)))
        self.ends[last] = (path, os.path.getsize(path))
        self.next_seq = last + 1
        events = np.zeros(n, L.EVENT_DTYPE)  # stand-ins: the test reads only their seqs
        events["seq"] = np.arange(first, last + 1, dtype=np.uint64)
        self.held.append(last)
        self.commit.hold(events)

    def wait_done(self) -> None:
        readable, _, _ = select.select([self.commit.done_fd], [], [], WAIT_S)
        assert readable, "no sync returned"


def test_events_wait_for_the_sync_of_their_batch(tmp_path: Path) -> None:
    fs = GatedFiles()
    h = Harness(tmp_path, fs)
    try:
        h.batch(3)  # seqs 1..3: written, its sync started and held at the gate
        h.commit.settle()
        assert h.published == [] and h.writer.durable_seq == 0
        h.batch(2)  # 4..5 matched and written while 1..3 syncs: waits for the next sync
        h.commit.settle()
        assert h.published == []
        fs.release()  # the first sync returns: it covers 1..3, not 4..5
        h.wait_done()
        h.commit.settle()
        assert h.published == [3] and h.writer.durable_seq == 3
        fs.release()  # the second one, started by that settle, covers 4..5
        h.wait_done()
        h.commit.settle()
        assert h.published == [3, 5] and h.writer.durable_seq == 5
        assert not h.commit.busy
    finally:
        fs.release(10)
        h.commit.close()
        h.writer.close()
    assert fs.errors == []
    assert all(durable for _, durable in h.durable_at_publish)
    seqs = [seq for batch in JournalReader(tmp_path).batches() for seq, _ in batch]
    assert seqs == [1, 2, 3, 4, 5]


def test_a_failed_sync_publishes_nothing_it_held_and_spends_the_writer(tmp_path: Path) -> None:
    fs = GatedFiles()
    h = Harness(tmp_path, fs)
    try:
        h.batch(1)
        fs.release()
        h.wait_done()
        h.commit.settle()
        assert h.published == [1]
        h.batch(2)  # seqs 2..3, whose sync fails
        fs.fail_next = True
        fs.release()
        h.wait_done()
        with pytest.raises(OSError, match="Input/output error"):
            h.commit.settle()
        assert h.published == [1]
        assert h.writer.failure is not None and "journal sync failed" in h.writer.failure
        assert h.writer.durable_seq == 1
        with pytest.raises(JournalError, match="failed earlier"):
            h.batch(1)
    finally:
        fs.release(10)
        h.commit.close()
        h.writer.close()
    assert h.published == [1]


@settings(max_examples=40, deadline=None)
@given(
    ops=st.lists(
        st.one_of(
            st.tuples(st.just("batch"), st.integers(1, 40)),
            st.tuples(st.just("release"), st.just(0)),
            st.tuples(st.just("settle"), st.just(0)),
        ),
        max_size=40,
    )
)
def test_any_interleaving_publishes_in_order_only_what_is_durable(
    tmp_path_factory: pytest.TempPathFactory, ops: list[tuple[str, int]]
) -> None:
    # Small segments, so that some batches start a new one (which must wait for the
    # sync in flight: the gated file reports a close during a sync).
    data = tmp_path_factory.mktemp("j")
    fs = GatedFiles()
    h = Harness(data, fs, segment_bytes=4096)
    try:
        for op, n in ops:
            if op == "batch":
                # A new segment waits for the sync in flight, then syncs the old file
                # inline: open both gates first (a spare one only lets a later sync by).
                if h.writer.will_start_segment:
                    fs.release(2)
                h.batch(n)
            elif op == "release":
                fs.release()
            else:
                h.commit.settle()
            assert h.published == h.held[: len(h.published)]  # in order, none lost or doubled
        fs.release(len(h.held) + 1)
        h.commit.settle(wait=True)
        assert h.published == h.held
    finally:
        fs.release(1000)
        h.commit.close()
        h.writer.close()
    assert fs.errors == []
    assert all(durable for _, durable in h.durable_at_publish), h.durable_at_publish
    seqs = [seq for batch in JournalReader(data).batches() for seq, _ in batch]
    assert seqs == list(range(1, h.next_seq))


@settings(max_examples=25, deadline=None)
@given(
    ops=st.lists(
        st.one_of(
            st.tuples(st.just("batch"), st.integers(1, 40)),
            st.tuples(st.just("wait"), st.just(0)),
            st.tuples(st.just("settle"), st.just(0)),
        ),
        max_size=30,
    )
)
def test_the_compiled_sync_loop_agrees_with_the_thread(
    tmp_path_factory: pytest.TempPathFactory, ops: list[tuple[str, int]]
) -> None:
    # The same interleaving through both syncers on the real file system: the same
    # batches published in the same order, the same journal. ("wait": block until
    # the sync in flight, if any, has returned, then settle.)
    outcomes = []
    for syncer in ("nogil", "thread"):
        data = tmp_path_factory.mktemp(syncer)
        h = Harness(data, OS_FILES, segment_bytes=4096, syncer=syncer)
        assert h.commit.syncer == {"nogil": "NogilSyncer", "thread": "ThreadSyncer"}[syncer]
        try:
            for op, n in ops:
                if op == "batch":
                    h.batch(n)
                elif op == "wait":
                    if h.commit.busy:
                        h.wait_done()
                    h.commit.settle()
                else:
                    h.commit.settle()
                assert h.published == h.held[: len(h.published)]
                assert not h.published or h.published[-1] <= h.writer.durable_seq
            h.commit.settle(wait=True)
            assert h.published == h.held
        finally:
            h.commit.close()
            h.writer.close()
        journal = [seq for batch in JournalReader(data).batches() for seq, _ in batch]
        outcomes.append((h.published, journal))
    assert outcomes[0] == outcomes[1]


def test_the_compiled_sync_loop_reports_a_failed_sync(tmp_path: Path) -> None:
    # A descriptor that is not open: the loop's fdatasync fails, its errno comes back
    # as the OSError the thread syncer would have raised.
    syncer = NogilSyncer()
    try:
        fd = os.open(tmp_path / "f", os.O_WRONLY | os.O_CREAT)
        os.close(fd)
        target = SyncTarget(_Closed(fd), OS_FILES, str(tmp_path), "f", 0, 0, False)
        syncer.start(target)
        returned, error = syncer.poll(block=True)
        assert returned and isinstance(error, OSError) and error.errno == errno.EBADF
    finally:
        syncer.close()


class _Closed:
    def __init__(self, fd: int) -> None:
        self.fd = fd

    def fileno(self) -> int:
        return self.fd
