"""The order CSV: what parses into which command, and every way a row is a file error."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ringmatch.engine.records import layout
from ringmatch.engine.replay.order_csv import (
    COLUMNS_V1,
    HEADER,
    HEADER_V1,
    FileInput,
    OnBadRow,
    OrderFileError,
    OrderReader,
    RowError,
    _parse_checked,
    _parse_plain,
    command_to_row,
    open_order_file,
    parse_row,
)
from ringmatch.engine.schema.commands import Cancel, Clock, Command, NewOrder, Replace, SetPhase
from ringmatch.engine.schema.enums import OrderType, Side, StpMode, TimeInForce, TradingPhase


def row(text: str) -> list[str]:
    return next(csv.reader([text]))


def read_all(text: str, on_bad: OnBadRow | None = None, size: int = 1000) -> list[FileInput]:
    reader = OrderReader(io.StringIO(text), "f.csv", on_bad)
    return [c for batch in reader.batches(size) for c in batch]


# --- rows that parse --------------------------------------------------------


def test_new_limit_row_with_every_field() -> None:
    cmd = parse_row(row("17,NEW,5,alice,ACME,BUY,LIMIT,FOK,10100,30,0,CANCEL_BOTH"))
    assert cmd == NewOrder(
        order_id=5,
        account="alice",
        symbol="ACME",
        side=Side.BUY,
        order_type=OrderType.LIMIT,
        price=10100,
        qty=30,
        tif=TimeInForce.FOK,
        post_only=False,
        stp=StpMode.CANCEL_BOTH,
        ts_ns=17,
    )


def test_empty_tif_post_only_and_stp_take_their_defaults() -> None:
    cmd = parse_row(row("0,NEW,1,a,S,SELL,LIMIT,,5,1,,"))
    assert isinstance(cmd, NewOrder)
    assert (cmd.tif, cmd.post_only, cmd.stp) == (None, False, StpMode.NONE)


def test_market_row_without_price_or_tif() -> None:
    cmd = parse_row(row("0,NEW,1,a,S,SELL,MARKET,,,7,0,NONE"))
    assert isinstance(cmd, NewOrder)
    assert (cmd.order_type, cmd.price, cmd.tif) == (OrderType.MARKET, None, None)
    ioc = parse_row(row("0,NEW,1,a,S,SELL,MARKET,IOC,,7,0,NONE"))
    assert isinstance(ioc, NewOrder)
    assert ioc.tif is TimeInForce.IOC


def test_post_only_one_is_true() -> None:
    cmd = parse_row(row("0,NEW,1,a,S,BUY,LIMIT,GTC,5,1,1,DECREMENT"))
    assert isinstance(cmd, NewOrder)
    assert cmd.post_only is True
    assert cmd.stp is StpMode.DECREMENT


def test_cancel_ignores_the_other_columns() -> None:
    assert parse_row(row("9,CANCEL,4,bob,,,,,,,,")) == Cancel(4, "bob", 9)
    # An order keeps its own symbol and side: whatever a CANCEL carries is not read.
    assert parse_row(row("9,CANCEL,4,bob,X,junk,junk,junk,x,y,z,w")) == Cancel(4, "bob", 9)


def test_replace_reads_price_and_qty_only() -> None:
    assert parse_row(row("9,REPLACE,4,bob,,,,,101,6,,")) == Replace(4, "bob", 101, 6, 9)
    assert parse_row(row("9,REPLACE,4,bob,X,junk,junk,junk,101,6,z,w")) == Replace(
        4, "bob", 101, 6, 9
    )


@pytest.mark.parametrize(
    "text",
    [
        "0,NEW,1,a,S,BUY,LIMIT,GTC,100,0,0,NONE",  # qty 0
        "0,NEW,1,a,S,BUY,LIMIT,GTC,100,-3,0,NONE",  # qty < 0
        "0,NEW,1,a,S,BUY,LIMIT,GTC,0,5,0,NONE",  # price 0
        "0,NEW,1,a,S,BUY,LIMIT,GTC,-100,5,0,NONE",  # price < 0
        "0,NEW,1,a,S,BUY,LIMIT,GTC,,5,0,NONE",  # limit without a price
        "0,NEW,1,a,S,BUY,MARKET,,100,5,0,NONE",  # market with a price
        "0,NEW,1,a,S,BUY,MARKET,GTC,,5,0,NONE",  # market GTC
        "0,NEW,1,a,S,BUY,LIMIT,IOC,100,5,1,NONE",  # post-only IOC
        "0,NEW,0,a,S,BUY,LIMIT,GTC,100,5,0,NONE",  # order id 0
        "0,NEW,-7,a,S,BUY,LIMIT,GTC,100,5,0,NONE",  # order id < 0
        "0,NEW,1,a,,BUY,LIMIT,GTC,100,5,0,NONE",  # empty symbol
        "0,REPLACE,1,a,,,,,0,0,,",  # replace to price 0, qty 0
        "0,CANCEL,-1,a,,,,,,,,",  # cancel of id -1
    ],
)
def test_business_rule_breaks_parse_for_the_engine_to_reject(text: str) -> None:
    # The engine's Rejected event is the contract for these; the parser lets them through.
    parse_row(row(text))


# --- the venue's columns (docs/ORDER_TYPES.md) --------------------------------


def test_venue_rows_parse_into_their_inputs() -> None:
    stop = parse_row(row("5,NEW,1,a,ACME,BUY,STOP,,,10,,,10100,,,"))
    assert stop == NewOrder(1, "a", "ACME", Side.BUY, OrderType.STOP, None, 10, ts_ns=5,
                            trigger_price=10100)  # fmt: skip
    iceberg = parse_row(row("5,NEW,2,a,ACME,SELL,LIMIT,GTD,100,50,0,NONE,,10,900,"))
    assert iceberg == NewOrder(2, "a", "ACME", Side.SELL, OrderType.LIMIT, 100, 50,
                               TimeInForce.GTD, stp=StpMode.NONE, ts_ns=5, display_qty=10,
                               expire_ts=900)  # fmt: skip
    day = parse_row(row("6,NEW,3,a,ACME,BUY,STOP_LIMIT,DAY,99,1,,,98,,,"))
    assert day == NewOrder(3, "a", "ACME", Side.BUY, OrderType.STOP_LIMIT, 99, 1,
                           TimeInForce.DAY, ts_ns=6, trigger_price=98)  # fmt: skip
    # A held STOP has no price: an empty one keeps it so; the trigger moves.
    assert parse_row(row("7,REPLACE,1,a,,,,,,8,,,10200,,,")) == Replace(
        1, "a", None, 8, 7, trigger_price=10200
    )
    assert parse_row(row("8,PHASE,,,ACME,,,,,,,,,,,CLOSING_AUCTION")) == SetPhase(
        "ACME", TradingPhase.CLOSING_AUCTION, 8
    )
    assert parse_row(row("9,CLOCK,,,,,,,,,,,,,,")) == Clock(9)
    # A PHASE row's price is the symbol's reference price for its auctions (V-AUC-2).
    assert parse_row(row("8,PHASE,,,ACME,,,,10050,,,,,,,OPENING_AUCTION")) == SetPhase(
        "ACME", TradingPhase.OPENING_AUCTION, 8, 10050
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("5,NEW,1,a,S,BUY,STOP,,,10,,,1O1,,,", "trigger_price: '1O1' is not a whole number"),
        ("5,NEW,1,a,S,BUY,LIMIT,,100,10,,,,x,,", "display_qty: 'x' is not a whole number"),
        ("5,NEW,1,a,S,BUY,LIMIT,GTD,100,10,,,,,9e9,", "expire_ts: '9e9' is not a whole number"),
        ("5,REPLACE,1,a,,,,,,8,,,-,,,", "trigger_price: '-' is not a whole number"),
        ("5,PHASE,,,,,,,,,,,,,,CLOSED", "symbol: missing (required)"),
        ("5,PHASE,,,S,,,,,,,,,,,", "phase: missing (required)"),
        (
            "5,PHASE,,,S,,,,,,,,,,,OPEN",
            "phase: unknown value 'OPEN' (expected PRE_OPEN | OPENING_AUCTION | CONTINUOUS | "
            "CLOSING_AUCTION | CLOSED | HALTED)",
        ),
        ("-1,CLOCK,,,,,,,,,,,,,,", "ts_ns: -1 is negative"),
        ("5,PHASE,,,S,,,,1e4,,,,,,,CLOSED", "price: '1e4' is not a whole number"),
        ("x,CLOCK,,,,,,,,,,,,,,", "ts_ns: 'x' is not a whole number"),
    ],
)
def test_a_bad_venue_field_is_a_row_error_naming_it(text: str, message: str) -> None:
    with pytest.raises(RowError) as caught:
        parse_row(row(text))
    assert str(caught.value) == message


def test_a_venue_row_breaking_a_rule_goes_to_the_engine() -> None:
    # STOP_WOULD_TRIGGER, a display_qty above qty, a GTD without expire_ts: Rejected events.
    for text in [
        "5,NEW,1,a,S,BUY,STOP,,,10,,,,,,",  # a stop without a trigger
        "5,NEW,1,a,S,BUY,LIMIT,,100,10,,,,20,,",  # display_qty > qty
        "5,NEW,1,a,S,BUY,LIMIT,GTD,100,10,,,,,,",  # GTD without expire_ts
        "5,NEW,1,a,S,BUY,LIMIT,,100,10,,,,,-5,",  # a negative expire_ts
    ]:
        assert isinstance(parse_row(row(text)), NewOrder)


def test_both_headers_load_and_each_file_keeps_its_own_width() -> None:
    v1 = "0,NEW,1,a,S,BUY,LIMIT,GTC,100,5,0,NONE"
    v2 = v1 + ",,,,"
    assert read_all(f"{HEADER_V1}\n{v1}\n") == read_all(f"{HEADER}\n{v2}\n") == [parse_row(row(v1))]
    with pytest.raises(OrderFileError) as caught:
        read_all(f"{HEADER_V1}\n{v1}\n{v2}\n")
    assert str(caught.value) == f"f.csv:3: expected 12 fields ({HEADER_V1}), got 16"
    with pytest.raises(OrderFileError) as caught:
        read_all(f"{HEADER}\n{v2}\n{v1}\n")
    assert str(caught.value) == f"f.csv:3: expected 16 fields ({HEADER}), got 12"
    # A venue action in a first-kind file: it has no phase column.
    with pytest.raises(OrderFileError, match=r"^f\.csv:2: phase: missing \(required\)$"):
        read_all(f"{HEADER_V1}\n0,PHASE,,,S,,,,,,,\n")


# --- rows that are file errors -----------------------------------------------

GOOD = "0,NEW,1,a,S,BUY,LIMIT,GTC,100,5,0,NONE"


def with_field(index: int, value: str, base: str = GOOD) -> str:
    fields = row(base)
    fields[index] = value
    return ",".join(fields)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0,NEW,1,a,S,BUY,LIMIT,GTC,100,5,0", "expected 16 fields"),
        (GOOD + ",", "expected 16 fields"),
        ("", "expected 16 fields"),
        (with_field(0, ""), "ts_ns: missing (required)"),
        (with_field(0, "-1"), "ts_ns: -1 is negative"),
        (with_field(0, "1.5e9"), "ts_ns: '1.5e9' is not a whole number"),
        (
            with_field(1, "AMEND"),
            "action: unknown value 'AMEND' (expected NEW | CANCEL | REPLACE | PHASE | CLOCK)",
        ),
        (with_field(1, "new"), "action: unknown value 'new'"),
        (with_field(1, ""), "action: missing (required)"),
        (with_field(2, ""), "order_id: missing (required)"),
        (with_field(2, "x1"), "order_id: 'x1' is not a whole number"),
        (with_field(2, str(2**63)), f"order_id: {2**63} does not fit in 64 bits"),
        (with_field(3, ""), "account: missing (required)"),
        (with_field(5, "BUYY"), "side: unknown value 'BUYY' (expected BUY | SELL)"),
        (with_field(5, ""), "side: missing (required)"),
        (
            with_field(6, "STOPLOSS"),
            "type: unknown value 'STOPLOSS' (expected LIMIT | MARKET | STOP | STOP_LIMIT)",
        ),
        (with_field(6, ""), "type: missing (required)"),
        (
            with_field(7, "GTX"),
            "tif: unknown value 'GTX' (expected GTC | IOC | FOK | DAY | GTD or empty)",
        ),
        (with_field(8, "100.5"), "price: '100.5' is not a whole number"),
        (with_field(9, ""), "qty: missing (required)"),
        (with_field(9, "1.5"), "qty: '1.5' is not a whole number"),
        (with_field(9, " 5"), "qty: ' 5' is not a whole number"),
        (with_field(9, "+5"), "qty: '+5' is not a whole number"),
        (with_field(9, "1_000"), "qty: '1_000' is not a whole number"),
        (with_field(9, "\u0663"), "qty: '\u0663' is not a whole number"),  # an Arabic 3
        (with_field(9, "-"), "qty: '-' is not a whole number"),
        (with_field(10, "2"), "post_only: unknown value '2' (expected 0 | 1 or empty)"),
        (with_field(10, "true"), "post_only: unknown value 'true'"),
        (with_field(11, "CANCEL_ALL"), "stp: unknown value 'CANCEL_ALL'"),
        (with_field(3, "al\udcffce"), "account: 'al\\udcffce' is not valid UTF-8"),
        (with_field(4, "AC\udcffME"), "symbol: 'AC\\udcffME' is not valid UTF-8"),
        (with_field(3, '"a\rb"'), "account: 'a\\rb' contains a control character"),
        (with_field(4, '"A\nB"'), "symbol: 'A\\nB' contains a control character"),
        (with_field(4, "A\tB"), "symbol: 'A\\tB' contains a control character"),
        ("0,CANCEL,,a,,,,,,,,", "order_id: missing (required)"),
        ("0,CANCEL,3,,,,,,,,,", "account: missing (required)"),
        # A file of the first kind has no held stops: a REPLACE's price is required.
        ("0,REPLACE,3,a,,,,,,5,,", "price: missing (required)"),
        ("0,REPLACE,3,a,,,,,100,,,", "qty: missing (required)"),
        ("0,REPLACE,3,a,,,,,100,five,,", "qty: 'five' is not a whole number"),
    ],
)
def test_malformed_row_is_a_row_error_naming_field_and_value(text: str, message: str) -> None:
    with pytest.raises(RowError) as caught:
        parse_row(row(text))
    assert message in str(caught.value)


def test_the_leftmost_bad_field_is_the_one_reported() -> None:
    with pytest.raises(RowError, match=r"^side: "):
        parse_row(row("0,NEW,1,a,S,BUYY,LIMIT,DAY,x,y,2,Z"))


# --- the file: header, line numbers, batches ---------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "f.csv:1: empty file: expected the header " + HEADER),
        ("ts_ns,action\n", "f.csv:1: bad header: expected " + HEADER + ", got 'ts_ns,action'"),
        (HEADER.upper() + "\n", "f.csv:1: bad header"),
        (HEADER + ",extra\n", "f.csv:1: bad header"),
        ("\n" + HEADER + "\n", "f.csv:1: bad header"),
    ],
)
def test_bad_header_is_a_file_error_even_when_skipping(text: str, message: str) -> None:
    skipped: list[OrderFileError] = []
    with pytest.raises(OrderFileError) as caught:
        read_all(text, on_bad=skipped.append)
    assert str(caught.value).startswith(message)
    assert skipped == []


def test_header_only_file_has_no_commands() -> None:
    assert read_all(HEADER + "\n") == []


def test_byte_order_mark_before_the_header_is_allowed(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + (HEADER_V1 + "\n" + GOOD + "\n").encode())
    with open_order_file(path) as stream:
        batches = list(OrderReader(stream, "bom.csv").batches(10))
    assert batches == [[parse_row(row(GOOD))]]


def test_invalid_utf8_byte_is_an_error_on_its_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes((HEADER_V1 + "\n" + GOOD + "\n").encode() + b"0,CANCEL,1,J\xfcrgen,,,,,,,,\n")
    with open_order_file(path) as stream, pytest.raises(OrderFileError) as caught:
        list(OrderReader(stream, "latin1.csv").batches(10))
    assert str(caught.value) == "latin1.csv:3: account: 'J\\udcfcrgen' is not valid UTF-8"


def test_error_names_file_and_line_counting_blank_lines_and_quoted_newlines() -> None:
    text = (
        HEADER_V1 + "\n"  # line 1
        "\n"  # line 2: blank, skipped
        '0,CANCEL,1,a,"multi\nline",,,,,,,\n'  # lines 3-4: an ignored column
         + GOOD + "\n"  # line 5
        "0,NEW,2,a,S,SIDEWAYS,LIMIT,GTC,100,5,0,NONE\n"  # line 6
    )
    with pytest.raises(OrderFileError) as caught:
        read_all(text)
    assert str(caught.value) == ("f.csv:6: side: unknown value 'SIDEWAYS' (expected BUY | SELL)")
    assert (caught.value.name, caught.value.line) == ("f.csv", 6)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ('0,NEW,1,"unclosed,S,BUY,LIMIT,GTC,100,5,0,NONE', "f.csv:3: not valid CSV"),
        ('0,NEW,1,"a"b,S,BUY,LIMIT,GTC,100,5,0,NONE', "f.csv:3: not valid CSV"),
    ],
)
def test_broken_quoting_is_a_file_error_on_its_line(bad: str, message: str) -> None:
    with pytest.raises(OrderFileError) as caught:
        read_all(HEADER_V1 + "\n" + GOOD + "\n" + bad + "\n")
    assert str(caught.value).startswith(message)


def test_commands_before_an_error_are_handed_out_before_it_is_raised() -> None:
    lines = [HEADER_V1] + [with_field(2, str(i)) for i in range(1, 6)] + ["junk"]
    reader = OrderReader(io.StringIO("\n".join(lines) + "\n"), "f.csv")
    got: list[Command] = []
    with pytest.raises(OrderFileError, match=r"^f\.csv:7: expected 12 fields"):
        for batch in reader.batches(2):
            assert len(batch) <= 2
            got.extend(batch)
    assert [c.order_id for c in got] == [1, 2, 3, 4, 5]
    assert (reader.rows, reader.bad_rows) == (6, 1)


def test_on_bad_gets_each_bad_row_and_reading_goes_on() -> None:
    text = "\n".join(
        [
            HEADER_V1,
            with_field(2, "1"),
            with_field(5, "UP"),  # line 3
            '0,NEW,1,"a"b,S,BUY,LIMIT,GTC,100,5,0,NONE',  # line 4: broken quoting
            with_field(2, "2"),
            "1,2,3",  # line 6
            with_field(2, "3"),
        ]
    )
    skipped: list[OrderFileError] = []
    reader = OrderReader(io.StringIO(text + "\n"), "f.csv", skipped.append)
    got = [c for batch in reader.batches(1000) for c in batch]
    assert [c.order_id for c in got] == [1, 2, 3]
    assert [e.line for e in skipped] == [3, 4, 6]
    assert str(skipped[0]) == "f.csv:3: side: unknown value 'UP' (expected BUY | SELL)"
    assert (reader.rows, reader.bad_rows) == (6, 3)


def test_batches_keep_file_order_and_size() -> None:
    lines = [HEADER_V1] + [with_field(2, str(i)) for i in range(1, 8)]
    reader = OrderReader(io.StringIO("\n".join(lines)), "f.csv")
    sizes = []
    ids = []
    for batch in reader.batches(3):
        sizes.append(len(batch))
        ids += [c.order_id for c in batch]
    assert sizes == [3, 3, 1]
    assert ids == list(range(1, 8))


# --- round trip --------------------------------------------------------------

int64 = st.integers(-(2**63), 2**63 - 1)
# Any text the format allows: no lone surrogates (not UTF-8), no control
# characters. Quotes, commas and other separators included: the csv module quotes them.
text = st.text(st.characters(exclude_categories=("Cs", "Cc")))
accounts = text.filter(bool)

new_orders = st.builds(
    NewOrder,
    order_id=int64,
    account=accounts,
    symbol=text,
    side=st.sampled_from(Side),
    order_type=st.sampled_from(list(layout.ORDER_TYPE_CODE)),
    price=st.none() | int64,
    qty=int64,
    tif=st.none() | st.sampled_from(list(layout.TIF_CODE)),
    post_only=st.booleans(),
    stp=st.sampled_from(StpMode),
    ts_ns=st.integers(0, 2**63 - 1),
)
cancels = st.builds(Cancel, int64, accounts, st.integers(0, 2**63 - 1))
replaces = st.builds(
    Replace,
    int64,
    accounts,
    st.none() | int64,
    int64,
    st.integers(0, 2**63 - 1),
    trigger_price=st.none() | int64,
)
set_phases = st.builds(
    SetPhase,
    accounts,
    st.sampled_from(TradingPhase),
    st.integers(0, 2**63 - 1),
    st.none() | int64,
)
clocks = st.builds(Clock, st.integers(0, 2**63 - 1))
venue_orders = st.builds(
    NewOrder,
    order_id=int64,
    account=accounts,
    symbol=text,
    side=st.sampled_from(Side),
    order_type=st.sampled_from(list(layout.ORDER_TYPE_CODE)),
    price=st.none() | int64,
    qty=int64,
    tif=st.none() | st.sampled_from(list(layout.TIF_CODE)),
    ts_ns=st.integers(0, 2**63 - 1),
    trigger_price=st.none() | int64,
    display_qty=st.none() | int64,
    expire_ts=st.none() | int64,
)


@given(st.lists(new_orders | venue_orders | cancels | replaces | set_phases | clocks, max_size=20))
def test_commands_written_as_rows_read_back_the_same(commands: list[FileInput]) -> None:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER.split(","))
    writer.writerows(command_to_row(c) for c in commands)
    assert read_all(out.getvalue(), size=3) == commands


# --- the fast path agrees with the checked one -------------------------------

PLAIN_NUMBERS = ["0", "7", "007", str(2**63 - 1), "1700000000000000000"]
NUMBERS = [*PLAIN_NUMBERS, "", "-3", "-", " 5", "+5", "1_0", "\u0663", "1.5", "x", str(2**63)]
TEXTS = ["alice", "A B", "caf\u00e9", "\u00a0", "", "a\tb", "a\udcffb"]
WORDS = [
    "",
    "x",
    "buy",
    "NEW",
    "SELL",
    "LIMIT",
    "GTC",
    "1",
    "NONE",
    "STOP",
    "DAY",
    "PHASE",
    "CLOCK",
]
# Per column: the values of a plain row, then anything else that column may meet.
COLUMN_VALUES = [
    (PLAIN_NUMBERS, NUMBERS),
    (["NEW", "CANCEL", "REPLACE"], WORDS),
    (PLAIN_NUMBERS, NUMBERS),
    (TEXTS[:4], TEXTS),
    (TEXTS[:4], TEXTS),
    (["BUY", "SELL"], WORDS),
    (["LIMIT", "MARKET"], WORDS),
    (["", "GTC", "IOC", "FOK"], WORDS),
    (["", *PLAIN_NUMBERS], NUMBERS),
    (PLAIN_NUMBERS, NUMBERS),
    (["", "0", "1"], WORDS),
    (["", "NONE", "CANCEL_TAKER", "CANCEL_MAKER", "CANCEL_BOTH", "DECREMENT"], WORDS),
    ([""], NUMBERS),  # trigger_price
    ([""], NUMBERS),  # display_qty
    ([""], NUMBERS),  # expire_ts
    ([""], [*WORDS, "CLOSED", "HALTED"]),  # phase
]


@st.composite
def rows(draw: st.DrawFn) -> list[str]:
    """A plain row with up to three fields swapped for something less plain."""
    fields = [draw(st.sampled_from(plain)) for plain, _ in COLUMN_VALUES]
    for _ in range(draw(st.integers(0, 3))):
        column = draw(st.integers(0, len(COLUMN_VALUES) - 1))
        fields[column] = draw(st.sampled_from(COLUMN_VALUES[column][1]))
    return fields


def checked(row: list[str]) -> FileInput:
    """_parse_checked as parse_row calls it: a row of 12 fields is a first-kind file's."""
    if len(row) == len(COLUMNS_V1):
        return _parse_checked([*row, "", "", "", ""], True)
    return _parse_checked(row)


def outcome(parse: Callable[[list[str]], FileInput], row: list[str]) -> FileInput | str:
    try:
        return parse(row)
    except RowError as exc:
        return f"RowError: {exc}"


PLAIN_ROWS_V1 = [
    row("1700000000000000000,NEW,1,alice,ACME,SELL,LIMIT,GTC,10100,50,0,NONE"),
    row("1700000000000000000,NEW,6,dave,ACME,BUY,MARKET,,,40,,"),
    row("1700000000000000000,CANCEL,2,alice,,,,,,,,"),
    row("1700000000000000000,REPLACE,3,carol,,,,,10092,60,,"),
]
PLAIN_ROWS = [[*plain, "", "", "", ""] for plain in PLAIN_ROWS_V1]


def test_common_rows_take_the_fast_path() -> None:
    for plain in PLAIN_ROWS:
        assert _parse_plain(plain) == _parse_checked(plain)
        assert _parse_plain(plain) is not None
    for plain in PLAIN_ROWS_V1:
        assert parse_row(plain) == checked(plain)


def test_fast_path_never_changes_a_row_with_one_odd_field() -> None:
    # Exhaustive over one field at a time; the property test below mixes several.
    for plain in PLAIN_ROWS:
        for column, (_, values) in enumerate(COLUMN_VALUES):
            for value in values:
                odd = [*plain[:column], value, *plain[column + 1 :]]
                assert outcome(parse_row, odd) == outcome(checked, odd), odd


@settings(max_examples=300)
@given(rows())
def test_fast_path_never_changes_what_a_row_means(row: list[str]) -> None:
    assert outcome(parse_row, row) == outcome(checked, row)
    assert outcome(parse_row, row[:12]) == outcome(checked, row[:12])  # a first-kind row
