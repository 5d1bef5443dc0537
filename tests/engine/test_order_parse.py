"""The compiled order-file parser gives the records of the Python path, byte for byte.

The Python path is order_csv's reader (parse_row) and convert.Encoder
(order_records.PythonRecordReader); the compiled one parses the common rows in
C++ and hands every other row to that same reader. On generated files (quoted
fields, odd whitespace, line ends of every kind, bad rows) and on arbitrary
bytes, both give the same records, the same names, and the same file errors.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ringmatch.engine.records import layout as L
from ringmatch.engine.replay.order_csv import HEADER, HEADER_V1, OrderFileError
from ringmatch.engine.replay.order_records import (
    CompiledRecordReader,
    PythonRecordReader,
    compiled_parser,
)

pytestmark = pytest.mark.skipif(not compiled_parser(), reason="the parser was not built")

Outcome = tuple[bytes, list[str], list[str], list[str], int, int, int, dict[int, int], str]


def outcome(
    reader_class: type[CompiledRecordReader] | type[PythonRecordReader],
    data: bytes,
    skip: bool,
    max_rows: int,
    **options: int,
) -> Outcome:
    """Everything a reader gives for ``data``: records, names, counts, errors."""
    skipped: list[str] = []
    reader = reader_class(io.BytesIO(data), "f.csv", skipped.append if skip else None, **options)
    parts: list[bytes] = []
    error = ""
    try:
        for batch in reader.batches(max_rows):
            assert len(batch) <= max_rows + 5  # order_records.ROW_RECORDS - 1
            parts.append(batch.tobytes())
    except OrderFileError as exc:
        error = str(exc)
    d = reader.directory
    return (
        b"".join(parts),
        d.symbols.names(),
        d.accounts.names(),
        [str(e) for e in skipped],
        reader.rows,
        reader.bad_rows,
        reader.commands,
        reader.file_order_ids,
        error,
    )


def same_outcome(data: bytes, skip: bool, max_rows: int, chunk_bytes: int) -> None:
    python = outcome(PythonRecordReader, data, skip, max_rows)
    compiled = outcome(CompiledRecordReader, data, skip, max_rows, chunk_bytes=chunk_bytes)
    assert compiled == python


# -- generated order files ---------------------------------------------------------------

PLAIN_NUMBERS = ["0", "7", "0042", "10100", str(2**63 - 1)]
ODD_NUMBERS = ["", "-3", "-0", " 5", "5 ", "+5", "1_0", "\u0663", "1.5", "x", str(2**63), "-"]
NAMES = ["alice", "bob", "A B", "acct-7", "x" * 64]
ODD_NAMES = ["", " alice", "caf\u00e9", "\u00a0", "a\tb", "x" * 65, "\u00e9" * 33, "a\x7fb"]
WORDS = {
    "action": ["NEW", "CANCEL", "REPLACE", "NEW", "CANCEL", "REPLACE", "PHASE", "CLOCK"],
    "side": ["BUY", "SELL"],
    "type": ["LIMIT", "MARKET", "LIMIT", "MARKET", "STOP", "STOP_LIMIT"],
    "tif": ["", "GTC", "IOC", "FOK", "", "GTC", "IOC", "FOK", "DAY", "GTD"],
    "post_only": ["", "0", "1"],
    "stp": ["", "NONE", "CANCEL_TAKER", "CANCEL_MAKER", "CANCEL_BOTH", "DECREMENT"],
    "phase": ["PRE_OPEN", "CONTINUOUS", "CLOSING_AUCTION", "CLOSED", "HALTED"],
}
ODD_WORDS = ["", "buy", "NEW ", " GTC", "x", "2"]


@st.composite
def fields(draw: st.DrawFn, width: int = 16) -> list[str]:
    """A row's ``width`` fields (16, or 12 of a first-kind file): plain mostly, odd
    sometimes; the venue columns empty mostly, a value sometimes."""

    def pick(plain: list[str], odd: list[str]) -> str:
        return draw(st.sampled_from(odd if draw(st.integers(0, 9)) == 0 else plain))

    number = (PLAIN_NUMBERS, ODD_NUMBERS)
    name = (NAMES, ODD_NAMES)
    out = [
        pick(*number),
        pick(WORDS["action"], ODD_WORDS),
        pick(*number),
        pick(*name),
        pick(*name),
        pick(WORDS["side"], ODD_WORDS),
        pick(WORDS["type"], ODD_WORDS),
        pick(WORDS["tif"], ODD_WORDS),
        pick(["", *PLAIN_NUMBERS], ODD_NUMBERS),
        pick(*number),
        pick(WORDS["post_only"], ODD_WORDS),
        pick(WORDS["stp"], ODD_WORDS),
    ]
    if width == 16:
        venue = (["", "", "", "", *PLAIN_NUMBERS], ODD_NUMBERS)
        out += [pick(*venue), pick(*venue), pick(*venue)]
        out.append(pick(["", "", "", *WORDS["phase"]], ODD_WORDS))
    extra = draw(st.integers(-1, 12))  # sometimes a field too many or too few
    if extra == -1:
        out.pop()
    elif extra == 0:
        out.append("")
    return out


def quoted(field: str, how: int) -> str:
    if how == 1:
        return '"' + field.replace('"', '""') + '"'
    if how == 2:
        return '"' + field + ",\nmore" + '"'  # a quoted line break (an ignored column?)
    if how == 3:
        return '"' + field  # unclosed
    return field


@st.composite
def lines(draw: st.DrawFn, width: int = 16) -> str:
    kind = draw(st.integers(0, 19))
    if kind == 0:
        return ""  # a blank line
    if kind == 1:
        return draw(st.text(max_size=20))  # anything at all
    row = draw(fields(width))
    if kind == 2:  # one quoted field
        at = draw(st.integers(0, len(row) - 1))
        row[at] = quoted(row[at], draw(st.integers(1, 3)))
    return ",".join(row)


@st.composite
def order_files(draw: st.DrawFn) -> bytes:
    ends = draw(st.lists(st.sampled_from(["\n", "\r\n", "\r"]), min_size=1, max_size=3))
    header = draw(
        st.sampled_from([HEADER, HEADER, HEADER_V1, "\ufeff" + HEADER, "\ufeff" + HEADER_V1, "ts"])
    )
    width = 12 if header.endswith(HEADER_V1) else 16
    body = draw(st.lists(lines(width), max_size=25))
    text = header
    for i, line in enumerate(body):
        text += ends[i % len(ends)] + line
    if draw(st.booleans()):
        text += ends[0]
    return text.encode("utf-8", "surrogatepass") if draw(st.booleans()) else text.encode()


SETTINGS = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(order_files(), st.booleans(), st.sampled_from([1, 2, 5, 4096]), st.integers(1, 200))
def test_generated_files_give_the_python_paths_records(
    data: bytes, skip: bool, max_rows: int, chunk_bytes: int
) -> None:
    same_outcome(data, skip, max_rows, chunk_bytes)


@SETTINGS
@given(st.binary(max_size=300), st.booleans(), st.booleans(), st.integers(1, 64))
def test_arbitrary_bytes_never_crash_the_parser(
    tail: bytes, with_header: bool, skip: bool, chunk_bytes: int
) -> None:
    data = (HEADER.encode() + b"\n" + tail) if with_header else tail
    same_outcome(data, skip, 3, chunk_bytes)


# -- cases worth naming --------------------------------------------------------------------

GOOD = "0,NEW,1,alice,ACME,BUY,LIMIT,GTC,100,5,0,NONE"
GOOD16 = GOOD + ",,,,"


@pytest.mark.parametrize(
    "body",
    [
        f"{GOOD}\n0,NEW,2,bob,ACME,SELL,MARKET,,,5,,\n3,CANCEL,1,alice,,,,,,,,\n",
        f'{GOOD}\n1,REPLACE,1,"alice",,,,,101,7,,\n',  # quoted, then fast again
        f"{GOOD}\n1,NEW,-4,alice,ACME,BUY,LIMIT,,100,5,,\n2,CANCEL,-4,alice,,,,,,,,\n",
        f"{GOOD}\r\n\r\n1,NEW,2,alice,ACME,BUY,LIMIT,,100,5,,\r",  # \r\n, blank, lone \r
        f"{GOOD}\n1,NEW,2,{'a' * 65},ACME,BUY,LIMIT,,100,5,,\n",  # a name no record holds
        f"{GOOD}\n1,NEW,2,caf\u00e9,ACME,BUY,LIMIT,,100,5,,\n",  # UTF-8: the slow path
        f"{GOOD}\n1,NEW,2,J\xfcrgen,ACME,BUY,LIMIT,,100,5,,\n",  # becomes Latin-1 below
        f"{GOOD}\n1,NEW,3,alice,ACME,BUY,LIMIT,GTC,1OO,4,0,NONE\n{GOOD}\n",
        # A 16-column file: plain rows fast, venue rows through Python, in between.
        f"{GOOD16}\n1,NEW,2,bob,ACME,SELL,STOP,,,5,,,99,,,\n2,NEW,3,bob,ACME,SELL,LIMIT,,100,9,,,,3,,\n"
        f"3,NEW,4,carol,NEW,BUY,LIMIT,GTD,100,9,,,,,70,\n4,CLOCK,,,,,,,,,,,,,,\n{GOOD16}\n"
        f"5,PHASE,,,ZZZ,,,,,,,,,,,HALTED\n6,REPLACE,2,bob,,,,,,4,,,98,,,\n{GOOD16}\n",
        f"{GOOD16}\n1,NEW,2,bob,ACME,SELL,STOP,,,5,,,x,,,\n{GOOD16}\n",  # a bad venue field
        f"{GOOD16}\n1,NEW,2,bob,ACME,SELL,LIMIT,,100,5,,\n{GOOD16}\n",  # 12 fields of 16
    ],
)
@pytest.mark.parametrize("skip", [False, True])
def test_named_cases_give_the_python_paths_records(body: str, skip: bool) -> None:
    header = HEADER if body.startswith(GOOD16) else HEADER_V1
    data = (header + "\n").encode() + body.encode("latin-1" if "J\xfc" in body else "utf-8")
    for chunk_bytes in (1, 13, 1 << 20):
        same_outcome(data, skip, 2, chunk_bytes)


def test_new_names_are_defined_before_their_first_use_with_ids_in_first_seen_order() -> None:
    data = f"{HEADER_V1}\n{GOOD}\n1,NEW,2,bob,ZZZ,BUY,LIMIT,,100,5,,\n2,CANCEL,1,alice,,,,,,,,\n"
    reader = CompiledRecordReader(io.BytesIO(data.encode()), "f.csv")
    records = np.concatenate([b.copy() for b in reader.batches(100)], dtype=L.INPUT_DTYPE)
    kinds = records["kind"].tolist()
    define_a, define_s, new, cancel = L.DEFINE_ACCOUNT, L.DEFINE_SYMBOL, L.NEW, L.CANCEL
    # Each DEFINE is followed by the text record holding its name.
    assert kinds[0] == define_a and kinds[2] == define_s and kinds[4] == new
    assert kinds[5] == define_a and kinds[7] == define_s and kinds[9] == new
    assert kinds[10] == cancel and len(kinds) == 11
    assert records["seq"][[4, 9, 10]].tolist() == [1, 2, 3]
    assert records["seq"][[0, 2, 5, 7]].tolist() == [0, 0, 0, 0]
    assert records[1].tobytes().rstrip(b"\0") == b"alice"
    assert (reader.directory.symbols.names(), reader.directory.accounts.names()) == (
        ["ACME", "ZZZ"],
        ["alice", "bob"],
    )
