"""Reading LOBSTER files: the message file and the orderbook file, checked row by row.

LOBSTER (lobsterdata.com) publishes one trading day of one ticker as two CSV
files without a header. Message file rows::

    time,type,order_id,size,price,direction

``time`` is seconds after midnight (up to nanosecond decimals), ``type`` 1-7
(new, partial cancel, delete, visible execution, hidden execution, cross trade,
trading halt), ``price`` is dollars x 10000, ``direction`` -1 sell / 1 buy (for
executions: the side of the resting order). Orderbook file row k is the book
after message k: ``ask price, ask size, bid price, bid size`` level by level,
an empty level being ``9999999999,0`` (ask) or ``-9999999999,0`` (bid).

Speed: numpy parses a well-formed file in one C pass; only when that fails (or
a check finds a bad row) does a line-by-line Python pass run, to name the
line, the field and the value. Rows come out as plain Python lists because the
replay loop reads them one scalar at a time, which lists do fastest.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

EMPTY_ASK_PRICE = 9999999999
EMPTY_BID_PRICE = -9999999999
SYNTHETIC_ID_BASE = 1 << 48
"""Ids from here up are the replay's own (seeded liquidity, execution takers);
a LOBSTER order id must be below it, so the two can never collide."""

MESSAGE_FIELDS = ("time", "type", "order_id", "size", "price", "direction")
EVENT_TYPES = range(1, 8)
_INT64_MAX = 2**63 - 1
_MESSAGE_DTYPE = np.dtype(
    [
        ("time", "f8"),
        ("type", "i8"),
        ("order_id", "i8"),
        ("size", "i8"),
        ("price", "i8"),
        ("direction", "i8"),
    ]
)

IntArray = npt.NDArray[np.int64]


class LobsterFileError(Exception):
    """Bad input with its place: ``str()`` is ``FILE:LINE: what is wrong``."""

    def __init__(self, name: str, line: int, message: str) -> None:
        super().__init__(f"{name}:{line}: {message}")
        self.name = name
        self.line = line
        self.message = message


OnBadRow = Callable[[LobsterFileError], None]
"""Called with each bad row's error when bad rows are skipped (``--skip-bad``)."""


@dataclass(frozen=True, slots=True)
class Messages:
    """The good rows of a message file, column by column; ``line[i]`` is row i's line."""

    name: str
    line: list[int]
    ts_ns: list[int]
    type: list[int]
    order_id: list[int]
    size: list[int]
    price: list[int]
    direction: list[int]
    lines_in_file: int

    def __len__(self) -> int:
        return len(self.line)


@dataclass(frozen=True, slots=True)
class OrderbookRows:
    """The good rows of an orderbook file, keyed by line number (= message number)."""

    name: str
    levels: int
    rows: dict[int, list[int]]
    lines_in_file: int


# -- reading text --------------------------------------------------------------


def _count_lines(data: bytes) -> int:
    """Lines in the file (a final newline makes no extra line)."""
    return data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)


def _split_lines(name: str, data: bytes) -> list[str]:
    """The file's lines without line ends, for the slow pass."""
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise LobsterFileError(name, line, "not ASCII text (a LOBSTER file is numbers)") from None
    return text.splitlines()


def _whole(text: str, field: str) -> int:
    digits = text[1:] if text[:1] == "-" else text
    # int() alone would also take " 7", "+7" and "7_000".
    if not (digits.isdigit() and digits.isascii()):
        if not text:
            raise ValueError(f"{field}: missing")
        raise ValueError(f"{field}: {text!r} is not a whole number")
    value = int(text)
    if abs(value) > _INT64_MAX:
        raise ValueError(f"{field}: {text} does not fit in 64 bits")
    return value


def _seconds(text: str) -> float:
    whole, dot, frac = text.partition(".")
    if not (
        whole.isdigit() and whole.isascii() and (not dot or (frac.isdigit() and frac.isascii()))
    ):
        if not text:
            raise ValueError("time: missing")
        raise ValueError(f"time: {text!r} is not a number of seconds after midnight")
    return float(text)


# -- message file --------------------------------------------------------------


def read_messages(path: str | Path, on_bad: OnBadRow | None = None) -> Messages:
    """Read and check a message file. A bad row raises LobsterFileError, or with
    ``on_bad`` is passed to it and left out."""
    name = str(path)
    data = Path(path).read_bytes()
    line_count = _count_lines(data)
    table = _fast_table(path, line_count)
    if table is None:
        table = _slow_table(name, _split_lines(name, data), on_bad)
    line_no, time, kind, oid, size, price, direction = table
    bad = message_problems(time, kind, oid, size, price, direction)
    if bad:
        for index, message in sorted(bad.items()):
            _report(LobsterFileError(name, int(line_no[index]), message), on_bad)
        keep = np.ones(len(line_no), dtype=bool)
        keep[list(bad)] = False
        line_no, time = line_no[keep], time[keep]
        kind, oid, size = kind[keep], oid[keep], size[keep]
        price, direction = price[keep], direction[keep]
    # Seconds to nanoseconds: a double holds 57600.123456789 to within 1e-11 s, so
    # rounding gives the exact nanosecond written in the file.
    ts_ns = np.rint(time * 1e9).astype(np.int64)
    return Messages(
        name,
        line_no.tolist(),
        ts_ns.tolist(),
        kind.tolist(),
        oid.tolist(),
        size.tolist(),
        price.tolist(),
        direction.tolist(),
        line_count,
    )


_Table = tuple[IntArray, npt.NDArray[np.float64], IntArray, IntArray, IntArray, IntArray, IntArray]


def _fast_table(path: str | Path, line_count: int) -> _Table | None:
    """numpy's one-pass parse, or None if the text is not a clean table of numbers."""
    if line_count == 0:
        return None
    try:
        # numpy reads a path fastest (faster than from bytes already in memory).
        table = np.loadtxt(path, delimiter=",", dtype=_MESSAGE_DTYPE, comments=None, ndmin=1)
    except ValueError:
        return None
    if len(table) != line_count:  # numpy skips blank lines: the slow pass names them
        return None
    return (
        np.arange(1, line_count + 1, dtype=np.int64),
        table["time"],
        table["type"],
        table["order_id"],
        table["size"],
        table["price"],
        table["direction"],
    )


def _slow_table(name: str, lines: list[str], on_bad: OnBadRow | None) -> _Table:
    """Line by line, so that a row numpy refused is named with its field and value."""
    if not lines:
        raise LobsterFileError(name, 1, "empty file: expected message rows")
    good_lines: list[int] = []
    times: list[float] = []
    ints: list[list[int]] = []
    for number, text in enumerate(lines, 1):
        try:
            fields = text.split(",")
            if len(fields) != len(MESSAGE_FIELDS):
                raise ValueError(
                    f"expected {len(MESSAGE_FIELDS)} fields ({','.join(MESSAGE_FIELDS)}), "
                    f"got {len(fields) if text else 0}"
                )
            seconds = _seconds(fields[0])
            values = [_whole(f, n) for f, n in zip(fields[1:], MESSAGE_FIELDS[1:], strict=True)]
        except ValueError as exc:
            _report(LobsterFileError(name, number, str(exc)), on_bad)
            continue
        good_lines.append(number)
        times.append(seconds)
        ints.append(values)
    columns = np.array(ints, dtype=np.int64).reshape(-1, 5)
    return (
        np.array(good_lines, dtype=np.int64),
        np.array(times, dtype=np.float64),
        *(np.ascontiguousarray(columns[:, j]) for j in range(5)),
    )  # type: ignore[return-value]


def message_problems(
    time: npt.NDArray[np.float64],
    kind: IntArray,
    oid: IntArray,
    size: IntArray,
    price: IntArray,
    direction: IntArray,
) -> dict[int, str]:
    """Row index -> what is wrong with it (the first problem found), all vectorised."""
    problems: dict[int, str] = {}

    def flag(mask: npt.NDArray[np.bool_], describe: Callable[[int], str]) -> None:
        for index in np.flatnonzero(mask).tolist():
            problems.setdefault(index, describe(index))

    flag(
        (kind < 1) | (kind > 7),
        lambda i: f"type: {kind[i]} is not an event type (1-7)",
    )
    flag(
        (direction != 1) & (direction != -1),
        lambda i: f"direction: {direction[i]} is not -1 (sell) or 1 (buy)",
    )
    order_event = (kind >= 1) & (kind <= 6)
    flag(order_event & (size <= 0), lambda i: f"size: {size[i]} must be > 0 (type {kind[i]})")
    flag(order_event & (price <= 0), lambda i: f"price: {price[i]} must be > 0 (type {kind[i]})")
    # Hidden executions (5) and cross trades (6) may carry order id 0.
    named = (kind >= 1) & (kind <= 4)
    flag(named & (oid <= 0), lambda i: f"order_id: {oid[i]} must be > 0 (type {kind[i]})")
    flag(oid < 0, lambda i: f"order_id: {oid[i]} is negative")
    flag(
        oid >= SYNTHETIC_ID_BASE,
        lambda i: f"order_id: {oid[i]} is too large (must be below 2**48)",
    )
    if len(time) > 1:
        earlier = np.concatenate(([False], time[1:] < time[:-1]))
        flag(
            earlier,
            lambda i: (
                f"time: {float(time[i])!r} is before the previous row's {float(time[i - 1])!r}"
            ),
        )
    return problems


def _report(error: LobsterFileError, on_bad: OnBadRow | None) -> None:
    if on_bad is None:
        raise error
    on_bad(error)


# -- orderbook file --------------------------------------------------------------


def orderbook_fields(levels: int) -> list[str]:
    names = []
    for level in range(1, levels + 1):
        names += [
            f"ask price {level}",
            f"ask size {level}",
            f"bid price {level}",
            f"bid size {level}",
        ]
    return names


def read_orderbook(path: str | Path, levels: int, on_bad: OnBadRow | None = None) -> OrderbookRows:
    """Read and check an orderbook file of ``levels`` levels (4 columns per level)."""
    name = str(path)
    data = Path(path).read_bytes()
    line_count = _count_lines(data)
    if not line_count:
        raise LobsterFileError(name, 1, "empty file: expected orderbook rows")
    width = 4 * levels
    table = None
    with contextlib.suppress(ValueError):  # the slow pass below names what numpy refused
        table = np.loadtxt(path, delimiter=",", dtype=np.int64, comments=None, ndmin=2)
    if table is not None and table.shape == (line_count, width):
        line_no = np.arange(1, line_count + 1, dtype=np.int64)
    else:
        line_no, table = _slow_orderbook(name, _split_lines(name, data), levels, on_bad)
    bad = _orderbook_problems(table, levels)
    for index, message in sorted(bad.items()):
        _report(LobsterFileError(name, int(line_no[index]), message), on_bad)
    rows = dict(zip(line_no.tolist(), table.tolist(), strict=True))
    for index in bad:
        del rows[int(line_no[index])]
    return OrderbookRows(name, levels, rows, line_count)


def _slow_orderbook(
    name: str, lines: list[str], levels: int, on_bad: OnBadRow | None
) -> tuple[IntArray, IntArray]:
    fields = orderbook_fields(levels)
    good_lines: list[int] = []
    rows: list[list[int]] = []
    for number, text in enumerate(lines, 1):
        try:
            values = text.split(",")
            if len(values) != len(fields):
                raise ValueError(
                    f"expected {len(fields)} fields (ask price, ask size, bid price, bid size "
                    f"for each of {levels} level(s)), got {len(values) if text else 0}"
                )
            rows.append([_whole(v, f) for v, f in zip(values, fields, strict=True)])
        except ValueError as exc:
            _report(LobsterFileError(name, number, str(exc)), on_bad)
            continue
        good_lines.append(number)
    return (
        np.array(good_lines, dtype=np.int64),
        np.array(rows, dtype=np.int64).reshape(-1, len(fields)),
    )


def _orderbook_problems(table: IntArray, levels: int) -> dict[int, str]:
    problems: dict[int, str] = {}
    fields = orderbook_fields(levels)
    for level in range(levels):
        for offset, empty in ((0, EMPTY_ASK_PRICE), (2, EMPTY_BID_PRICE)):
            col = 4 * level + offset
            price, size = table[:, col], table[:, col + 1]
            is_empty = price == empty
            checks = (
                (~is_empty & (price <= 0), col, "must be > 0, or {empty} for an empty level"),
                (~is_empty & (size <= 0), col + 1, "must be > 0 at a price"),
                (is_empty & (size != 0), col + 1, "must be 0 at an empty level"),
            )
            for mask, where, why in checks:
                for index in np.flatnonzero(mask).tolist():
                    value = table[index, where]
                    problems.setdefault(
                        index, f"{fields[where]}: {value} {why.format(empty=empty)}"
                    )
    return problems
