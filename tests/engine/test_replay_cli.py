"""``ringmatch replay`` end to end: outputs, bad rows, exit codes, options."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

import ringmatch.engine.replay.csv_replay
from ringmatch import cli
from ringmatch.engine import build_info
from ringmatch.engine.replay.order_csv import HEADER, HEADER_V1
from ringmatch.engine.replay.pacing import Pacer
from ringmatch.engine.schema.commands import NewOrder
from ringmatch.engine.schema.enums import OrderType, Side
from tests.conftest import need

REPO = Path(__file__).resolve().parents[2]

# Hand-checked: the expected outputs below follow from MATCHING_RULES.md alone.
SMALL = f"""{HEADER_V1}
1,NEW,1,alice,XYZ,SELL,LIMIT,GTC,100,10,0,NONE
2,NEW,2,bob,XYZ,SELL,LIMIT,,101,5,,
3,NEW,3,carol,XYZ,BUY,LIMIT,IOC,101,12,0,NONE
4,CANCEL,9,dave,,,,,,,,
5,NEW,4,dave,ABC,BUY,LIMIT,GTC,50,7,0,NONE
6,NEW,5,erin,ABC,BUY,LIMIT,GTC,50,3,0,NONE
7,NEW,6,erin,ABC,SELL,LIMIT,GTC,55,1,0,NONE
8,NEW,7,erin,ABC,SELL,MARKET,,,0,0,NONE
"""

SMALL_TRADES = """\
trade_id,symbol,price,qty,maker_order_id,taker_order_id,maker_account,taker_account,taker_side
1,XYZ,100,10,1,3,alice,carol,BUY
2,XYZ,101,2,2,3,bob,carol,BUY
"""

# Symbols by name; bids best first, then asks; queue order within a price.
SMALL_BOOK = """\
symbol,side,price,order_id,account,qty
ABC,BUY,50,4,dave,7
ABC,BUY,50,5,erin,3
ABC,SELL,55,6,erin,1
XYZ,SELL,101,2,bob,3
"""


def accepted(
    seq: int, oid: int, account: str, symbol: str, side: str, tif: str, price: int, qty: int
) -> dict[str, object]:
    return {
        "type": "accepted",
        "seq": seq,
        "order_id": oid,
        "account": account,
        "symbol": symbol,
        "side": side,
        "order_type": "LIMIT",
        "tif": tif,
        "price": price,
        "qty": qty,
        "client_order_id": 0,
    }


def trade(
    seq: int, tid: int, price: int, qty: int, maker: tuple[int, str], leaves: tuple[int, int]
) -> dict[str, object]:
    return {
        "type": "trade",
        "seq": seq,
        "trade_id": tid,
        "symbol": "XYZ",
        "price": price,
        "qty": qty,
        "maker_order_id": maker[0],
        "taker_order_id": 3,
        "maker_account": maker[1],
        "taker_account": "carol",
        "taker_side": "BUY",
        "maker_leaves": leaves[0],
        "taker_leaves": leaves[1],
    }


SMALL_EVENTS = [
    accepted(1, 1, "alice", "XYZ", "SELL", "GTC", 100, 10),
    accepted(2, 2, "bob", "XYZ", "SELL", "GTC", 101, 5),
    accepted(3, 3, "carol", "XYZ", "BUY", "IOC", 101, 12),
    trade(3, 1, 100, 10, (1, "alice"), (0, 2)),
    trade(3, 2, 101, 2, (2, "bob"), (3, 0)),
    {
        "type": "rejected",
        "seq": 4,
        "command": "CANCEL",
        "order_id": 9,
        "account": "dave",
        "reason": "UNKNOWN_ORDER",
        "client_order_id": 0,
    },
    accepted(5, 4, "dave", "ABC", "BUY", "GTC", 50, 7),
    accepted(6, 5, "erin", "ABC", "BUY", "GTC", 50, 3),
    accepted(7, 6, "erin", "ABC", "SELL", "GTC", 55, 1),
    {
        "type": "rejected",
        "seq": 8,
        "command": "NEW",
        "order_id": 7,
        "account": "erin",
        "reason": "INVALID_QUANTITY",
        "client_order_id": 0,
    },
]


def write(tmp_path: Path, text: str, name: str = "orders.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def replay(tmp_path: Path, source: Path, *extra: str) -> int:
    return cli.main(
        [
            "replay",
            str(source),
            "--trades-out",
            str(tmp_path / "t.csv"),
            "--book-out",
            str(tmp_path / "b.csv"),
            "--events-out",
            str(tmp_path / "e.jsonl"),
            *extra,
        ]
    )


def events(tmp_path: Path) -> list[dict[str, object]]:
    lines = (tmp_path / "e.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def test_outputs_of_a_small_file_are_exactly_the_hand_checked_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert replay(tmp_path, write(tmp_path, SMALL)) == 0
    assert (tmp_path / "t.csv").read_text() == SMALL_TRADES
    assert (tmp_path / "b.csv").read_text() == SMALL_BOOK
    assert events(tmp_path) == SMALL_EVENTS
    # The bytes too: compact JSON, fields in schema order after "type", one line each.
    assert (
        (tmp_path / "e.jsonl")
        .read_text()
        .startswith(
            '{"type":"accepted","seq":1,"order_id":1,"account":"alice","symbol":"XYZ","side":"SELL",'
            '"order_type":"LIMIT","tif":"GTC","price":100,"qty":10,"client_order_id":0}\n'
        )
    )
    err = capsys.readouterr().err
    assert "read        8 rows, 0 bad" in err
    assert "accepted    6" in err
    assert "rejected    2" in err
    assert "INVALID_QUANTITY        1" in err
    assert "UNKNOWN_ORDER           1" in err
    assert "trades      2" in err
    assert "rows/s" in err


def test_batches_do_not_change_the_outputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ringmatch.engine.replay.csv_replay, "BATCH_SIZE", 3)
    assert replay(tmp_path, write(tmp_path, SMALL)) == 0
    assert (tmp_path / "t.csv").read_text() == SMALL_TRADES
    assert (tmp_path / "b.csv").read_text() == SMALL_BOOK
    assert events(tmp_path) == SMALL_EVENTS


BAD_AT_4 = f"""{HEADER_V1}
1,NEW,1,alice,XYZ,SELL,LIMIT,GTC,100,10,0,NONE
2,NEW,2,bob,XYZ,BUY,LIMIT,GTC,100,4,0,NONE
3,NEW,3,bob,XYZ,BUY,LIMIT,GTC,1OO,4,0,NONE
4,NEW,4,carol,XYZ,BUY,LIMIT,GTC,100,1,0,NONE
5,NEW,5,carol,XYZ,BUY,LIMTI,GTC,100,1,0,NONE
6,NEW,6,dave,XYZ,BUY,LIMIT,GTC,100,2,0,NONE
"""


@pytest.mark.parametrize("batch_size", [1, 2, 4096])
def test_bad_row_stops_with_status_2_after_writing_the_rows_before_it(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    batch_size: int,
) -> None:
    monkeypatch.setattr(ringmatch.engine.replay.csv_replay, "BATCH_SIZE", batch_size)
    source = write(tmp_path, BAD_AT_4)
    assert replay(tmp_path, source) == 2
    err = capsys.readouterr().err
    assert f"{source}:4: price: '1OO' is not a whole number\n" in err
    assert "stopped at line 4" in err
    assert "LIMTI" not in err  # nothing after the bad row was read
    assert (tmp_path / "t.csv").read_text().splitlines()[1:] == ["1,XYZ,100,4,1,2,alice,bob,BUY"]
    assert (tmp_path / "b.csv").read_text().splitlines()[1:] == ["XYZ,SELL,100,1,alice,6"]
    assert [e["seq"] for e in events(tmp_path)] == [1, 2, 2]


def test_skip_bad_reports_each_bad_row_and_goes_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write(tmp_path, BAD_AT_4)
    assert replay(tmp_path, source, "--skip-bad") == 1  # done, but rows were left out
    err = capsys.readouterr().err
    assert f"{source}:4: price: '1OO' is not a whole number\n" in err
    expected = "(expected LIMIT | MARKET | STOP | STOP_LIMIT)"
    assert f"{source}:6: type: unknown value 'LIMTI' {expected}\n" in err
    assert "read        6 rows, 2 bad" in err
    assert f"replay of {source} (csv): 2 bad rows skipped, left out of every output\n" in err
    assert (tmp_path / "t.csv").read_text().splitlines()[1:] == [
        "1,XYZ,100,4,1,2,alice,bob,BUY",
        "2,XYZ,100,1,1,4,alice,carol,BUY",
        "3,XYZ,100,2,1,6,alice,dave,BUY",
    ]
    assert (tmp_path / "b.csv").read_text().splitlines()[1:] == ["XYZ,SELL,100,1,alice,3"]


def test_bad_header_stops_even_with_skip_bad(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write(tmp_path, "ts,action\n1,NEW\n")
    assert replay(tmp_path, source, "--skip-bad") == 2
    assert f"{source}:1: bad header: expected {HEADER}, got 'ts,action'" in capsys.readouterr().err
    assert (tmp_path / "b.csv").read_text() == "symbol,side,price,order_id,account,qty\n"


def test_missing_file_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.csv"
    assert cli.main(["replay", str(missing)]) == 2
    assert capsys.readouterr().err == (
        f"ringmatch: cannot read {missing}: No such file or directory\n"
    )


def test_directory_instead_of_file_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["replay", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith(f"ringmatch: cannot read {tmp_path}: ")


def test_unwritable_output_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write(tmp_path, SMALL)
    out = tmp_path / "no-such-dir" / "t.csv"
    assert cli.main(["replay", str(source), "--trades-out", str(out)]) == 2
    assert capsys.readouterr().err == f"ringmatch: cannot write {out}: No such file or directory\n"


def test_outputs_are_optional(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["replay", str(write(tmp_path, SMALL))]) == 0
    assert "trades      2" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["orders.csv"]


def test_example_file_replays_cleanly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert replay(tmp_path, REPO / "examples" / "orders.csv") == 0
    err = capsys.readouterr().err
    assert " rows, 0 bad" in err
    # It shows every kind of outcome: trades on both symbols, every STP mode's
    # effects, business rejects as events, and a book left on both symbols.
    kinds = {e["type"] for e in events(tmp_path)}
    assert kinds == {"accepted", "rejected", "trade", "cancelled", "reduced", "replaced"}
    trades = (tmp_path / "t.csv").read_text().splitlines()[1:]
    assert {t.split(",")[1] for t in trades} == {"ACME", "BOLT"}
    book = (tmp_path / "b.csv").read_text().splitlines()[1:]
    assert {b.split(",")[0] for b in book} == {"ACME", "BOLT"}


def test_cli_runs_as_a_module_in_a_subprocess(tmp_path: Path) -> None:
    source = write(tmp_path, BAD_AT_4)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "ringmatch.cli",
            "replay",
            str(source),
            "--book-out",
            str(tmp_path / "b.csv"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith(f"{source}:4: price: '1OO' is not a whole number\n")
    assert (tmp_path / "b.csv").read_text().splitlines()[1:] == ["XYZ,SELL,100,1,alice,6"]


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        cli.main(["--version"])
    assert done.value.code == 0
    # the version, then which core runs (compiled or pure: engine/build_info.py)
    assert capsys.readouterr().out == f"ringmatch {cli.version()}, {build_info.describe()}\n"
    assert cli.version().count(".") == 2


def test_format_dispatch_passes_every_option_to_its_module(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen = []

    def fake_run(args: argparse.Namespace) -> int:
        seen.append(args)
        return 7

    monkeypatch.setattr(cli, "_runner", lambda fmt: fake_run if fmt == "lobster" else None)
    argv = [
        "replay",
        "msgs.csv",
        "--format",
        "lobster",
        "--orderbook",
        "ob.csv",
        "--levels",
        "5",
        "--resync",
        "--speed",
        "2.5",
        "--skip-bad",
        "--trades-out",
        "t.csv",
    ]
    assert cli.main(argv) == 7
    (args,) = seen
    assert vars(args) == {
        "command": "replay",
        "file": "msgs.csv",
        "format": "lobster",
        "orderbook": "ob.csv",
        "levels": 5,
        "resync": True,
        "speed": 2.5,
        "skip_bad": True,
        "trades_out": "t.csv",
        "book_out": None,
        "events_out": None,
    }


def test_levels_defaults_to_1(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = []

    def fake_run(args: argparse.Namespace) -> int:
        seen.append(args)
        return 0

    monkeypatch.setattr(cli, "_runner", lambda fmt: fake_run)
    assert cli.main(["replay", "m.csv", "--format", "lobster"]) == 0
    assert seen[0].levels == 1


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["replay", "f.csv", "--orderbook", "ob.csv"], "--orderbook is only for --format lobster"),
        (["replay", "f.csv", "--resync"], "--resync is only for --format lobster"),
        (["replay", "f.csv", "--levels", "2"], "--levels is only for --format lobster"),
        (["replay", "f.csv", "--format", "lobster", "--levels", "0"], "must be >= 1, got 0"),
        (["replay", "f.csv", "--speed", "0"], "must be a finite number > 0, got 0"),
        (["replay", "f.csv", "--speed", "-1"], "must be a finite number > 0"),
        (["replay", "f.csv", "--speed", "nan"], "must be a finite number > 0"),
        (["replay", "f.csv", "--speed", "fast"], "not a number: 'fast'"),
        (["replay", "f.csv", "--format", "xml"], "invalid choice: 'xml'"),
        (["replay"], "the following arguments are required: FILE"),
        ([], "the following arguments are required: COMMAND"),
    ],
)
def test_usage_errors_exit_2_with_a_message(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as done:
        cli.main(argv)
    assert done.value.code == 2
    assert message in capsys.readouterr().err


def test_speed_paces_each_command_by_its_timestamp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [0]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += int(seconds * 1e9)

    # A fake clock: the replay's own Pacer, with the clock and sleep injected.
    monkeypatch.setattr(
        ringmatch.engine.replay.csv_replay,
        "Pacer",
        lambda speed: Pacer(speed, clock=lambda: now[0], sleep=sleep),
    )
    rows = [
        f"{ts},NEW,{i},a,XYZ,BUY,LIMIT,GTC,100,1,0,NONE"
        for i, ts in enumerate([1_000_000_000, 1_000_000_000, 3_000_000_000, 7_000_000_000], 1)
    ]
    source = write(tmp_path, "\n".join([HEADER_V1, *rows]) + "\n")
    assert cli.main(["replay", str(source), "--speed", "2"]) == 0
    assert sleeps == pytest.approx([1.0, 2.0])  # 2 s then 4 s of file time, at 2x


def test_paced_hands_out_one_command_at_a_time_after_its_wait() -> None:
    log: list[object] = []
    pacer = Pacer(1.0, clock=lambda: 0, sleep=lambda s: log.append(("sleep", s)))

    def order(ts: int) -> NewOrder:
        return NewOrder(ts, "a", "S", Side.BUY, OrderType.LIMIT, 1, 1, ts_ns=ts)

    for batch in ringmatch.engine.replay.csv_replay.paced(
        [[order(1), order(2)], [order(5)]], pacer
    ):
        log.append([c.order_id for c in batch])
    assert log == [[1], ("sleep", 1e-9), [2], ("sleep", 4e-9), [5]]


# Hand-checked against VENUE_RULES.md: the iceberg refreshes behind nobody and keeps
# matching (V-ICE-2), the held stop never triggers (prints at 100, trigger 101), the GTD
# order expires at the first input at or past its expire_ts (the CLOCK at 60), the
# closing auction uncrosses at 100 in price-time order and the DAY order left expires.
VENUE = f"""{HEADER}
1,NEW,1,alice,ACME,SELL,LIMIT,,100,10,,,,4,,
2,NEW,2,bob,ACME,BUY,STOP,,,5,,,101,,,
3,NEW,3,carol,ACME,BUY,LIMIT,GTD,99,3,,,,,50,
4,NEW,4,dave,ACME,BUY,LIMIT,,100,6,,,,,,
5,CLOCK,,,,,,,,,,,,,,
60,CLOCK,,,,,,,,,,,,,,
70,PHASE,,,ACME,,,,,,,,,,,CLOSING_AUCTION
71,NEW,5,erin,ACME,BUY,LIMIT,DAY,100,2,,,,,,
72,NEW,6,bob,ACME,SELL,LIMIT,DAY,100,1,,,,,,
80,PHASE,,,ACME,,,,,,,,,,,CLOSED
"""

VENUE_EVENTS = [
    {
        "type": "accepted",
        "seq": 1,
        "order_id": 1,
        "account": "alice",
        "symbol": "ACME",
        "side": "SELL",
        "order_type": "LIMIT",
        "tif": "GTC",
        "price": 100,
        "qty": 10,
        "client_order_id": 0,
        "display_qty": 4,
    },
    {
        "type": "accepted",
        "seq": 2,
        "order_id": 2,
        "account": "bob",
        "symbol": "ACME",
        "side": "BUY",
        "order_type": "STOP",
        "tif": "GTC",
        "price": None,
        "qty": 5,
        "client_order_id": 0,
        "trigger_price": 101,
    },
    {
        "type": "accepted",
        "seq": 3,
        "order_id": 3,
        "account": "carol",
        "symbol": "ACME",
        "side": "BUY",
        "order_type": "LIMIT",
        "tif": "GTD",
        "price": 99,
        "qty": 3,
        "client_order_id": 0,
        "expire_ts": 50,
    },
    {
        "type": "accepted",
        "seq": 4,
        "order_id": 4,
        "account": "dave",
        "symbol": "ACME",
        "side": "BUY",
        "order_type": "LIMIT",
        "tif": "GTC",
        "price": 100,
        "qty": 6,
        "client_order_id": 0,
    },
    {
        "type": "trade",
        "seq": 4,
        "trade_id": 1,
        "symbol": "ACME",
        "price": 100,
        "qty": 4,
        "maker_order_id": 1,
        "taker_order_id": 4,
        "maker_account": "alice",
        "taker_account": "dave",
        "taker_side": "BUY",
        "maker_leaves": 6,
        "taker_leaves": 2,
    },
    {
        "type": "refreshed",
        "seq": 4,
        "order_id": 1,
        "account": "alice",
        "symbol": "ACME",
        "side": "SELL",
        "price": 100,
        "shown": 4,
        "leaves": 6,
    },
    {
        "type": "trade",
        "seq": 4,
        "trade_id": 2,
        "symbol": "ACME",
        "price": 100,
        "qty": 2,
        "maker_order_id": 1,
        "taker_order_id": 4,
        "maker_account": "alice",
        "taker_account": "dave",
        "taker_side": "BUY",
        "maker_leaves": 4,
        "taker_leaves": 0,
    },
    {
        "type": "cancelled",
        "seq": 6,
        "order_id": 3,
        "account": "carol",
        "symbol": "ACME",
        "side": "BUY",
        "price": 99,
        "qty": 3,
        "reason": "EXPIRED",
    },
    {
        "type": "phase_changed",
        "seq": 7,
        "symbol": "ACME",
        "phase": "CLOSING_AUCTION",
        "previous": "CONTINUOUS",
    },
    {
        "type": "indicative",
        "seq": 7,
        "symbol": "ACME",
        "price": None,
        "volume": 0,
        "imbalance_side": None,
        "imbalance_qty": 0,
    },
    {
        "type": "accepted",
        "seq": 8,
        "order_id": 5,
        "account": "erin",
        "symbol": "ACME",
        "side": "BUY",
        "order_type": "LIMIT",
        "tif": "DAY",
        "price": 100,
        "qty": 2,
        "client_order_id": 0,
    },
    {
        "type": "indicative",
        "seq": 8,
        "symbol": "ACME",
        "price": 100,
        "volume": 2,
        "imbalance_side": "SELL",
        "imbalance_qty": 2,
    },
    {
        "type": "accepted",
        "seq": 9,
        "order_id": 6,
        "account": "bob",
        "symbol": "ACME",
        "side": "SELL",
        "order_type": "LIMIT",
        "tif": "DAY",
        "price": 100,
        "qty": 1,
        "client_order_id": 0,
    },
    {
        "type": "indicative",
        "seq": 9,
        "symbol": "ACME",
        "price": 100,
        "volume": 2,
        "imbalance_side": "SELL",
        "imbalance_qty": 3,
    },
    {
        "type": "phase_changed",
        "seq": 10,
        "symbol": "ACME",
        "phase": "CLOSED",
        "previous": "CLOSING_AUCTION",
    },
    {
        "type": "auction_trade",
        "seq": 10,
        "trade_id": 3,
        "symbol": "ACME",
        "price": 100,
        "qty": 2,
        "buy_order_id": 5,
        "sell_order_id": 1,
        "buy_account": "erin",
        "sell_account": "alice",
        "buy_leaves": 0,
        "sell_leaves": 2,
    },
    {
        "type": "refreshed",
        "seq": 10,
        "order_id": 1,
        "account": "alice",
        "symbol": "ACME",
        "side": "SELL",
        "price": 100,
        "shown": 2,
        "leaves": 2,
    },
    {
        "type": "cancelled",
        "seq": 10,
        "order_id": 6,
        "account": "bob",
        "symbol": "ACME",
        "side": "SELL",
        "price": 100,
        "qty": 1,
        "reason": "EXPIRED",
    },
]


@pytest.mark.parametrize("pure", [True, False], ids=["reference", "compiled"])
def test_a_venue_file_replays_in_either_kernel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], pure: bool
) -> None:
    # Its phases and auction too: the compiled kernel runs every venue rule.
    if pure:
        monkeypatch.setenv("RINGMATCH_PURE", "1")
    else:
        from ringmatch.engine.core import kernel_choice

        need(kernel_choice.compiled_module() is not None, "the compiled kernel was not built")
        monkeypatch.delenv("RINGMATCH_PURE", raising=False)
    assert replay(tmp_path, write(tmp_path, VENUE)) == 0
    assert events(tmp_path) == VENUE_EVENTS
    assert (tmp_path / "t.csv").read_text().splitlines()[1:] == [
        "1,ACME,100,4,1,4,alice,dave,BUY",
        "2,ACME,100,2,1,4,alice,dave,BUY",
        "3,ACME,100,2,5,1,erin,alice,SELL",  # the uncross: the buyer as the maker
    ]
    assert (tmp_path / "b.csv").read_text().splitlines()[1:] == ["ACME,SELL,100,1,alice,2"]
    err = capsys.readouterr().err
    assert "trades      3" in err


def test_a_journal_with_a_phase_change_replays_the_same_on_the_compiled_kernel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from ringmatch.engine.core import kernel_choice
    from ringmatch.engine.journal.log import JournalWriter
    from ringmatch.engine.schema.commands import NewOrder, SetPhase
    from ringmatch.engine.schema.enums import OrderType, Side, TradingPhase

    need(kernel_choice.compiled_module() is not None, "the compiled kernel was not built")
    data = tmp_path / "data"
    with JournalWriter(data) as writer:
        writer.append_batch(
            [
                (1, NewOrder(1, "a", "X", Side.SELL, OrderType.LIMIT, 100, 5)),
                (2, NewOrder(2, "b", "X", Side.BUY, OrderType.LIMIT, 100, 2)),
                (3, NewOrder(3, "b", "X", Side.BUY, OrderType.STOP, None, 2, trigger_price=101)),
                (4, SetPhase("X", TradingPhase.HALTED)),
                (5, NewOrder(4, "c", "X", Side.BUY, OrderType.LIMIT, 101, 4)),
                (6, SetPhase("X", TradingPhase.CONTINUOUS)),
            ]
        )
    args = ["replay", str(data), "--format", "journal", "--events-out", str(tmp_path / "e.jsonl")]
    monkeypatch.delenv("RINGMATCH_PURE", raising=False)
    assert cli.main(args) == 0
    compiled = events(tmp_path)
    # The halt, its call book's indicative, the uncross on resuming: the buyer at
    # 101 meets the seller's 3 left at 100 (101 executes as much, with the same
    # imbalance: the last trade, 100, is the nearer), short of the stop's 101.
    kinds = [e["type"] for e in compiled]
    assert kinds[4:] == [
        "phase_changed", "indicative", "accepted", "indicative", "phase_changed",
        "auction_trade",
    ]  # fmt: skip
    assert (compiled[-1]["price"], compiled[-1]["qty"]) == (100, 3)
    monkeypatch.setenv("RINGMATCH_PURE", "1")
    assert cli.main(args) == 0
    assert events(tmp_path) == compiled
