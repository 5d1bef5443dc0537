"""``ringmatch replay DATA_DIR --format journal``: run a journal through a fresh core.

The same outputs as the CSV replay (ringmatch.engine.replay.csv_replay and
.outputs), from the
inputs a core journalled. Their records run through the kernel the live core
ran (ringmatch.engine.core.journal_run: the reference kernel with the
pre-trade stage the journal names in its StageChain inputs, or the compiled
one where no stage is named; until the first StageChain, as in a journal
written before they existed, no stage: control inputs are reported and
ignored), with each input's journalled seq, skipping the seqs its SkipInputs
name, so ``--events-out`` is the event stream the core published for every
sequenced input. Orders that have a client order id are named by it in
``--trades-out`` and ``--book-out``, so a file sent over TCP and the same file
replayed as CSV give the same outputs.

An input that cannot be applied (it halted the live core, which was not yet
told to skip it) stops the replay with status 2, naming it, after the
outputs of everything before it.

A directory that holds no journal segment (an empty one, a mistyped path) is
bad input, status 2, never an empty replay.

Read-only, and never takes the data directory's lock: a directory a running
core holds is replayed as far as it is written, with a line saying it is
live. A torn tail is reported on stderr and left in place (recovery,
not replay, cuts it off); a damaged journal stops the
replay with status 2, after the segments before the damaged one have run and
their outputs have been written (each segment is checked whole before any of
it runs).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack

import numpy as np

from ringmatch.engine.core.journal_run import JournalRun, KernelBooks, kernel_for, start_run
from ringmatch.engine.core.pretrade_hook import StageResolver, no_stages
from ringmatch.engine.core.stage_chain import InputFailed
from ringmatch.engine.journal.datadir_lock import holder
from ringmatch.engine.journal.files import OS_FILES
from ringmatch.engine.journal.log import JournalError, list_segments
from ringmatch.engine.records.convert import decode_events
from ringmatch.engine.records.inputs import owners, seqs_of
from ringmatch.engine.records.names import Directory
from ringmatch.engine.replay.csv_replay import (
    EXIT_BAD_INPUT,
    EXIT_INTERRUPTED,
    EXIT_OK,
    ReplayStats,
    open_outputs,
    record,
    say,
)
from ringmatch.engine.replay.outputs import EventLinesWriter, OrderNames, TradeWriter, write_book
from ringmatch.engine.replay.pacing import Pacer
from ringmatch.engine.replay.progress_bar import ReplayProgress
from ringmatch.engine.replay.summary import ReplaySummary
from ringmatch.engine.schema.events import Event


def _replay(
    run: JournalRun,
    stats: ReplayStats,
    names: OrderNames,
    trades_out: TradeWriter | None,
    events_out: EventLinesWriter | None,
    pacer: Pacer | None,
    progress: Callable[[int, int], None] | None = None,
) -> None:
    """csv_replay.replay, with each input's own seq and through the core's kernel;
    ``progress(bytes of records, inputs)`` after each batch."""
    directory = run.directory
    done = 0

    def pace(records: np.ndarray) -> None:
        # Each input held back until its ts_ns is due; the batch then runs whole.
        assert pacer is not None
        for ts in records["ts_ns"][owners(records)].tolist():
            pacer.wait_until(ts)

    for records, event_records in run.batches(before=None if pacer is None else pace):
        events: list[Event] = decode_events(event_records, directory)
        names.learn(events)
        record(events, len(seqs_of(records)), stats, trades_out, events_out)
        if progress is not None:
            done += records.nbytes
            progress(done, stats.commands)


def _journal_bytes(data_dir: str) -> int:
    """The size of every segment: the progress bar's total (its records, and frames)."""
    total = 0
    for _, path in list_segments(OS_FILES, data_dir):
        with contextlib.suppress(OSError):  # gone since listed: the replay says so
            total += os.stat(path).st_size
    return total


def run(args: argparse.Namespace, resolve: StageResolver = no_stages) -> int:
    """Replay the journal in ``args.file``; the exit status (0, 2 bad input, 130)."""
    started = time.perf_counter()
    live = holder(args.file)
    if live is not None:
        # Read as it is, never locked or changed: the live core's appends after
        # this point are simply not seen, and a frame it is writing reads as a torn tail.
        say(f"{args.file} is live (locked by {live}): replaying the journal as written so far")
    try:
        if not list_segments(OS_FILES, args.file):
            say(f"no journal in {args.file}: it holds no journal segment (is it a data directory?)")
            return EXIT_BAD_INPUT
        # The journal's skips and stages, looked ahead; ``resolve``: the stages it may name.
        run = start_run(args.file, snapshot=False, resolve=resolve)
    except OSError as exc:
        say(f"cannot read {exc.filename or args.file}: {exc.strerror or exc}")
        return EXIT_BAD_INPUT
    except JournalError:
        # Damaged: the replay below stops there, saying so.
        run = JournalRun(kernel_for(False, resolve)(), Directory(), args.file)
    names = OrderNames()
    stats = ReplayStats()
    status, stopped = EXIT_OK, ""
    with ExitStack() as stack:
        outputs = open_outputs(stack, args)
        if outputs is None:
            return EXIT_BAD_INPUT
        trades_out, events_out, book_out = outputs
        speed = getattr(args, "speed", None)
        bar = stack.enter_context(ReplayProgress(_journal_bytes(args.file), "inputs", sys.stderr))
        try:
            _replay(
                run,
                stats,
                names,
                TradeWriter(trades_out, names) if trades_out is not None else None,
                EventLinesWriter(events_out) if events_out is not None else None,
                Pacer(speed) if speed is not None else None,
                bar.update if bar.enabled else None,
            )
            bar.finish(stats.commands)
        except OSError as exc:
            say(f"cannot read {exc.filename or args.file}: {exc.strerror or exc}")
            return EXIT_BAD_INPUT
        except JournalError as exc:
            say(str(exc))
            status, stopped = EXIT_BAD_INPUT, f"stopped after seq {run.last_seq}"
        except InputFailed as exc:
            say(f"{exc}; it is not skipped in the journal (the core halted there)")
            status, stopped = EXIT_BAD_INPUT, f"stopped before seq {exc.seq}"
        except KeyboardInterrupt:
            status, stopped = EXIT_INTERRUPTED, "interrupted"
        if run.torn_tail is not None:
            say(f"warning: {run.torn_tail.describe()}; replayed up to it")
        if book_out is not None:
            write_book(KernelBooks(run.kernel, run.directory), book_out, names)
    seconds = time.perf_counter() - started
    rejected = sum(stats.rejected.values())
    n = len(run.skipped)
    skipped = f"{n:,} {'seq' if n == 1 else 'seqs'}" if n else "none"
    summary = ReplaySummary(
        args.file,
        "journal",
        "inputs",
        read=stats.commands,
        bad=0,
        accepted=stats.commands - rejected,
        rejected=rejected,
        trades=stats.trades,
        seconds=seconds,
        stopped=stopped,
        reasons=[(r.value, n) for r, n in stats.rejected.items()],
        details=[("skipped", skipped)],  # the seqs the journal's SkipInputs name
    )
    print(summary.render(), file=sys.stderr)
    return status
