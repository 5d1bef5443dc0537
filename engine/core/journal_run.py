"""A kernel fed from the journal: where recovery and every reader of the journal start.

    run = start_run(data_dir, resolve=resolve)          # newest snapshot, or the start
    for inputs, events in run.batches(upto_seq=N):      # record arrays, per journal batch
        ...
    run.kernel.last_seq, run.directory                  # where it got to, the names

Every reader rebuilds what the live core ran, so each makes the kernel the
core makes (``kernel_for``): when the journal names a stage anywhere (or the
core is configured with one), the compiled kernel running its own pre-trade
stage (engine.core.staged_kernel) if every stage named is one it can run
(PreTradeRisk, ``"risk"``) and it was built (not RINGMATCH_PURE=1); else the
reference kernel, running the stage the journal names. With no stage named,
``new_kernel()``: the compiled kernel where it was built. A snapshot of
another kind of kernel is passed over (kernel_format), with a warning.

The journal's input records go to the kernel as they are, a batch at a time
(``process_into`` into one reused event buffer), except the inputs at the
seqs the journal's SkipInputs name, looked ahead for before the first batch
(``look_ahead``): each becomes a SKIP_INPUT naming no seq, which uses up its
seq and changes nothing, and its text records become kind 0, which the
kernel passes over.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Collection, Iterator
from typing import NamedTuple

import numpy as np

from ringmatch.engine import build_info
from ringmatch.engine.core import kernel_snapshot
from ringmatch.engine.core.kernel_choice import compiled_module, new_kernel
from ringmatch.engine.core.pretrade_hook import StageResolver, no_stages
from ringmatch.engine.core.reference_kernel import RecordFailed, ReferenceKernel
from ringmatch.engine.core.staged_kernel import (
    StagedKernel,
    compiled_limits_of,
    log_ignored_controls,
)
from ringmatch.engine.journal.files import OS_FILES, FileLayer
from ringmatch.engine.journal.log import JournalCorrupt, JournalReader, TornTail, core_inputs
from ringmatch.engine.kernel.api import Kernel
from ringmatch.engine.kernel.event_buffer import EventBufferTooSmall
from ringmatch.engine.records import layout as L
from ringmatch.engine.records.inputs import copy_records, inputs_upto, owners
from ringmatch.engine.records.names import Directory
from ringmatch.engine.schema.commands import SkipInput, StageChain
from ringmatch.engine.schema.views import BookOrder

EVENT_BUFFER = 1 << 16
"""Event records per ``process_into`` call: a batch's events drain through it in turns."""

KernelFactory = Callable[[], Kernel]


class _Ahead(NamedTuple):
    stage_named: bool  # a StageChain somewhere names a stage
    skipped: frozenset[int]  # the seqs SkipInputs name


class LookAhead(_Ahead):
    """(stage_named, skipped), and ``specs``: every stage spec a StageChain names (which
    kernel can run them: kernel_for). Still the pair its readers compare it with."""

    specs: frozenset[str]

    def __new__(
        cls, stage_named: bool, skipped: frozenset[int], specs: frozenset[str] = frozenset()
    ) -> LookAhead:
        ahead = super().__new__(cls, stage_named, skipped)
        ahead.specs = specs
        return ahead


def look_ahead(
    data_dir: str | os.PathLike[str],
    *,
    files: FileLayer = OS_FILES,
    keep: dict[str, bytes] | None = None,
) -> LookAhead:
    """What a replay must know before its first batch: whether the journal ever names a
    stage, and which seqs it skips (a SkipInput is journalled after the seq it names).
    A walk of the closed segments' frame headers and a read of the last segment;
    only the frames that hold one are decoded. ``keep`` gets the bytes it read
    whole (the last segment), for the replay's reader not to read them again."""
    specs: set[str] = set()
    skipped: set[int] = set()
    try:
        for _, inp in core_inputs(data_dir, files=files, keep=keep):
            if type(inp) is StageChain:
                if inp.pretrade is not None:
                    specs.add(inp.pretrade)
            elif type(inp) is SkipInput:
                skipped.add(inp.seq)
    except FileNotFoundError:
        pass  # no data directory yet: nothing journalled
    return LookAhead(bool(specs), frozenset(skipped), frozenset(specs))


def kernel_for(
    stage: bool, resolve: StageResolver = no_stages, specs: Collection[str] = ()
) -> KernelFactory:
    """How the core and every reader make their kernel: with a stage named (journalled
    or configured: ``specs``, every one named), the compiled kernel with its stage if it
    can run them all (``staged_factory``), else the reference kernel running them;
    with none, new_kernel()."""
    if stage:
        staged = staged_factory(specs, resolve)
        if staged is not None:
            return staged
        return lambda: ReferenceKernel(resolve=resolve)
    compiled = compiled_module()
    if compiled is not None and not hasattr(compiled.Kernel, "dump"):
        # The core snapshots its kernel: a compiled build without dump() (an older
        # one) cannot be the core's, so the reference runs instead.
        return ReferenceKernel
    return new_kernel


def staged_factory(specs: Collection[str], resolve: StageResolver) -> KernelFactory | None:
    """The compiled kernel running its own stage, if it was built (and RINGMATCH_PURE is
    not set) and every spec in ``specs`` (not empty) names a stage it can run."""
    if not specs or build_info.wants_pure():
        return None
    compiled = compiled_module()
    if compiled is None or not hasattr(compiled.Kernel, "process_unstaged"):
        return None  # not built, or built before the stage could be snapshotted
    if any(compiled_limits_of(spec, resolve) is None for spec in specs):
        return None
    return lambda: StagedKernel(compiled, resolve)


def kernel_name(kernel: Kernel) -> str:
    """Which kernel runs, for the core's log: compiled or reference, with which stage."""
    if isinstance(kernel, StagedKernel):
        if kernel.chain is None:  # the configured StageChain is held for the first batch
            return "compiled, with its risk stage (on from the StageChain journalled next)"
        return f"compiled, with its risk stage {kernel.chain!r} on"
    if isinstance(kernel, ReferenceKernel):
        return "reference (pure Python)"
    return "compiled, no pre-trade stage"


def kernel_format(kernel: Kernel) -> bytes:
    """Which kernel's dumps ``kernel`` takes: the first 4 bytes of its own."""
    return kernel.dump()[:4]


class JournalRun:
    """A kernel, the names its records use, the seqs the journal skips; fed from the journal."""

    __slots__ = (
        "_events",
        "data_dir",
        "directory",
        "files",
        "kernel",
        "preread",
        "skipped",
        "torn_tail",
    )

    def __init__(
        self,
        kernel: Kernel,
        directory: Directory,
        data_dir: str | os.PathLike[str],
        *,
        files: FileLayer = OS_FILES,
        skipped: frozenset[int] = frozenset(),
    ) -> None:
        self.kernel = kernel
        self.directory = directory
        if isinstance(kernel, StagedKernel):
            kernel.directory = directory  # its limits name what this directory names
        self.data_dir = os.fspath(data_dir)
        self.files = files
        self.skipped = skipped
        self.torn_tail: TornTail | None = None
        self.preread: dict[str, bytes] = {}  # the look-ahead's segments, for the first read
        self._events = np.zeros(EVENT_BUFFER, L.EVENT_DTYPE)

    @property
    def last_seq(self) -> int:
        return self.kernel.last_seq

    def batches(
        self,
        upto_seq: int | None = None,
        before: Callable[[np.ndarray], object] | None = None,
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(input records, their event records) of every journalled batch after the
        kernel's last seq, up to ``upto_seq`` (None: as far as the journal is written);
        ``before(records)`` is called before each batch runs (a replay's pacing).
        The event array is reused: copy what is kept. Afterwards ``torn_tail`` is the
        journal's, if any (left in place: recovery cuts it)."""
        reader = self.reader()
        for batch in reader.record_batches():
            records = batch.records
            if upto_seq is not None:
                if batch.first_seq > upto_seq:
                    break
                if batch.last_seq > upto_seq:
                    records = inputs_upto(records, upto_seq)
            if self.skipped and any(batch.first_seq <= s <= batch.last_seq for s in self.skipped):
                records = neutralize(records, self.skipped)
            if before is not None:
                before(records)
            try:
                events = self.process(records)
            except ValueError as exc:
                if isinstance(exc, JournalCorrupt):
                    raise
                why = f"the kernel refused the batch: {exc}"
                raise JournalCorrupt(batch.path, batch.offset, why) from exc
            yield records, events
        self.torn_tail = reader.torn_tail

    def feed(self, upto_seq: int | None = None) -> int:
        """Run every journalled batch (up to ``upto_seq``), dropping the events: the last seq."""
        for _ in self.batches(upto_seq):
            pass
        return self.kernel.last_seq

    def reader(self) -> JournalReader:
        preread, self.preread = self.preread, {}
        return JournalReader(
            self.data_dir,
            files=self.files,
            after_seq=self.kernel.last_seq,
            directory=self.directory,
            preread=preread,
        )

    def process(self, records: np.ndarray) -> np.ndarray:
        """The events of ``records``, through the reused buffer (one array when they fit).

        An input that raises (RecordFailed) carries ``events_before``: the events of the
        inputs before it."""
        if not isinstance(self.kernel, ReferenceKernel | StagedKernel):  # theirs: per stage
            log_ignored_controls(records, self.directory)
        parts: list[np.ndarray] = []
        done = 0
        try:
            done, n = self._into(records)
            if done == len(records):
                return self._events[:n]
            parts.append(self._events[:n].copy())
            while done < len(records):
                more, n = self._into(records[done:])
                done += more
                parts.append(self._events[:n].copy())
        except RecordFailed as failed:
            failed.events_before = L.join_records(
                [*parts, self._events[: failed.written]], L.EVENT_DTYPE
            )
            raise
        return L.join_records(parts, L.EVENT_DTYPE)

    def _into(self, records: np.ndarray) -> tuple[int, int]:
        try:
            return self.kernel.process_into(records, self._events)
        except EventBufferTooSmall as small:  # one input with more events than the buffer
            self._events = np.zeros(max(small.need, 2 * len(self._events)), L.EVENT_DTYPE)
            return self.kernel.process_into(records, self._events)


def neutralize(records: np.ndarray, skipped: frozenset[int]) -> np.ndarray:
    """A copy of ``records`` where each input at a seq in ``skipped`` uses its seq and
    does nothing: a SKIP_INPUT naming no seq; its text records become kind 0."""
    out = copy_records(records)
    own = owners(out).tolist()
    ends = [*own[1:], len(out)]
    raw = out.view(np.uint8).reshape(len(out), L.INPUT_SIZE)
    for i, end in zip(own, ends, strict=True):
        kind = int(out[i]["kind"])
        if L.NEW <= kind <= L.SKIP_INPUT and int(out[i]["seq"]) in skipped:
            seq, ts = int(out[i]["seq"]), int(out[i]["ts_ns"])
            raw[i:end] = 0
            out[i]["kind"] = L.SKIP_INPUT
            out[i]["seq"] = seq
            out[i]["ts_ns"] = ts
    return out


def start_run(
    data_dir: str | os.PathLike[str],
    *,
    files: FileLayer = OS_FILES,
    resolve: StageResolver = no_stages,
    configured: str | None = None,
    snapshot: bool = True,
    upto: int | None = None,
    make: KernelFactory | None = None,
) -> JournalRun:
    """Where a replay of the journal starts: the newest valid snapshot its kernel can
    load (if ``snapshot``, and at or before ``upto`` when given), else the journal's
    start; with the seqs the journal skips after it. ``configured``: the live
    core's stage spec (a stage there makes the reference kernel run, as a journalled
    one does). ``make``: a kernel of the caller's instead."""
    preread: dict[str, bytes] = {}
    ahead = look_ahead(data_dir, files=files, keep=preread)
    if make is None:
        specs = ahead.specs if configured is None else ahead.specs | {configured}
        make = kernel_for(bool(specs), resolve, specs)
    kernel, directory = make(), Directory()
    if snapshot and os.path.isdir(data_dir):
        kernel, directory = _load_newest(data_dir, make, upto)
    after = kernel.last_seq
    skipped = frozenset(s for s in ahead.skipped if s > after)
    run = JournalRun(kernel, directory, data_dir, files=files, skipped=skipped)
    run.preread = preread
    return run


def _load_newest(
    data_dir: str | os.PathLike[str], make: KernelFactory, upto: int | None
) -> tuple[Kernel, Directory]:
    """A kernel loaded from the newest snapshot it can take, and its directory (a fresh
    kernel and an empty directory if there is none)."""
    kernel = make()
    wanted = kernel_format(kernel)
    for snap in kernel_snapshot.snapshots(data_dir):
        if upto is not None and snap.last_seq > upto:
            continue
        if snap.kernel_format != wanted:
            warnings.warn(
                kernel_snapshot.SnapshotDamaged(
                    f"{snap.path}: a snapshot of another kernel ({snap.kernel_format!r}, this "
                    f"one takes {wanted!r}); trying an older one"
                ),
                stacklevel=3,
            )
            continue
        try:
            kernel.load(snap.dump)
        except ValueError as exc:
            warnings.warn(
                kernel_snapshot.SnapshotDamaged(f"{snap.path}: {exc}; trying an older one"),
                stacklevel=3,
            )
            kernel = make()  # whatever the failed load did, start the next try afresh
            continue
        return kernel, snap.directory
    return kernel, Directory()


class KernelBooks:
    """A kernel's books by symbol name, as the engine's L3 views (for the readers that
    write or load books: ``symbols()`` and ``l3(symbol)`` as MatchingEngine has them)."""

    __slots__ = ("directory", "kernel")

    def __init__(self, kernel: Kernel, directory: Directory) -> None:
        self.kernel = kernel
        self.directory = directory

    def symbols(self) -> list[str]:
        return sorted(self.directory.symbols.names())

    def l3(self, symbol: str) -> list[BookOrder]:
        ident = self.directory.symbols.get(symbol)
        if not ident:
            return []
        account = self.directory.accounts.name
        return [
            BookOrder(symbol, L.SIDE_OF[side], price, oid, account(a), qty)
            for side, a, price, oid, qty, _client, _cum in self.kernel.l3(ident).tolist()
        ]


def write_snapshot(data_dir: str | os.PathLike[str], kernel: Kernel, directory: Directory) -> str:
    """Snapshot ``kernel`` (its dump) and ``directory`` durably; the path."""
    return str(kernel_snapshot.write(data_dir, kernel.last_seq, kernel.dump(), directory))
