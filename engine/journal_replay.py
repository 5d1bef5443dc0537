"""``ringmatch replay DATA_DIR --format journal``: run a journal through a fresh engine.

The same outputs as the CSV replay (engine.replay, engine.outputs), from the
inputs a core journalled. Read-only: a torn tail is reported on stderr and left
in place (recovery, not replay, cuts it off); a damaged journal stops the
replay with status 2, after the segments before the damaged one have run and
their outputs have been written (each segment is checked whole before any of
it runs).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from typing import TextIO

from engine.commands import Command
from engine.journal import JournalError, JournalReader
from engine.matching import MatchingEngine
from engine.outputs import EventWriter, TradeWriter, write_book
from engine.pacing import Pacer
from engine.replay import EXIT_BAD_INPUT, EXIT_INTERRUPTED, EXIT_OK, ReplayStats, paced, replay


def _commands(reader: JournalReader) -> Iterator[list[Command]]:
    # The reader checks that seqs run 1, 2, 3...: the same numbers process_batch gives.
    for batch in reader.batches():
        yield [cmd for _, cmd in batch]


def run(args: argparse.Namespace) -> int:
    """Replay the journal in ``args.file``; the exit status (0, 2 bad input, 130)."""
    started = time.perf_counter()
    reader = JournalReader(args.file)
    engine = MatchingEngine()
    stats = ReplayStats()
    status, stopped = EXIT_OK, ""
    with ExitStack() as stack:
        try:
            trades_out = _open_text(stack, args.trades_out)
            events_out = None
            if args.events_out is not None:
                events_out = stack.enter_context(open(args.events_out, "wb"))
            book_out = _open_text(stack, args.book_out)
        except OSError as exc:
            _say(f"cannot write {exc.filename}: {exc.strerror or exc}")
            return EXIT_BAD_INPUT
        batches = _commands(reader)
        if getattr(args, "speed", None) is not None:
            batches = paced(batches, Pacer(args.speed))
        try:
            replay(
                batches,
                engine,
                stats,
                TradeWriter(trades_out) if trades_out is not None else None,
                EventWriter(events_out) if events_out is not None else None,
            )
        except OSError as exc:
            _say(f"cannot read {exc.filename or args.file}: {exc.strerror or exc}")
            return EXIT_BAD_INPUT
        except JournalError as exc:
            _say(str(exc))
            status, stopped = EXIT_BAD_INPUT, f"stopped after seq {reader.last_seq}"
        except KeyboardInterrupt:
            status, stopped = EXIT_INTERRUPTED, "interrupted"
        if reader.torn_tail is not None:
            _say(f"warning: {reader.torn_tail.describe()}; replayed up to it")
        if book_out is not None:
            write_book(engine, book_out)
    seconds = time.perf_counter() - started
    rejected = sum(stats.rejected.values())
    rate = stats.commands / seconds if seconds > 0 else 0.0
    print(
        "\n".join(
            [
                f"replay of journal {args.file}" + (f": {stopped}" if stopped else ""),
                f"  inputs      {stats.commands:,}",
                f"  rejected    {rejected:,}",
                f"  trades      {stats.trades:,}",
                f"  speed       {rate:,.0f} inputs/s ({seconds:.3f} s)",
            ]
        ),
        file=sys.stderr,
    )
    return status


def _open_text(stack: ExitStack, path: str | None) -> TextIO | None:
    if path is None:
        return None
    return stack.enter_context(open(path, "w", encoding="utf-8", newline=""))


def _say(message: str) -> None:
    print(f"ringmatch: {message}", file=sys.stderr)
