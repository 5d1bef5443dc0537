"""``ringmatch journal convert SRC DST``: rewrite a data directory's journal in record frames
(ringmatch.engine.journal.to_records). Exit status 0 done, 2 bad input: a SRC that holds
no journal or one it cannot read, a destination that holds one or cannot be written."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def add_subcommands(commands: Any) -> None:
    p = commands.add_parser(
        "journal",
        help="tools for a data directory's journal",
        description="Tools for a data directory's journal.",
    )
    sub = p.add_subparsers(dest="journal_command", required=True, metavar="TOOL")
    c = sub.add_parser(
        "convert",
        help="rewrite a journal (msgpack frames too) as record frames",
        description="Write SRC's journal, batch for batch, as record frames into DST.",
    )
    c.add_argument("src", metavar="SRC", help="the data directory to read (never changed)")
    c.add_argument("dst", metavar="DST", help="an empty directory to write the journal into")
    c.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ringmatch.engine.journal.files import OS_FILES
    from ringmatch.engine.journal.log import JournalError, list_segments
    from ringmatch.engine.journal.to_records import convert

    try:
        if not list_segments(OS_FILES, args.src):
            print(
                f"ringmatch journal convert: no journal in {args.src}: it holds no journal"
                " segment (is it a data directory?)",
                file=sys.stderr,
            )
            return 2
        done = convert(args.src, args.dst)
    except (JournalError, OSError) as exc:
        print(f"ringmatch journal convert: {exc}", file=sys.stderr)
        return 2
    if done.torn_tail is not None:
        print(f"warning: {done.torn_tail}; left out", file=sys.stderr)
    noun = "batch" if done.batches == 1 else "batches"
    print(f"{done.batches:,} {noun}, to seq {done.last_seq}, written to {args.dst}")
    return 0
