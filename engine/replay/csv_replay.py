"""``ringmatch replay FILE``: run an order CSV through the engine.

The file is read straight into input records (ringmatch.engine.replay.order_records)
in batches that go to the kernel (``process_into``, compiled where it was built);
each batch's trades and events are written out, from its event records, before
the next batch is read, so memory stays flat however big the file. The final
book is written at the end, then a summary on stderr.

A file error (see ringmatch.engine.replay.order_csv) stops the replay with status 2, after the
rows before it have run and every output has been written for them; with
``--skip-bad`` the row is reported and skipped, and a replay that skipped any
ends with status 1 (EXIT_ROWS_SKIPPED), saying how many. Business rejects are events.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from os.path import isdir
from typing import BinaryIO, TextIO

import numpy as np

from ringmatch.engine.core.kernel_choice import new_kernel
from ringmatch.engine.replay.kernel_feed import EventCounts, KernelFeed
from ringmatch.engine.replay.order_csv import OrderFileError
from ringmatch.engine.replay.order_records import RecordReader, open_record_reader
from ringmatch.engine.replay.outputs import EventLinesWriter, TradeWriter, write_kernel_book
from ringmatch.engine.replay.pacing import Pacer
from ringmatch.engine.replay.progress_bar import ReplayProgress
from ringmatch.engine.replay.record_outputs import RecordWriters
from ringmatch.engine.replay.summary import ReplaySummary
from ringmatch.engine.schema.commands import Command
from ringmatch.engine.schema.enums import RejectReason
from ringmatch.engine.schema.events import Event, Rejected, Trade

BATCH_SIZE = 65_536
"""Rows per batch of records: big enough that the kernel's per-call work is amortised,
small enough (4 MiB of records) to stay in cache."""

EXIT_OK = 0
EXIT_ROWS_SKIPPED = 1
"""Done, but ``--skip-bad`` left rows out: the outputs are not the whole file's."""
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


@dataclass
class ReplayStats:
    """What a replay did, for the summary."""

    commands: int = 0
    rejected: Counter[RejectReason] = field(default_factory=Counter)
    trades: int = 0


def record(
    events: list[Event],
    commands: int,
    stats: ReplayStats,
    trades_out: TradeWriter | None,
    events_out: EventLinesWriter | None,
) -> None:
    """Count one batch's ``commands`` and ``events`` and write them to the outputs."""
    stats.commands += commands
    rejected = stats.rejected
    trades: list[Trade] = []
    for event in events:
        # `type() is`, not isinstance(): exact types, and faster on this per-event path
        if type(event) is Trade:
            trades.append(event)
        elif type(event) is Rejected:
            rejected[event.reason] += 1
    stats.trades += len(trades)
    if trades_out is not None:
        trades_out.write(trades)
    if events_out is not None:
        events_out.write(events)


def paced(batches: Iterable[list[Command]], pacer: Pacer) -> Iterator[list[Command]]:
    """One command at a time, each held back until its ts_ns is due."""
    for batch in batches:
        for command in batch:
            pacer.wait_until(command.ts_ns)
            yield [command]


def paced_records(batches: Iterable[np.ndarray], pacer: Pacer) -> Iterator[np.ndarray]:
    """Batches of one row each (reader.batches(1)), each held back until its input's
    ts_ns is due: the input is the batch's last record, after the DEFINEs it needs."""
    for batch in batches:
        pacer.wait_until(int(batch["ts_ns"][-1]))
        yield batch


def replay_records(
    reader: RecordReader,
    batches: Iterable[np.ndarray],
    feed: KernelFeed,
    stats: ReplayStats,
    outputs: RecordWriters | None = None,
    progress: Callable[[int], None] | None = None,
) -> None:
    """Feed every batch of records to the kernel, counting and writing what it emits:
    the counts vectorised over the event records, the outputs written from them;
    ``progress(rows read)`` after each batch."""
    counts = EventCounts(stats.rejected)
    try:
        for batch in batches:
            for events in feed.run(batch):
                counts.add(events)
                if outputs is not None:
                    outputs.write(events)
            stats.commands = reader.commands
            if progress is not None:
                progress(reader.rows)
    finally:  # what ran before a file error is counted
        stats.trades += counts.trades


def run(args: argparse.Namespace) -> int:
    """Replay ``args.file``; the exit status (0 done, 1 bad rows skipped, 2 bad input,
    130 interrupted)."""
    started = time.perf_counter()
    with ExitStack() as stack:
        try:
            source = stack.enter_context(open(args.file, "rb"))
        except OSError as exc:
            hint = " (a data directory? replay it with --format journal)" * isdir(args.file)
            say(f"cannot read {args.file}: {exc.strerror or exc}{hint}")
            return EXIT_BAD_INPUT
        outputs = open_outputs(stack, args)
        if outputs is None:
            return EXIT_BAD_INPUT
        trades_out, events_out, book_out = outputs

        def skip(error: OrderFileError) -> None:
            print(error, file=sys.stderr)

        reader = open_record_reader(source, args.file, on_bad=skip if args.skip_bad else None)
        feed = KernelFeed(new_kernel())
        stats = ReplayStats()
        if args.speed is None:
            batches: Iterable[np.ndarray] = reader.batches(BATCH_SIZE)
        else:
            batches = paced_records(reader.batches(1), Pacer(args.speed))
        status = EXIT_OK
        stopped = ""
        try:
            writers = None
            if trades_out is not None or events_out is not None:
                writers = RecordWriters(
                    reader.directory, trades_out, events_out, reader.file_order_ids
                )
            with ReplayProgress(os.fstat(source.fileno()).st_size, "rows", sys.stderr) as bar:

                def progress(rows: int) -> None:
                    bar.update(source.tell(), rows)  # through the file by bytes: ETA

                replay_records(
                    reader, batches, feed, stats, writers, progress if bar.enabled else None
                )
                bar.finish(reader.rows)
        except OrderFileError as exc:
            print(exc, file=sys.stderr)
            status, stopped = EXIT_BAD_INPUT, f"stopped at line {exc.line}"
        except KeyboardInterrupt:
            status, stopped = EXIT_INTERRUPTED, "interrupted"
        stats.commands = reader.commands
        if status == EXIT_OK and reader.bad_rows:
            status, stopped = EXIT_ROWS_SKIPPED, skipped_rows(reader.bad_rows)
        if book_out is not None:
            write_kernel_book(feed.kernel, reader.directory, book_out)
    seconds = time.perf_counter() - started
    print(_summary(args.file, reader, stats, seconds, stopped), file=sys.stderr)
    return status


def open_outputs(
    stack: ExitStack, args: argparse.Namespace
) -> tuple[TextIO | None, BinaryIO | None, TextIO | None] | None:
    """The trades, events and book outputs asked for (each None if not), open for the
    replay's lifetime; None, after saying why, if one cannot be written."""
    try:
        trades_out = open_text(stack, args.trades_out)
        events_out = None
        if args.events_out is not None:
            events_out = stack.enter_context(open(args.events_out, "wb"))  # noqa: SIM115 (on the stack)
        book_out = open_text(stack, args.book_out)
    except OSError as exc:
        say(f"cannot write {exc.filename}: {exc.strerror or exc}")
        return None
    return trades_out, events_out, book_out


def open_text(stack: ExitStack, path: str | None) -> TextIO | None:
    """An output file opened for the replay's lifetime, or None if not asked for."""
    if path is None:
        return None
    return stack.enter_context(open(path, "w", encoding="utf-8", newline=""))


def skipped_rows(n: int) -> str:
    """The summary's line for ``n`` bad rows that ``--skip-bad`` left out."""
    return f"{n:,} bad {'row' if n == 1 else 'rows'} skipped, left out of every output"


def say(message: str) -> None:
    """A message to the user on stderr, named for the command."""
    print(f"ringmatch: {message}", file=sys.stderr)


def _summary(
    name: str, reader: RecordReader, stats: ReplayStats, seconds: float, stopped: str
) -> str:
    rejected = sum(stats.rejected.values())
    return ReplaySummary(
        name,
        "csv",
        "rows",
        read=reader.rows,
        bad=reader.bad_rows,
        accepted=stats.commands - rejected,
        rejected=rejected,
        trades=stats.trades,
        seconds=seconds,
        stopped=stopped,
        reasons=[(r.value, n) for r, n in stats.rejected.items()],
    ).render()
