"""LOBSTER replay on hand-written files: parsing, conversion, seeding, resync, outputs."""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import pytest

from ringmatch.engine.replay.lobster import (
    SYNTHETIC_ID_BASE,
    LobsterFileError,
    read_messages,
    read_orderbook,
)
from ringmatch.engine.replay.lobster_replay import SYNTHETIC_ACCOUNT, LobsterReplay, run
from ringmatch.engine.schema.enums import Side

BUY, SELL = Side.BUY, Side.SELL
EMPTY = "9999999999,0,-9999999999,0"


def write(path: Path, *rows: str) -> str:
    path.write_text("".join(row + "\n" for row in rows))
    return str(path)


def args(file: str, **options: object) -> argparse.Namespace:
    values: dict[str, object] = {
        "file": file,
        "orderbook": None,
        "levels": 1,
        "resync": False,
        "book_out": None,
        "trades_out": None,
        "events_out": None,
        "speed": None,
        "skip_bad": False,
    }
    values.update(options)
    return argparse.Namespace(**values)


def replay(ns: argparse.Namespace, **kw: object) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(ns, stdout=out, stderr=err, **kw)  # type: ignore[arg-type]
    return code, out.getvalue(), err.getvalue()


def replay_rows(tmp_path: Path, *rows: str, seeded: bool = False) -> LobsterReplay:
    """Replay message rows (no orderbook) and hand back the replay for inspection."""
    msgs = read_messages(write(tmp_path / "X_message_1.csv", *rows))
    r = LobsterReplay("X", 1, seeded=seeded)
    r.run(msgs, 0, None if not seeded else lambda i: None, None, None, None)
    return r


def book(r: LobsterReplay) -> list[tuple[str, int, int, str, int]]:
    return [(o.side.value, o.price, o.order_id, o.account, o.qty) for o in r.engine.l3("X")]


# -- parsing ----------------------------------------------------------------------


def test_messages_parse_to_columns_with_exact_nanoseconds(tmp_path: Path) -> None:
    msgs = read_messages(
        write(tmp_path / "m.csv", "34200.017459617,1,7,100,2238200,-1", "57599.999999999,5,0,3,1,1")
    )
    assert msgs.ts_ns == [34200017459617, 57599999999999]
    assert msgs.type == [1, 5]
    assert msgs.order_id == [7, 0]
    assert msgs.size == [100, 3]
    assert msgs.price == [2238200, 1]
    assert msgs.direction == [-1, 1]
    assert msgs.line == [1, 2]


BAD_MESSAGES = [
    ("34200.1,1,7,100,2238200", "expected 6 fields (time,type,order_id,size,price,direction), got 5"),  # noqa: E501
    ("34200.1,1,7,100,2238200,1,0", "expected 6 fields (time,type,order_id,size,price,direction), got 7"),  # noqa: E501
    ("", "expected 6 fields (time,type,order_id,size,price,direction), got 0"),
    ("9:30,1,7,100,2238200,1", "time: '9:30' is not a number of seconds after midnight"),
    ("34200.1,1,7,12.5,2238200,1", "size: '12.5' is not a whole number"),
    ("34200.1,1,7,100,,1", "price: missing"),
    ("34200.1,1,7,100,99999999999999999999,1", "price: 99999999999999999999 does not fit in 64 bits"),  # noqa: E501
    ("34200.1,8,7,100,2238200,1", "type: 8 is not an event type (1-7)"),
    ("34200.1,1,7,100,2238200,0", "direction: 0 is not -1 (sell) or 1 (buy)"),
    ("34200.1,1,7,0,2238200,1", "size: 0 must be > 0 (type 1)"),
    ("34200.1,4,7,10,-5,1", "price: -5 must be > 0 (type 4)"),
    ("34200.1,3,0,10,2238200,1", "order_id: 0 must be > 0 (type 3)"),
    ("34200.1,5,-3,10,2238200,1", "order_id: -3 is negative"),
    ("34200.1,1,281474976710656,1,2238200,1", "order_id: 281474976710656 is too large (must be below 2**48)"),  # noqa: E501
    ("34199.5,1,7,100,2238200,1", "time: 34199.5 is before the previous row's 34200.0"),
]  # fmt: skip


@pytest.mark.parametrize(("row", "message"), BAD_MESSAGES)
def test_a_bad_message_row_is_named_with_file_line_and_field(
    tmp_path: Path, row: str, message: str
) -> None:
    path = write(tmp_path / "m.csv", "34200.0,1,1,5,2238200,1", row, "34201,3,1,5,2238200,1")
    with pytest.raises(LobsterFileError) as caught:
        read_messages(path)
    assert str(caught.value) == f"{path}:2: {message}"
    code, out, err = replay(args(path))
    assert (code, out, err) == (2, "", f"{path}:2: {message}\n")


def test_halt_rows_and_hidden_rows_with_order_id_zero_are_good(tmp_path: Path) -> None:
    path = write(
        tmp_path / "m.csv", "34200,7,0,0,-1,-1", "34201,5,0,10,2238200,1", "34202,7,0,0,1,-1"
    )
    assert read_messages(path).type == [7, 5, 7]


def test_non_ascii_text_is_named_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_bytes(b"34200,1,1,5,2238200,1\n34200,1,2,5,2238200,1\xc3\xa9\n")
    with pytest.raises(LobsterFileError, match=r"m\.csv:2: not ASCII text"):
        read_messages(path)


def test_skip_bad_leaves_bad_rows_out_and_says_so(tmp_path: Path) -> None:
    path = write(
        tmp_path / "X_message_1.csv",
        "34200,1,1,5,2238200,1",
        "34200,1,2,zero,2238200,1",
        "34201,9,3,5,2238200,1",
        "34202,1,4,7,2238300,-1",
    )
    code, out, err = replay(args(path, skip_bad=True))
    assert code == 1  # done, but rows were left out
    assert out == ""
    assert err.startswith(
        f"{path}:2: size: 'zero' is not a whole number (skipped)\n"
        f"{path}:3: type: 9 is not an event type (1-7) (skipped)\n"
        f"replay of {path} (lobster): 2 bad rows skipped, left out of every output\n"
        "  read        2 messages, 2 bad\n"
    )
    assert "  by type     2 new\n" in err
    msgs = read_messages(path, on_bad=lambda e: None)
    assert msgs.line == [1, 4] and msgs.order_id == [1, 4]


BAD_BOOK_ROWS = [
    ("2239500,100,2231800", "expected 4 fields (ask price, ask size, bid price, bid size for each of 1 level(s)), got 3"),  # noqa: E501
    ("2239500,100,2231800,x", "bid size 1: 'x' is not a whole number"),
    ("0,100,2231800,100", "ask price 1: 0 must be > 0, or 9999999999 for an empty level"),
    ("2239500,0,2231800,100", "ask size 1: 0 must be > 0 at a price"),
    ("2239500,100,-9999999999,5", "bid size 1: 5 must be 0 at an empty level"),
]  # fmt: skip


@pytest.mark.parametrize(("row", "message"), BAD_BOOK_ROWS)
def test_a_bad_orderbook_row_is_named_with_file_line_and_field(
    tmp_path: Path, row: str, message: str
) -> None:
    path = write(tmp_path / "o.csv", "2239500,100,2231800,100", row)
    with pytest.raises(LobsterFileError) as caught:
        read_orderbook(path, 1)
    assert str(caught.value) == f"{path}:2: {message}"


def test_orderbook_and_messages_must_have_the_same_rows(tmp_path: Path) -> None:
    m = write(tmp_path / "m.csv", "34200,1,1,5,2238200,1", "34201,1,2,5,2238200,1")
    o = write(tmp_path / "o.csv", "9999999999,0,2238200,5")
    code, _, err = replay(args(m, orderbook=o))
    assert code == 2
    assert err == (
        f"{o}:2: 1 rows, but {m} has 2 (orderbook row k must be the book after message k)\n"
    )


def test_bad_arguments_exit_2(tmp_path: Path) -> None:
    m = write(tmp_path / "m.csv", "34200,1,1,5,2238200,1")
    assert replay(args(m, resync=True))[::2] == (
        2,
        "--resync needs --orderbook (the recorded book to resync to)\n",
    )
    assert replay(args(m, levels=0))[0] == 2
    code, _, err = replay(args(str(tmp_path / "missing.csv")))
    assert code == 2 and err.endswith("missing.csv: cannot read: No such file or directory\n")


# -- conversion of each event type -------------------------------------------------


def test_type_1_is_a_resting_gtc_limit_order(tmp_path: Path) -> None:
    r = replay_rows(tmp_path, "34200,1,11,100,2000000,1", "34200,1,12,40,2000100,-1")
    assert book(r) == [("BUY", 2000000, 11, "lobster", 100), ("SELL", 2000100, 12, "lobster", 40)]


def test_type_2_reduces_the_order_and_it_keeps_its_place(tmp_path: Path) -> None:
    r = replay_rows(
        tmp_path,
        "34200,1,11,100,2000000,1",
        "34200,1,12,50,2000000,1",
        "34201,2,11,30,2000000,1",
    )
    assert book(r) == [("BUY", 2000000, 11, "lobster", 70), ("BUY", 2000000, 12, "lobster", 50)]


def test_type_3_cancels_the_order(tmp_path: Path) -> None:
    r = replay_rows(tmp_path, "34200,1,11,100,2000000,1", "34201,3,11,100,2000000,1")
    assert book(r) == []


def test_type_4_is_an_ioc_from_the_other_side_that_trades(tmp_path: Path) -> None:
    trades = tmp_path / "t.csv"
    m = write(
        tmp_path / "X_message_1.csv",
        "34200,1,11,100,2000000,1",
        "34201,4,11,30,2000000,1",
    )
    code, _, _ = replay(args(m, trades_out=str(trades)))
    assert code == 0
    taker = SYNTHETIC_ID_BASE + 1
    assert trades.read_text().splitlines() == [
        "ts_ns,kind,trade_id,symbol,price,qty,maker_order_id,taker_order_id,"
        "maker_account,taker_account,taker_side",
        f"34201000000000,visible,1,X,2000000,30,11,{taker},lobster,lobster,SELL",
    ]


def test_type_4_never_trades_through_its_price(tmp_path: Path) -> None:
    # The book holds only a worse bid than the execution price: the IOC must not trade.
    r = replay_rows(tmp_path, "34200,1,11,100,1990000,1", "34201,4,99,30,2000000,1")
    assert book(r) == [("BUY", 1990000, 11, "lobster", 100)]
    assert r.counts.orphans == 1


def test_types_5_6_7_leave_the_book_alone_and_5_6_are_hidden_trades(tmp_path: Path) -> None:
    trades = tmp_path / "t.csv"
    events = tmp_path / "e.jsonl"
    m = write(
        tmp_path / "X_message_1.csv",
        "34200,1,11,100,2000000,1",
        "34201,5,0,7,2000100,-1",
        "34202,6,0,9,2000050,1",
        "34203,7,0,0,-1,-1",
    )
    code, _, err = replay(args(m, trades_out=str(trades), events_out=str(events)))
    assert code == 0 and "1 new, 1 hidden, 1 cross, 1 halt" in err
    assert trades.read_text().splitlines()[1:] == [
        "34201000000000,hidden,,X,2000100,7,0,,lobster,,BUY",
        "34202000000000,cross,,X,2000050,9,0,,lobster,,SELL",
    ]
    assert [json.loads(line)["type"] for line in events.read_text().splitlines()] == ["accepted"]


# -- seeding, orphans, resync ------------------------------------------------------


def test_orderbook_row_1_seeds_the_book_and_message_1_is_not_replayed(tmp_path: Path) -> None:
    m = write(tmp_path / "X_message_1.csv", "34200,1,11,100,2000000,1", "34201,1,12,5,2000200,-1")
    o = write(
        tmp_path / "o.csv",
        "2000300,40,2000000,100,2000400,10,1999000,20",
        "2000200,5,2000000,100,2000300,40,1999000,20",
    )
    r = LobsterReplay("X", 2)
    r.reconcile(read_orderbook(o, 2).rows[1], 0)
    base = SYNTHETIC_ID_BASE
    assert book(r) == [
        ("BUY", 2000000, base + 3, SYNTHETIC_ACCOUNT, 100),
        ("BUY", 1999000, base + 4, SYNTHETIC_ACCOUNT, 20),
        ("SELL", 2000300, base + 1, SYNTHETIC_ACCOUNT, 40),
        ("SELL", 2000400, base + 2, SYNTHETIC_ACCOUNT, 10),
    ]
    code, _, err = replay(args(m, orderbook=o, levels=2))
    assert code == 0
    assert "rows compared: 1\n  top 2 level(s) matched: 1 (100.00%)" in err


def test_an_orphan_event_takes_its_size_from_synthetic_liquidity(tmp_path: Path) -> None:
    m = write(
        tmp_path / "X_message_1.csv",
        "34200,1,1,1,2000000,1",  # stands in for the seed
        "34201,1,11,50,2000000,1",  # a real order behind the synthetic one
        "34202,2,5,30,2000000,1",  # order 5 was never submitted: partial cancel
        "34203,3,6,60,2000000,1",  # ... and another one deleted
    )
    o = write(
        tmp_path / "o.csv",
        "9999999999,0,2000000,100",
        "9999999999,0,2000000,150",
        "9999999999,0,2000000,120",
        "9999999999,0,2000000,60",
    )
    book_out = tmp_path / "b.csv"
    code, _, err = replay(args(m, orderbook=o, book_out=str(book_out)))
    assert code == 0
    assert "rows compared: 3\n  top 1 level(s) matched: 3 (100.00%)" in err
    assert "orphans     2 events on orders the file never submitted" in err
    assert book_out.read_text() == Path(o).read_text()


def test_an_orphan_with_no_synthetic_liquidity_left_is_counted_short(tmp_path: Path) -> None:
    r = replay_rows(tmp_path, "34200,1,11,100,2000000,1", "34201,3,5,60,2000000,1")
    assert book(r) == [("BUY", 2000000, 11, "lobster", 100)]
    assert (r.counts.orphans, r.counts.short) == (1, 60)


def test_resync_reconciles_the_book_to_the_recorded_row(tmp_path: Path) -> None:
    # The engine's book has drifted: a stale better ask, too much at the best bid,
    # too little at the second bid, a second ask level missing.
    r = replay_rows(
        tmp_path,
        "34200,1,11,10,2000250,-1",
        "34200,1,12,40,2000300,-1",
        "34200,1,13,30,2000000,1",
        "34200,1,14,5,1999000,1",
        seeded=True,
    )
    r.levels = 2
    recorded = [2000300, 40, 2000000, 20, 2000400, 10, 1999000, 20]
    r.reconcile(recorded, 5)
    assert r.book_row() == recorded
    base = SYNTHETIC_ID_BASE
    assert book(r) == [
        ("BUY", 2000000, 13, "lobster", 20),  # shrunk, keeping its place
        ("BUY", 1999000, 14, "lobster", 5),
        ("BUY", 1999000, base + 2, SYNTHETIC_ACCOUNT, 15),  # topped up at the back
        ("SELL", 2000300, 12, "lobster", 40),
        ("SELL", 2000400, base + 1, SYNTHETIC_ACCOUNT, 10),
    ]


def test_resync_leaves_levels_beyond_a_full_window_alone(tmp_path: Path) -> None:
    r = replay_rows(
        tmp_path,
        "34200,1,11,10,2000000,1",
        "34200,1,12,10,1990000,1",
        "34200,1,13,10,2000300,-1",
        seeded=True,
    )
    r.reconcile([2000300, 10, 2000000, 10], 1)  # level-1 window: 1990000 is unknowable
    assert ("BUY", 1990000, 12, "lobster", 10) in book(r)
    r.reconcile([2000300, 10, -9999999999, 0], 2)  # no bids at all: the whole side goes
    assert [o for o in book(r) if o[0] == "BUY"] == []


def test_replay_with_resync_counts_matches_before_resyncing(tmp_path: Path) -> None:
    m = write(
        tmp_path / "X_message_1.csv",
        "34200,1,1,1,2000000,1",
        "34201,3,1,1,2000000,1",  # the recorded book says 2000000 now holds 70
        "34202,1,2,10,2000000,1",
    )
    o = write(
        tmp_path / "o.csv",
        "9999999999,0,2000000,100",
        "9999999999,0,2000000,70",
        "9999999999,0,2000000,80",
    )
    book_out = tmp_path / "b.csv"
    code, _, err = replay(args(m, orderbook=o, resync=True, book_out=str(book_out)))
    assert code == 0
    assert "rows compared: 2\n  top 1 level(s) matched: 1 (50.00%)\n  resyncs: 1" in err
    assert "line 2: bid 1: engine 99@2000000, recorded 70@2000000" in err
    # The book-out shows the book before each resync, as the report compares it.
    assert book_out.read_text().splitlines() == [
        "9999999999,0,2000000,100",
        "9999999999,0,2000000,99",
        "9999999999,0,2000000,80",
    ]


# -- book-out, pacing -----------------------------------------------------------------


def test_book_out_is_byte_exact_in_the_orderbook_format(tmp_path: Path) -> None:
    m = write(
        tmp_path / "X_message_1.csv",
        "34200,1,1,100,2000000,1",
        "34201,1,2,40,2000300,-1",
        "34202,1,3,25,1999900,1",
        "34203,4,1,100,2000000,1",
        "34204,3,3,25,1999900,1",
    )
    expected = tmp_path / "expected.csv"
    expected.write_bytes(
        b"9999999999,0,2000000,100,9999999999,0,-9999999999,0\n"
        b"2000300,40,2000000,100,9999999999,0,-9999999999,0\n"
        b"2000300,40,2000000,100,9999999999,0,1999900,25\n"
        b"2000300,40,1999900,25,9999999999,0,-9999999999,0\n"
        b"2000300,40,-9999999999,0,9999999999,0,-9999999999,0\n"
    )
    book_out = tmp_path / "b.csv"
    assert replay(args(m, levels=2, book_out=str(book_out)))[0] == 0
    assert book_out.read_bytes() == expected.read_bytes()


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000_000_000
        self.sleeps: list[float] = []

    def clock(self) -> int:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += round(seconds * 1e9)


def test_speed_paces_messages_by_their_timestamps(tmp_path: Path) -> None:
    m = write(
        tmp_path / "X_message_1.csv",
        "34200.0,1,1,100,2000000,1",
        "34201.0,1,2,100,2000000,1",
        "34201.0,1,3,100,2000000,1",
        "34204.0,3,1,100,2000000,1",
    )
    fake = FakeClock()
    code, _, _ = replay(args(m, speed=2.0), clock=fake.clock, sleep=fake.sleep)
    assert code == 0
    assert fake.sleeps == [0.5, 1.5]  # 1 s and 3 s of file time at twice real time
    assert replay(args(m, speed=0.0))[::2] == (2, "--speed: 0.0 must be > 0\n")


def test_a_bad_orderbook_row_skipped_is_left_out_of_the_comparison(tmp_path: Path) -> None:
    m = write(
        tmp_path / "X_message_1.csv",
        "34200,1,1,100,2000000,1",
        "34201,1,2,10,2000000,1",
        "34202,1,3,10,2000000,1",
    )
    o = write(
        tmp_path / "o.csv",
        "9999999999,0,2000000,100",
        "9999999999,0,2000000,-110",
        "9999999999,0,2000000,120",
    )
    code, _, err = replay(args(m, orderbook=o, skip_bad=True))
    assert code == 1  # done, but a row was left out
    assert err.startswith(f"{o}:2: bid size 1: -110 must be > 0 at a price (skipped)\n")
    assert "rows compared: 1\n  top 1 level(s) matched: 1 (100.00%)" in err


def test_a_bad_seed_row_stops_the_replay_even_with_skip_bad(tmp_path: Path) -> None:
    m = write(tmp_path / "X_message_1.csv", "34200,1,1,100,2000000,1")
    o = write(tmp_path / "o.csv", "9999999999,0,2000000,x")
    code, _, err = replay(args(m, orderbook=o, skip_bad=True))
    assert code == 2
    assert err.endswith(f"{o}:1: bad row where the book is seeded: cannot replay without it\n")


def test_an_empty_message_file_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path / "m.csv")
    assert replay(args(path))[::2] == (2, f"{path}:1: empty file: expected message rows\n")


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_progress_bar_is_drawn_only_on_a_terminal(tmp_path: Path) -> None:
    m = write(tmp_path / "X_message_1.csv", *[f"34200,1,{k},1,2000000,1" for k in range(1, 6)])
    err = Terminal()
    assert run(args(m), stdout=io.StringIO(), stderr=err) == 0
    drawn = err.getvalue()
    assert "100%" in drawn and "messages/s" in drawn and "ETA" in drawn
    # stderr not a terminal: nothing but the summary
    plain = replay(args(m))[2]
    assert plain.startswith("replay of ") and "ETA" not in plain and "\x1b" not in plain
