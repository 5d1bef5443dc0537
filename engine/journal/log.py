"""The journal: an append-only record of every sequenced input, and its reader.

Every input the core sequences is journalled, rejects included: a rejected NEW
still uses up its order id, so replay must see it to rebuild the same state.
(exchange-core skips commands that cannot mutate state; none of ours is such.)

The contract with the core (DESIGN.md, principle 5)::

    writer.append_records(records, first_seq=a, last_seq=b, flags=f)   # returns: journalled
    ... only now may the acks of these inputs leave the core ...

``append_records`` takes the batch's input records as they go to the kernel
(ringmatch.engine.records.layout: DEFINE and text records included, seqs stamped) and
writes them as one frame with one write, then syncs if
the fsync policy says so (ringmatch.engine.journal.fsync_policy; default: every batch), and only
returns once that is done. Group commit: one write and at most one fsync per
batch, however many inputs it carries. If a write or sync fails the writer is
spent (every later call raises): after a failed fsync the kernel may have
dropped the dirty pages, so the only safe way on is a restart and recovery.
``failure`` then says which operation on which file failed, and how
(``journal write failed: PATH: [Errno 28] No space left on device``).

``append_batch([(seq, input), ...])`` is the same for input Structs (tests and
tools): they become records through the writer's own Directory, read from the
journal's DEFINE records the first time it is needed.

The reader gives each batch as records (``record_batches``: what recovery
feeds the kernel) or as ``(seq, input)`` Structs decoded from them through its
Directory (``batches``, and iterating the reader). Frames of format 1 (msgpack
Structs, ringmatch.engine.journal.v1) are read too, converted to records on the fly.

The bytes on disk are described in ringmatch.engine.journal.format; recovery (replaying
into a kernel, cutting off a torn tail) is ringmatch.engine.core.recovery.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from types import TracebackType
from typing import NamedTuple

import numpy as np

from ringmatch.engine.journal.files import OS_FILES, AppendFile, FileLayer
from ringmatch.engine.journal.format import (
    CORE_INPUTS,
    DEFINES,
    Frame,
    JournalCorrupt,
    JournalError,
    SegmentReader,
    TornTail,
    check_layout,
    encode_frame,
    frame_headers,
    frame_in,
    frame_records,
    scan_segment,
    segment_first_seq,
    segment_name,
)
from ringmatch.engine.journal.fsync_policy import FsyncPolicy
from ringmatch.engine.journal.v1 import Record, decode_v1
from ringmatch.engine.records.inputs import (
    InputPacker,
    copy_records,
    decode_inputs,
    inputs_after,
    learn_defines,
    sequenced_owners,
)
from ringmatch.engine.records.names import Directory
from ringmatch.engine.schema.commands import Input, SkipInput, StageChain

__all__ = [
    "Batch",
    "JournalCorrupt",
    "JournalError",
    "JournalReader",
    "JournalWriter",
    "Record",
    "TornTail",
    "core_inputs",
    "list_segments",
]

SEGMENT_BYTES = 64 << 20
"""A new segment is started once the current one holds this much."""


def list_segments(files: FileLayer, data_dir: str) -> list[tuple[int, str]]:
    """``(first seq, path)`` of every segment in the directory, in seq order."""
    found = []
    for name in files.list_dir(data_dir):
        first = segment_first_seq(name)
        if first is not None:
            found.append((first, os.path.join(data_dir, name)))
    found.sort()
    return found


class Batch(NamedTuple):
    """One journalled batch as records: what the kernel takes."""

    prev_seq: int  # the last seq of the batch before it
    first_seq: int
    last_seq: int
    records: np.ndarray  # INPUT_DTYPE; a read-only view of the segment for format 2
    flags: int  # format.DEFINES, format.CORE_INPUTS
    path: str
    offset: int


class SyncTarget:
    """What one sync covers: the file, its size and last seq when the sync began,
    and whether the directory (a new segment's entry) must be synced too."""

    __slots__ = ("dir", "dir_dirty", "file", "files", "last_seq", "path", "size")

    def __init__(
        self,
        file: AppendFile,
        files: FileLayer,
        directory: str,
        path: str,
        size: int,
        last_seq: int,
        dir_dirty: bool,
    ) -> None:
        self.file = file
        self.files = files
        self.dir = directory
        self.path = path
        self.size = size
        self.last_seq = last_seq
        self.dir_dirty = dir_dirty

    def sync(self) -> None:
        """fdatasync the file (and the directory if a segment was created): may run on
        any thread, touches nothing of the writer's."""
        self.file.sync()
        if self.dir_dirty:
            self.files.sync_dir(self.dir)


class JournalWriter:
    """Appends batches to the journal in ``data_dir``; the single writer.

    Opening an existing journal checks its last segment: a torn tail there
    must first be cut off by recovery (ringmatch.engine.core.recovery.recover), or
    new frames would land after bad bytes and turn a torn tail into damage.
    ``start_after`` is the seq before the first batch, used only when the
    directory holds no journalled batch yet (e.g. a fresh journal after a
    snapshot); the core passes the seq its recovery ended at.

    Seqs need only increase (a shared Redis ID space leaves gaps). One case
    needs care: a crash right after a segment file was created, before its
    first frame landed, leaves an empty last segment named for a seq that was
    never journalled. The writer carries on in that file (its name is still
    above everything before it) as long as the next seq is at least its name;
    ``seq_floor`` tells the core's allocator where to start so that it is.
    """

    __slots__ = (
        "_clock",
        "_dir",
        "_dir_dirty",
        "_doing",
        "_failed",
        "_file",
        "_files",
        "_interval_ns",
        "_last_sync_ns",
        "_packer",
        "_path",
        "_segment_bytes",
        "_segment_name_seq",
        "_size",
        "_synced",
        "durable_seq",
        "last_seq",
        "policy",
    )

    def __init__(
        self,
        data_dir: str | os.PathLike[str],
        *,
        fsync: FsyncPolicy = FsyncPolicy.every_batch(),  # noqa: B008 (frozen, immutable)
        segment_bytes: int = SEGMENT_BYTES,
        files: FileLayer = OS_FILES,
        clock: Callable[[], int] = time.monotonic_ns,
        start_after: int = 0,
    ) -> None:
        self._dir = os.fspath(data_dir)
        self._files = files
        self._clock = clock
        self._segment_bytes = segment_bytes
        self._packer: InputPacker | None = None  # append_batch's, made when first needed
        self.policy = fsync
        self._interval_ns = fsync.interval_ns
        self._failed: str | None = None
        self._doing = ("open", self._dir)  # the operation under way and its file, for failure
        self._file: AppendFile | None = None
        self._path = ""  # the current segment's
        self._size = 0  # bytes in the current segment
        self._synced = 0  # of which known to be on stable storage
        self._segment_name_seq = 0  # the seq the current segment is named for
        self._dir_dirty = False  # a segment was created and the directory not synced since
        files.make_dir(self._dir)
        segments = list_segments(files, self._dir)
        self.last_seq = start_after
        """The last seq journalled: every batch's seqs must be above it."""
        if segments:
            self.last_seq = self._reopen(segments, start_after)
        self.durable_seq = self.last_seq
        """The last seq known to be on stable storage (== last_seq after each sync)."""
        self._last_sync_ns = clock()

    @property
    def files(self) -> FileLayer:
        """The file layer the writer goes through."""
        return self._files

    @property
    def failure(self) -> str | None:
        """Why the writer is spent: what failed, on which file, how (or "closed");
        None while it works."""
        return self._failed

    def _fail(self, exc: BaseException) -> None:
        what, path = self._doing
        self._failed = f"journal {what} failed: {path}: {exc}"

    @property
    def seq_floor(self) -> int:
        """The seq the next batch must start above (see the class docstring)."""
        if self._size == 0 and self._file is not None:
            return max(self.last_seq, self._segment_name_seq - 1)
        return self.last_seq

    def _reopen(self, segments: list[tuple[int, str]], start_after: int) -> int:
        first_seq, path = segments[-1]
        data = self._files.read(path)
        frames, torn = scan_segment(data, path, last=True)
        if torn is not None:
            raise JournalError(
                f"{torn.path}: offset {torn.offset}: the journal has a torn tail that "
                "recovery has not cut off; run recover() before opening the writer"
            )
        self._file = self._files.open_append(path)
        self._path = path
        # What is there may still be only in the page cache (a process crash under
        # a lax policy): sync it so that new frames can rightly call it synced.
        self._file.sync()
        self._size = self._synced = len(data)
        self._segment_name_seq = first_seq
        if frames:
            return _last_seq_of(frames[-1], path)
        if len(segments) == 1:
            return start_after
        # An empty last segment: the last seq is the previous segment's (closed, synced).
        prev_path = segments[-2][1]
        prev_frames, _ = scan_segment(self._files.read(prev_path), prev_path, last=False)
        if not prev_frames:
            raise JournalCorrupt(prev_path, 0, "a closed segment without a single batch")
        return _last_seq_of(prev_frames[-1], prev_path)

    def append_records(
        self,
        records: np.ndarray,
        *,
        first_seq: int,
        last_seq: int,
        flags: int = 0,
        sync: bool = True,
    ) -> None:
        """Journal ``records`` (one batch of INPUT_DTYPE records, the inputs' seqs
        stamped, from ``first_seq`` to ``last_seq``, above ``last_seq`` of the writer)
        as one frame; ``flags``: what the batch holds (format.DEFINES, CORE_INPUTS).

        Returns once the batch is written and, if the policy says so, synced:
        only then may the acknowledgements of these inputs leave the core.
        ``sync=False``: written only; the caller syncs (a GroupCommit, on its thread,
        through ``sync_target`` and ``mark_synced``) before any ack leaves.
        """
        if self._failed is not None:
            raise JournalError(f"the journal in {self._dir} failed earlier: {self._failed}")
        if not len(records):
            return
        _, seqs = sequenced_owners(records)
        if not len(seqs) or int(seqs[0]) != first_seq or int(seqs[-1]) != last_seq:
            raise ValueError(
                f"the batch's records hold seqs {seqs[:1].tolist()}..{seqs[-1:].tolist()}, "
                f"not {first_seq}..{last_seq}"
            )
        if first_seq <= self.last_seq or (len(seqs) > 1 and not (seqs[1:] > seqs[:-1]).all()):
            raise ValueError(
                f"the batch's seqs ({first_seq}..{last_seq}) are not strictly increasing "
                f"above seq {self.last_seq}"
            )
        self._write(records, first_seq, last_seq, flags, sync)

    def append_batch(self, records: Sequence[Record]) -> None:
        """Journal ``(seq, input)`` Structs (seqs strictly increasing, above ``last_seq``)
        as one frame of records, through the writer's Directory (tests and tools)."""
        if self._failed is not None:
            raise JournalError(f"the journal in {self._dir} failed earlier: {self._failed}")
        if not records:
            return
        prev = self.last_seq
        for i, record in enumerate(records):
            if record[0] <= prev:
                raise ValueError(
                    f"record {i} of the batch has seq {record[0]}, not above seq {prev}"
                )
            prev = record[0]
        packer = self._packer
        if packer is None:
            reader = JournalReader(self._dir, files=self._files)
            for _ in reader.record_batches():
                pass
            packer = self._packer = InputPacker(reader.directory)
        packer.start()
        for seq, inp in records:
            packer.add(inp, seq)
        self._write(packer.records(), records[0][0], records[-1][0], packer.flags)

    def _write(
        self, records: np.ndarray, first: int, last: int, flags: int, sync: bool = True
    ) -> None:
        if self._file is not None and self._size == 0 and first < self._segment_name_seq:
            raise ValueError(
                f"the batch starts at seq {first}, below {self._segment_name_seq}, the name "
                f"of the empty segment it would go into (start the sequence after seq_floor)"
            )
        try:
            if self.will_start_segment:
                self._start_segment(first)
            assert self._file is not None
            frame = encode_frame(
                records,
                synced_upto=self._synced,
                prev_seq=self.last_seq,
                first_seq=first,
                last_seq=last,
                flags=flags,
            )
            self._doing = ("write", self._path)
            self._file.write(frame)
            self._size += len(frame)
            self.last_seq = last
            interval = self._interval_ns
            if not sync:
                pass
            elif interval == 0 or (
                interval is not None and self._clock() - self._last_sync_ns >= interval
            ):
                self._sync()
        except BaseException as exc:
            self._fail(exc)
            raise

    def sync_if_due(self) -> None:
        """For the core's idle path: sync what a timed policy has left unsynced."""
        if (
            self._failed is None
            and self._size > self._synced
            and self.policy.due(self._clock(), self._last_sync_ns)
        ):
            self.sync()

    def sync(self) -> None:
        """Sync now, whatever the policy."""
        if self._failed is not None:
            raise JournalError(f"the journal in {self._dir} failed earlier: {self._failed}")
        if self._file is None:
            return
        try:
            self._sync()
        except BaseException as exc:
            self._fail(exc)
            raise

    # -- a sync done elsewhere (GroupCommit's thread): what to sync, and its outcome ----

    @property
    def will_start_segment(self) -> bool:
        """Whether the next batch starts a new segment (which syncs and closes the
        current file on this thread: no other sync may be in flight on it then)."""
        return self._file is None or self._size >= self._segment_bytes

    def sync_target(self) -> SyncTarget:
        """Everything written so far, to be synced on another thread; the writer
        takes no other call that touches the file's descriptor until it returns
        except further appends (``will_start_segment`` false)."""
        if self._failed is not None:
            raise JournalError(f"the journal in {self._dir} failed earlier: {self._failed}")
        assert self._file is not None
        return SyncTarget(
            self._file, self._files, self._dir, self._path, self._size, self.last_seq,
            self._dir_dirty,
        )  # fmt: skip

    def mark_synced(self, target: SyncTarget) -> None:
        """``target``'s sync returned: what it covered is on stable storage."""
        if target.path != self._path:
            raise ValueError(f"a sync of {target.path} returned after the writer moved on")
        self._synced = max(self._synced, target.size)
        self.durable_seq = max(self.durable_seq, target.last_seq)
        if target.dir_dirty:
            self._dir_dirty = False
        self._last_sync_ns = self._clock()

    def sync_failed(self, exc: BaseException) -> None:
        """A sync of ``sync_target`` raised: the writer is spent, as after its own."""
        self._doing = ("sync", self._path)
        self._fail(exc)

    def _sync(self) -> None:
        assert self._file is not None
        self._doing = ("sync", self._path)
        self._file.sync()
        if self._dir_dirty:
            # a new segment's name is durable only once its directory is synced
            self._doing = ("directory sync", self._dir)
            self._files.sync_dir(self._dir)
            self._dir_dirty = False
        self._synced = self._size
        self.durable_seq = self.last_seq
        self._last_sync_ns = self._clock()

    def _start_segment(self, first_seq: int) -> None:
        if self._file is not None:
            # A closed segment is synced whole, whatever the policy (once per
            # segment), so the reader can treat any bad frame in it as damage.
            self._sync()
            self._file.close()
        path = os.path.join(self._dir, segment_name(first_seq))
        self._doing = ("create", path)
        self._file = self._files.open_append(path)
        self._path = path
        self._size = self._synced = 0
        self._segment_name_seq = first_seq
        self._dir_dirty = True

    def close(self) -> None:
        """Sync (a clean stop loses nothing, whatever the policy) and close."""
        if self._file is None:
            return
        try:
            if self._failed is None:
                self._sync()
        except BaseException as exc:
            self._fail(exc)
            raise
        finally:
            self._file.close()
            self._file = None
            self._failed = self._failed or "closed"

    def __enter__(self) -> JournalWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class JournalReader:
    """Reads the journal in ``data_dir`` back, in seq order, never changing it.

    ``after_seq`` is the seam for snapshots: inputs up to it are skipped (and
    whole segments before it are not even read); the journal must hold every
    batch after it (the first batch given must follow a seq at or before
    ``after_seq``). ``directory`` is the names as of ``after_seq`` (a
    snapshot's); without one the reader learns the names of the batches it
    steps over. It learns every DEFINE it reads, so ``directory`` is the
    journal's names as far as it has read. ``preread``: segments' bytes read
    already (by path: a look-ahead's), each used once. After iterating, ``last_seq`` is
    the last seq in the journal (or ``after_seq``) and ``torn_tail`` the bytes
    after the last whole frame that no later frame vouches for, if any
    (recovery cuts them off). A damaged or inconsistent journal raises
    JournalCorrupt naming the file and offset: no input is ever skipped silently.
    """

    def __init__(
        self,
        data_dir: str | os.PathLike[str],
        *,
        files: FileLayer = OS_FILES,
        after_seq: int = 0,
        directory: Directory | None = None,
        preread: dict[str, bytes] | None = None,
    ) -> None:
        self._dir = os.fspath(data_dir)
        self._files = files
        # Segments a look-ahead read already (core_inputs' ``keep``): taken once each.
        self._preread = {} if preread is None else preread
        self.after_seq = after_seq
        self.last_seq = after_seq
        self.torn_tail: TornTail | None = None
        self._learn_skipped = directory is None
        self.directory = Directory() if directory is None else directory
        self._packer = InputPacker(self.directory)  # format-1 inputs -> records

    def __iter__(self) -> Iterator[Record]:
        for batch in self.batches():
            yield from batch

    def batches(self) -> Iterator[list[Record]]:
        """One list of ``(seq, input)`` per journalled batch, decoded from its records."""
        after = self.after_seq
        for batch in self.record_batches():
            records = decode_inputs(batch.records, self.directory)
            if batch.first_seq <= after:
                records = [r for r in records if r[0] > after]
            yield records

    def record_batches(self) -> Iterator[Batch]:
        """Every journalled batch after ``after_seq``, as records (a batch that straddles
        it loses its inputs up to it)."""
        after = self.after_seq
        segments = list_segments(self._files, self._dir)
        # A segment's name is above every seq before it, so a segment whose successor
        # is named at or before after + 1 holds only seqs <= after: skip it unread,
        # unless its names must be learnt.
        start = 0
        if not self._learn_skipped:
            for i in range(len(segments) - 1):
                if segments[i + 1][0] <= after + 1:
                    start = i + 1
        prev: int | None = None  # the last seq read from the journal
        for i in range(start, len(segments)):
            name_seq, path = segments[i]
            data = self._preread.pop(path, None)
            if data is None:
                data = self._files.read(path)
            frames, torn = scan_segment(data, path, last=i == len(segments) - 1)
            if prev is not None and name_seq <= prev:
                raise JournalCorrupt(
                    path, 0, f"segment named for seq {name_seq} follows seq {prev}"
                )
            for n, frame in enumerate(frames):
                before, lo, hi, v1 = self._seqs(frame, path)
                if n == 0 and lo < name_seq:
                    raise JournalCorrupt(
                        path, frame.offset, f"segment named for seq {name_seq} starts at {lo}"
                    )
                if prev is None and before > after:
                    raise JournalCorrupt(
                        path,
                        frame.offset,
                        f"starts at seq {lo}: seqs {after + 1}.. are missing "
                        f"(its batch follows seq {before})",
                    )
                if prev is not None and before != prev:
                    raise JournalCorrupt(
                        path,
                        frame.offset,
                        f"seq {lo} follows seq {prev}, but its batch says the one before "
                        f"ended at seq {before}: journalled batches are missing",
                    )
                prev = hi
                if hi <= after:
                    if self._learn_skipped:
                        self._learn(frame, path, v1)
                    continue
                records = self._records(frame, path, v1)
                if lo <= after:
                    records = inputs_after(records, after)
                self.last_seq = hi
                yield Batch(before, lo, hi, records, frame.flags, path, frame.offset)
            self.torn_tail = torn
        if prev is not None and prev < after:
            raise JournalError(
                f"the journal in {self._dir} ends at seq {prev}, before the starting point "
                f"{after}: journalled inputs are missing"
            )

    def _seqs(self, frame: Frame, path: str) -> tuple[int, int, int, list[Record] | None]:
        """(prev_seq, first seq, last seq) of a frame, and a format-1 frame's inputs."""
        if frame.version == 2:
            check_layout(frame, path)
            before, lo, hi = frame.prev_seq, frame.first_seq, frame.last_seq
            if not before < lo <= hi:
                raise JournalCorrupt(
                    path, frame.offset, f"batch of seqs {lo}..{hi} after seq {before}"
                )
            return before, lo, hi, None
        before, inputs = decode_v1(frame.body, path, frame.offset)
        last = before
        for seq, _ in inputs:
            if seq <= last:
                raise JournalCorrupt(path, frame.offset, f"seq {seq} follows seq {last} in a batch")
            last = seq
        return before, inputs[0][0], inputs[-1][0], inputs

    def _records(self, frame: Frame, path: str, v1: list[Record] | None) -> np.ndarray:
        if v1 is None:
            records = frame_records(frame, path)
            if frame.flags & DEFINES:
                learn_defines(records, self.directory)
            return records
        packer = self._packer
        packer.start()
        for seq, inp in v1:
            try:
                packer.add(inp, seq)
            except (OverflowError, ValueError) as exc:  # struct.error is a ValueError
                raise JournalError(
                    f"{path}: offset {frame.offset}: seq {seq}: {inp!r} has a value no input "
                    f"record can hold ({exc}): this journal cannot be read as records"
                ) from exc
        return copy_records(packer.records())

    def _learn(self, frame: Frame, path: str, v1: list[Record] | None) -> None:
        """Take the names of a batch that is stepped over."""
        if v1 is not None or frame.flags & DEFINES:
            self._records(frame, path, v1)


def core_inputs(
    data_dir: str | os.PathLike[str],
    *,
    files: FileLayer = OS_FILES,
    keep: dict[str, bytes] | None = None,
) -> Iterator[tuple[int, StageChain | SkipInput]]:
    """Every StageChain and SkipInput in the journal's whole batches, with its seq.

    A quick look-ahead for rare inputs (ringmatch.engine.core.recovery): a
    format-2 frame says in its header whether it holds one, and only those
    are decoded; a format-1 frame is decoded only if its bytes hold one's
    msgpack tag. In a closed segment only the frame headers are read, and the
    frames that hold one (a layer without ``open_segment`` reads it whole); the
    last segment is read and checked whole, so that its frames are taken as the
    reader takes them (a torn tail's are not). Consistency is the reader's to
    check, not this. ``keep``: the bytes of the segments read whole go there, by
    path, for a reader to take instead of reading them again.
    """
    segments = list_segments(files, os.fspath(data_dir))
    open_segment = getattr(files, "open_segment", None)
    for i, (_, path) in enumerate(segments):
        if open_segment is not None and i < len(segments) - 1:
            found = _core_frames_of_closed(open_segment(path), path)
        else:
            data = files.read(path)
            if keep is not None:
                keep[path] = data
            frames, _ = scan_segment(data, path, last=i == len(segments) - 1)
            found = (f for f in frames if _may_hold_core_inputs(f))
        for frame in found:
            yield from _core_inputs_of(frame, path)


_V1_TAGS = (b"\xaaskip_input", b"\xabstage_chain")


def _may_hold_core_inputs(frame: Frame) -> bool:
    if frame.version == 2:
        return bool(frame.flags & CORE_INPUTS)
    body = bytes(frame.body)
    return any(tag in body for tag in _V1_TAGS)


def _core_frames_of_closed(segment: SegmentReader, path: str) -> Iterator[Frame]:
    """The frames of a closed segment that hold core inputs, by a walk of its headers."""
    try:
        for offset, end, version, flags in frame_headers(segment):
            if version == 2 and not flags & CORE_INPUTS:
                continue
            frame = frame_in(segment.read_at(offset, end - offset), path, offset)
            if _may_hold_core_inputs(frame):
                yield frame._replace(offset=offset, end=end)
    finally:
        segment.close()


def _core_inputs_of(frame: Frame, path: str) -> Iterator[tuple[int, StageChain | SkipInput]]:
    if frame.version == 2:
        found: list[tuple[int, Input]] = decode_inputs(frame_records(frame, path), Directory())
    else:
        found = decode_v1(frame.body, path, frame.offset)[1]
    for seq, inp in found:
        if type(inp) is StageChain or type(inp) is SkipInput:
            yield seq, inp


def _last_seq_of(frame: Frame, path: str) -> int:
    if frame.version == 2:
        return frame.last_seq
    return decode_v1(frame.body, path, frame.offset)[1][-1][0]
