"""The real AMZN 2012-06-21 level-1 day (../shared/data/lobster), checked against its
recorded book. The files are never copied into the repo: ``lobster_dir`` finds them."""

from __future__ import annotations

import argparse
import io
import re
from pathlib import Path

from ringmatch.engine.replay.lobster import read_messages
from ringmatch.engine.replay.lobster_replay import run

AMZN = "AMZN_2012-06-21_34200000_57600000_{}_1.csv"


def amzn_args(lobster_dir: Path, **options: object) -> argparse.Namespace:
    values: dict[str, object] = {
        "file": str(lobster_dir / AMZN.format("message")),
        "orderbook": str(lobster_dir / AMZN.format("orderbook")),
        "levels": 1,
        "resync": True,
        "book_out": None,
        "trades_out": None,
        "events_out": None,
        "speed": None,
        "skip_bad": False,
    }
    values.update(options)
    return argparse.Namespace(**values)


def test_resynced_replay_matches_the_recorded_best_bid_and_offer(
    lobster_dir: Path, tmp_path: Path
) -> None:
    book_out = tmp_path / "book.csv"
    out, err = io.StringIO(), io.StringIO()
    assert run(amzn_args(lobster_dir, book_out=str(book_out)), stdout=out, stderr=err) == 0
    report = err.getvalue()
    assert out.getvalue() == ""  # the summary goes to stderr; not a terminal: no progress bar
    assert report.startswith(f"replay of {lobster_dir / AMZN.format('message')} (lobster)\n")
    assert "read        57,515 messages, 0 bad\n" in report
    assert "by type     27,845 new, 16 partial cancel, 18,235 delete, 8,974 execution" in report
    assert "rows compared: 57514" in report
    found = re.search(r"top 1 level\(s\) matched: (\d+) \(", report)
    assert found is not None, report
    matched = int(found.group(1))
    assert matched / 57514 >= 0.845, report
    # One book-out line per message, in the orderbook's format; line 1 is the seed.
    recorded = (lobster_dir / AMZN.format("orderbook")).read_text().splitlines()
    written = book_out.read_text().splitlines()
    assert len(written) == len(recorded) == 57515
    assert written[0] == recorded[0]
    assert sum(w == r for w, r in zip(written[1:], recorded[1:], strict=True)) == matched


def test_the_message_file_reads_as_provenance_says(lobster_dir: Path) -> None:
    msgs = read_messages(lobster_dir / AMZN.format("message"))
    assert len(msgs) == 57515
    # Hidden executions carry order id 0.
    assert {oid for kind, oid in zip(msgs.type, msgs.order_id, strict=True) if kind == 5} == {0}
    assert msgs.ts_ns[0] == 34200017459617


def test_the_goog_sample_replays_without_an_orderbook(lobster_dir: Path) -> None:
    out = io.StringIO()
    args = amzn_args(
        lobster_dir,
        file=str(lobster_dir / "GOOG_2012-06-21_message_first2000.csv"),
        orderbook=None,
        resync=False,
    )
    assert run(args, stdout=io.StringIO(), stderr=out) == 0
    head = f"replay of {args.file} (lobster)\n  read        2,000 messages"
    assert out.getvalue().startswith(head)
