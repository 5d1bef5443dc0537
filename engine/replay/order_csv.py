"""The order file: a CSV of commands, read into NewOrder / Cancel / Replace / SetPhase / Clock.

The file starts with this header line, and every row has these 16 columns::

    ts_ns,action,order_id,account,symbol,side,type,tif,price,qty,post_only,stp,trigger_price,display_qty,expire_ts,phase

============= ============================================================
column        value
============= ============================================================
ts_ns         integer >= 0, nanoseconds: the time of the row's input
              (V-TIME-1: it drives GTD expiry, never priority; row order
              does), and what paces ``--speed`` replays
action        NEW | CANCEL | REPLACE | PHASE | CLOCK
order_id      integer (the engine rejects an id <= 0)
account       the owner's account: text, not empty
symbol        NEW: the instrument: text (the engine rejects an empty one);
              PHASE: the symbol whose phase moves
side          NEW: BUY | SELL
type          NEW: LIMIT | MARKET | STOP | STOP_LIMIT
tif           NEW: GTC | IOC | FOK | DAY | GTD, or empty (MARKET: IOC;
              else GTC)
price         integer ticks. NEW LIMIT / STOP_LIMIT: the limit; NEW MARKET /
              STOP: empty. REPLACE: the new price (empty: a held STOP's,
              which has none). PHASE: the symbol's reference price for its
              auctions from here on, or empty
qty           integer lots. NEW: the quantity; REPLACE: the new remaining
post_only     NEW: 0 | 1, or empty (0)
stp           NEW: NONE | CANCEL_TAKER | CANCEL_MAKER | CANCEL_BOTH |
              DECREMENT, or empty (NONE)
trigger_price integer ticks. NEW STOP / STOP_LIMIT: the trigger; REPLACE of
              a held stop: its new trigger; else empty
display_qty   integer lots. NEW: an iceberg's shown quantity; else empty
expire_ts     integer nanoseconds. NEW with tif GTD: when it expires; else
              empty
phase         PHASE: PRE_OPEN | OPENING_AUCTION | CONTINUOUS |
              CLOSING_AUCTION | CLOSED | HALTED
============= ============================================================

A file may also start with the header of the 12 columns before ``stp``'s
successors existed (``ts_ns,...,post_only,stp``, ``COLUMNS_V1``): its rows then
have those 12 fields, and it loads as it always did.

Every NEW, CANCEL and REPLACE row needs ts_ns, action, order_id and account.
A NEW row also needs side, type and qty; a REPLACE row needs qty. A CANCEL
row uses nothing else, and a REPLACE row nothing but price, qty and
trigger_price: their other columns are ignored (an order keeps its own
symbol and side). A PHASE row needs ts_ns, symbol and phase (a ``SetPhase``; a
``price``, if any, is the symbol's reference price from then on),
a CLOCK row only ts_ns (a ``Clock``: time reaches ts_ns, and the expiries due
run); they ignore every other column.

Two kinds of bad input, kept apart on purpose:

* text that cannot become a command is a *file error*, reported as
  ``FILE:LINE: what is wrong``: a bad header, a wrong number of columns, an
  unknown action/side/type/tif/stp/phase, a post_only other than 0/1, something that
  is not a whole number where one is needed (or does not fit in 64 bits), a
  missing required field, a negative ts_ns, an unclosed quote, text that is not
  UTF-8 or holds a control character;
* a command that parses but breaks a business rule (qty or price <= 0, order
  id <= 0, a MARKET order with a price or with GTC/FOK, a LIMIT order without
  a price, post-only on an IOC, an empty symbol...) goes to the engine, whose
  ``Rejected`` event is the contract.

Values are case-sensitive and not trimmed. Text (account, symbol) may hold any
character but a control character (line breaks, tabs, NUL...); quote a field
that holds a comma or a quote, as CSV does. Blank lines are skipped. The file
is UTF-8 (a byte-order mark is allowed).
"""

from __future__ import annotations

import csv
import itertools
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TextIO, TypeVar

from ringmatch.engine.schema.commands import Cancel, Clock, Command, NewOrder, Replace, SetPhase
from ringmatch.engine.schema.enums import OrderType, Side, StpMode, TimeInForce, TradingPhase

FileInput = Command | SetPhase | Clock
"""What a row of the order file stands for."""

COLUMNS_V1 = (
    "ts_ns",
    "action",
    "order_id",
    "account",
    "symbol",
    "side",
    "type",
    "tif",
    "price",
    "qty",
    "post_only",
    "stp",
)
"""The columns of the first order files (no venue fields): still read."""
COLUMNS = (*COLUMNS_V1, "trigger_price", "display_qty", "expire_ts", "phase")
HEADER = ",".join(COLUMNS)
HEADER_V1 = ",".join(COLUMNS_V1)
_VENUE_EMPTY = ("", "", "", "")
_FIRST_KIND = f" (or the first {len(COLUMNS_V1)} of those columns, as files of the first kind have)"

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1

_SIDES = {side.value: side for side in Side}
_TYPES = {kind.value: kind for kind in OrderType}
_TIFS: dict[str, TimeInForce | None] = {tif.value: tif for tif in TimeInForce}
_TIFS[""] = None
_PHASES = {phase.value: phase for phase in TradingPhase}
_STPS = {mode.value: mode for mode in StpMode}
_STPS[""] = StpMode.NONE
_POST_ONLY = {"": False, "0": False, "1": True}

_T = TypeVar("_T")


class RowError(ValueError):
    """A row that cannot become a command; the message names the field and the value."""


LOBSTER_MESSAGE_FIELDS = 6
"""A LOBSTER message row: time, type, order id, size, price, direction (no header)."""


def _hint(header: Sequence[str]) -> str:
    """What a wrong header may be instead: a LOBSTER message file starts with a
    row of six numbers, which ``--format lobster`` reads."""
    if len(header) != LOBSTER_MESSAGE_FIELDS:
        return ""
    try:
        for text in header:
            float(text)
    except ValueError:
        return ""
    return " (six numbers: a LOBSTER message file? replay it with --format lobster)"


class OrderFileError(Exception):
    """A file error with its place: ``str()`` is ``FILE:LINE: what is wrong``."""

    def __init__(self, name: str, line: int, message: str) -> None:
        super().__init__(f"{name}:{line}: {message}")
        self.name = name
        self.line = line
        self.message = message


def _expected(table: Mapping[str, object]) -> str:
    return " | ".join(key for key in table if key) + (" or empty" if "" in table else "")


def _choice(table: dict[str, _T], text: str, field: str) -> _T:
    try:
        return table[text]
    except KeyError:
        if not text:
            raise RowError(f"{field}: missing (required)") from None
        raise RowError(f"{field}: unknown value {text!r} (expected {_expected(table)})") from None


def _integer(text: str, field: str) -> int:
    if not text:
        raise RowError(f"{field}: missing (required)")
    digits = text[1:] if text[0] == "-" else text
    # int() alone would also take " 7", "+7", "7_000" and non-ASCII digits.
    if not (digits.isdigit() and digits.isascii()):
        raise RowError(f"{field}: {text!r} is not a whole number")
    value = int(text)
    if not _INT64_MIN <= value <= _INT64_MAX:
        raise RowError(f"{field}: {text} does not fit in 64 bits")
    return value


def _optional_integer(text: str, field: str) -> int | None:
    return _integer(text, field) if text else None


def _text(text: str, field: str) -> str:
    if text.isprintable():  # the fast path: no control characters, no bad bytes
        return text
    # The file is decoded with surrogateescape so that a bad byte becomes a
    # field error with a line number instead of a crash somewhere mid-file.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise RowError(f"{field}: {text!r} is not valid UTF-8") from None
    # A line break or other control character in a name is a broken file, not a
    # name, and would break every CSV and log line it is later written to.
    if any(unicodedata.category(char) == "Cc" for char in text):
        raise RowError(f"{field}: {text!r} contains a control character")
    return text


def parse_row(row: Sequence[str]) -> FileInput:
    """The input that a data row stands for; RowError if the text cannot be one. A row
    of 12 fields is one of a ``COLUMNS_V1`` file (its venue columns empty)."""
    v1 = len(row) == len(COLUMNS_V1)
    if v1:
        row = [*row, *_VENUE_EMPTY]
    try:
        command = _parse_plain(row)
    except (KeyError, ValueError):  # an unknown word or a number int() refused
        command = None
    return command if command is not None else _parse_checked(row, v1)


def _parse_plain(row: Sequence[str]) -> Command | None:
    """The common row, fast: numbers all plain digits, words all known, text printable,
    the venue columns empty.

    None (or KeyError/ValueError) for anything else, which _parse_checked then
    judges with a precise message. Whatever this returns, _parse_checked would
    return too (a property test holds the two together).
    """
    ts, action, order_id, account, symbol, side, kind, tif, price, qty, post_only, stp, *venue = row
    # One isdigit() over the numbers at once; an empty one fails int() below.
    digits = ts + order_id + price + qty
    # (The venue columns: four, all empty; a row of another length is the checked path's.)
    if not (account and digits.isdigit() and digits.isascii()) or venue != ["", "", "", ""]:
        return None
    ts_ns = int(ts)
    oid = int(order_id)
    if action == "NEW":
        if not (account + symbol).isprintable():
            return None
        lots = int(qty)
        limit = int(price) if price else None
        if max(ts_ns, oid, lots, limit or 0) > _INT64_MAX:
            return None
        return NewOrder(
            oid,
            account,
            symbol,
            _SIDES[side],
            _TYPES[kind],
            limit,
            lots,
            _TIFS[tif],
            _POST_ONLY[post_only],
            _STPS[stp],
            ts_ns,
        )
    if not account.isprintable() or max(ts_ns, oid) > _INT64_MAX:
        return None
    if action == "CANCEL":
        return Cancel(oid, account, ts_ns)
    if action == "REPLACE":
        new_price = int(price)
        lots = int(qty)
        if max(new_price, lots) > _INT64_MAX:
            return None
        return Replace(oid, account, new_price, lots, ts_ns)
    return None


def _parse_checked(row: Sequence[str], v1: bool = False) -> FileInput:
    """parse_row, one field at a time, so that the first bad field is named."""
    if len(row) != len(COLUMNS):
        raise RowError(f"expected {len(COLUMNS)} fields ({HEADER}), got {len(row)}")
    ts, action, order_id, account, symbol, side, kind, tif, price, qty, post_only, stp = row[:12]
    trigger, display, expire, phase = row[12:]
    ts_ns = _integer(ts, "ts_ns")
    if ts_ns < 0:
        raise RowError(f"ts_ns: {ts} is negative")
    if action == "NEW":
        # Fields are checked left to right, so the first bad column is the one reported.
        return NewOrder(
            _integer(order_id, "order_id"),
            _account(account),
            _text(symbol, "symbol"),
            _choice(_SIDES, side, "side"),
            _choice(_TYPES, kind, "type"),
            tif=_choice(_TIFS, tif, "tif"),
            price=_optional_integer(price, "price"),
            qty=_integer(qty, "qty"),
            post_only=_choice(_POST_ONLY, post_only, "post_only"),
            stp=_choice(_STPS, stp, "stp"),
            ts_ns=ts_ns,
            trigger_price=_optional_integer(trigger, "trigger_price"),
            display_qty=_optional_integer(display, "display_qty"),
            expire_ts=_optional_integer(expire, "expire_ts"),
        )
    if action == "CANCEL":
        return Cancel(_integer(order_id, "order_id"), _account(account), ts_ns)
    if action == "REPLACE":
        # A held STOP has no price to replace: empty. (A 12-column file has no held
        # stops, and its REPLACE always needed one.)
        return Replace(
            _integer(order_id, "order_id"),
            _account(account),
            _integer(price, "price") if v1 else _optional_integer(price, "price"),
            _integer(qty, "qty"),
            ts_ns,
            trigger_price=_optional_integer(trigger, "trigger_price"),
        )
    if action == "PHASE":
        if not symbol:
            raise RowError("symbol: missing (required)")
        return SetPhase(
            _text(symbol, "symbol"),
            _choice(_PHASES, phase, "phase"),
            ts_ns,
            _optional_integer(price, "price"),
        )
    if action == "CLOCK":
        return Clock(ts_ns)
    if not action:
        raise RowError("action: missing (required)")
    raise RowError(
        f"action: unknown value {action!r} (expected NEW | CANCEL | REPLACE | PHASE | CLOCK)"
    )


def _account(text: str) -> str:
    if not text:
        raise RowError("account: missing (required)")
    return _text(text, "account")


def command_to_row(command: FileInput) -> list[str]:
    """The row (``COLUMNS``) that parses back to ``command`` (for writing order files)."""

    def number(value: int | None) -> str:
        return "" if value is None else str(value)

    if isinstance(command, NewOrder):
        return [
            str(command.ts_ns),
            "NEW",
            str(command.order_id),
            command.account,
            command.symbol,
            command.side.value,
            command.order_type.value,
            "" if command.tif is None else command.tif.value,
            number(command.price),
            str(command.qty),
            "1" if command.post_only else "0",
            command.stp.value,
            number(command.trigger_price),
            number(command.display_qty),
            number(command.expire_ts),
            "",
        ]
    if isinstance(command, Cancel):
        return [str(command.ts_ns), "CANCEL", str(command.order_id), command.account] + [""] * 12
    if isinstance(command, Replace):
        head = [str(command.ts_ns), "REPLACE", str(command.order_id), command.account]
        middle = ["", "", "", "", number(command.price), str(command.qty), "", ""]
        return [*head, *middle, number(command.trigger_price), "", "", ""]
    if isinstance(command, SetPhase):
        head = [str(command.ts_ns), "PHASE", "", "", command.symbol, "", "", ""]
        return [*head, number(command.reference_price), *[""] * 6, command.phase.value]
    if isinstance(command, Clock):
        return [str(command.ts_ns), "CLOCK", *[""] * 14]
    raise ValueError(f"the order file has no row for {type(command).__name__}")


def open_order_file(path: str | Path) -> TextIO:
    """Open an order file for OrderReader (OSError if it cannot be read)."""
    return open(path, encoding="utf-8-sig", errors="surrogateescape", newline="")


OnBadRow = Callable[[OrderFileError], None]


class OrderReader:
    """Reads an order file's rows into batches of commands.

    A file error is raised as OrderFileError, after the commands before it have
    been handed out; with ``on_bad`` set, a bad data row is passed to it instead
    and skipped (a bad header is always raised: nothing after it can be read).
    ``parse`` turns a row's fields into its command (a reader of records checks
    a little more than parse_row: what a record cannot hold).
    """

    def __init__(
        self,
        stream: TextIO,
        name: str,
        on_bad: OnBadRow | None = None,
        parse: Callable[[Sequence[str]], FileInput] = parse_row,
    ) -> None:
        self._stream = stream
        self.name = name
        self._on_bad = on_bad
        self._parse = parse
        self.rows = 0
        """Data rows read so far (blank lines and the header not counted)."""
        self.bad_rows = 0
        """Data rows that were file errors (skipped with ``on_bad``)."""
        self.columns: tuple[str, ...] = COLUMNS
        """The header's columns: ``COLUMNS``, or ``COLUMNS_V1`` for a file of the first kind."""

    def bad(self, line: int, message: str) -> None:
        """A file error at ``line``: raised, or handed to ``on_bad`` and skipped."""
        self.bad_rows += 1
        error = OrderFileError(self.name, line, message)
        if self._on_bad is None:
            raise error
        self._on_bad(error)

    def read_header(self, lines: Iterator[str]) -> None:
        """Read and check the header, line 1 (OrderFileError if it is not the one)."""
        try:
            header = next(csv.reader(lines, strict=True), None)
        except csv.Error as exc:
            raise OrderFileError(self.name, 1, f"bad header: not valid CSV ({exc})") from None
        if header is None:
            raise OrderFileError(self.name, 1, f"empty file: expected the header {HEADER}")
        if tuple(header) not in (COLUMNS, COLUMNS_V1):
            got = ",".join(header)
            raise OrderFileError(
                self.name,
                1,
                f"bad header: expected {HEADER}, got {got!r}{_hint(header) or _FIRST_KIND}",
            )
        self.columns = tuple(header)

    def read_row(
        self, line: str, line_no: int, lines: Iterator[str]
    ) -> tuple[int, int, FileInput | None]:
        """The data record that starts with ``line``, line ``line_no``, and may go on
        into ``lines`` (a quoted line break): (its first line, its last line, its
        command, or None for a blank line or a bad row that ``on_bad`` took)."""
        if '"' in line:
            # Quoting (which may span lines): the csv module reads this one record.
            row, line_count, broken = _read_quoted(line, lines)
            last_line = line_no + line_count - 1
            if broken:
                self.rows += 1
                self.bad(line_no, f"not valid CSV: {broken}")
                return line_no, last_line, None
        else:
            # No quote: a plain split is exactly what csv would do, at twice its speed.
            row = line.rstrip("\r\n").split(",")
            last_line = line_no
            if row == [""]:
                return line_no, last_line, None  # a blank line
        self.rows += 1
        if len(row) != len(self.columns):
            header = ",".join(self.columns)
            self.bad(line_no, f"expected {len(self.columns)} fields ({header}), got {len(row)}")
            return line_no, last_line, None
        try:
            return line_no, last_line, self._parse(row)
        except RowError as exc:
            self.bad(line_no, str(exc))
        return line_no, last_line, None

    def commands(self) -> Iterator[tuple[int, FileInput]]:
        """(first line, command) in file order; OrderFileError at a file error."""
        lines = iter(self._stream)
        self.read_header(lines)
        read_row = self.read_row
        line_no = 1  # the line just read
        for line in lines:
            first, line_no, command = read_row(line, line_no + 1, lines)
            if command is not None:
                yield first, command

    def batches(self, size: int) -> Iterator[list[FileInput]]:
        """Inputs in file order, ``size`` at a time (the last batch may be shorter)."""
        batch: list[FileInput] = []
        try:
            for _, command in self.commands():
                batch.append(command)
                if len(batch) >= size:
                    yield batch
                    batch = []
        except OrderFileError as error:
            if batch:
                yield batch  # the rows before an error still run
            raise error from None
        if batch:
            yield batch


def _read_quoted(first: str, rest: Iterator[str]) -> tuple[list[str], int, str]:
    """One CSV record starting at line ``first``: (fields, lines it took, error or "")."""
    reader = csv.reader(itertools.chain((first,), rest), strict=True)
    try:
        row = next(reader)
    except csv.Error as exc:
        return [], reader.line_num, str(exc)
    return row, reader.line_num, ""
