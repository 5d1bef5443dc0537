"""``replay --format journal`` of what a core journalled from gateways names orders by
their client ids: the same outputs as the CSV replay of the file the client sent."""

from __future__ import annotations

import argparse
import csv
import random
from pathlib import Path

import msgspec

from ringmatch.engine.core.stage_chain import CoreLogic
from ringmatch.engine.journal.log import JournalWriter
from ringmatch.engine.replay import csv_replay as replay
from ringmatch.engine.replay import journal_replay
from ringmatch.engine.replay.order_csv import COLUMNS, command_to_row
from ringmatch.engine.schema.commands import Cancel, Command, NewOrder, Replace
from tests.engine.strategies import journalable, random_stream


def order_file_stream(seed: int, n: int) -> list[Command]:
    """Rows an order file can hold, with NEW ids unique engine-wide (a client's ids
    are unique per account; engine-wide is what makes the two replays comparable)."""
    used: set[int] = set()
    out: list[Command] = []
    for cmd in journalable(random_stream(random.Random(seed), n)):
        if isinstance(cmd, NewOrder):
            if cmd.order_id in used:
                continue
            used.add(cmd.order_id)
        if isinstance(cmd, NewOrder | Cancel | Replace):
            out.append(cmd)
    return out


def as_sent_by_a_gateway(cmd: Command) -> Command:
    if isinstance(cmd, NewOrder | Cancel | Replace) and cmd.order_id > 0:
        return msgspec.structs.replace(cmd, order_id=0, client_order_id=cmd.order_id)
    return cmd


def args(source: Path, out: Path, fmt: str) -> argparse.Namespace:
    return argparse.Namespace(
        file=str(source),
        format=fmt,
        trades_out=str(out / f"{fmt}.trades"),
        book_out=str(out / f"{fmt}.book"),
        events_out=None,
        skip_bad=False,
        speed=None,
    )


def test_journal_of_client_ids_replays_like_the_csv(tmp_path: Path) -> None:
    cmds = order_file_stream(5, 3000)
    orders = tmp_path / "orders.csv"
    with open(orders, "w", newline="") as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow(COLUMNS)
        out.writerows(command_to_row(c) for c in cmds)
    # What a core journals for the same orders sent over TCP: translated, gapped seqs.
    data = tmp_path / "journal"
    logic = CoreLogic()
    seq = 0
    with JournalWriter(data) as writer:
        for start in range(0, len(cmds), 50):
            seq += 1000  # a Redis block per batch
            batch = []
            for cmd in cmds[start : start + 50]:
                seq += 1
                batch.append((seq, logic.admit(seq, as_sent_by_a_gateway(cmd))))
            writer.append_batch(batch)
    assert replay.run(args(orders, tmp_path, "csv")) == 0
    assert journal_replay.run(args(data, tmp_path, "journal")) == 0
    for kind, least in (("trades", 100), ("book", 3)):
        csv_out = (tmp_path / f"csv.{kind}").read_bytes()
        assert (tmp_path / f"journal.{kind}").read_bytes() == csv_out, kind
        assert csv_out.count(b"\n") > least  # the stream really trades and rests
