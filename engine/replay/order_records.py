"""Order files read straight into input records (engine/records/layout.py).

Two readers with one interface, ``RecordReader``: ``CompiledRecordReader`` has
the extension ``_order_parse`` parse the common rows into records in C++ and
hands every other row (quoting, anything odd or wrong) to order_csv's own
reader, which parses it or names the file error exactly as it always has;
``PythonRecordReader``, where the extension was not built, reads every row
through order_csv and convert.Encoder. Both give the same records, byte for
byte (tests/engine/test_order_parse.py): DEFINE records for each new name
before its first use, ids from 1 in first-seen order, and consecutive seqs
from 1 on the inputs, the replay being its own sequencer.

What a record cannot hold is checked here, on top of parse_row: a name over
64 bytes, or one more than the ids allow, is a file error. An order id below 0
goes to the kernel as 0 (a record's id is unsigned), which it rejects as it
did the negative one, INVALID_ORDER_ID or UNKNOWN_ORDER; the reader keeps the
file's id by seq (``file_order_ids``) for the outputs to name.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator, Sequence
from typing import BinaryIO, Protocol

import msgspec
import numpy as np

from ringmatch.engine.records import layout
from ringmatch.engine.records.convert import Encoder
from ringmatch.engine.records.names import Directory, Names
from ringmatch.engine.replay.order_csv import (
    FileInput,
    OnBadRow,
    OrderFileError,
    OrderReader,
    RowError,
    parse_row,
)
from ringmatch.engine.schema.commands import Cancel, NewOrder, Replace, SetPhase

ROW_RECORDS = 6
"""The most records one row takes: a DEFINE and its text for the account and the symbol,
then the input and its TERMS record."""
CHUNK_BYTES = 1 << 20
"""Bytes read from the file at a time: the compiled parser's buffer."""
BOM = b"\xef\xbb\xbf"


class RecordReader(Protocol):
    """An order file as batches of input records."""

    directory: Directory
    """Every name the records so far have defined (for the outputs)."""
    file_order_ids: dict[int, int]
    """seq -> the file's order id, for the inputs whose id no record can hold (< 0)."""

    @property
    def rows(self) -> int:
        """Data rows read so far (blank lines and the header not counted)."""
        ...

    @property
    def bad_rows(self) -> int:
        """Data rows that were file errors (skipped with ``on_bad``)."""
        ...

    @property
    def commands(self) -> int:
        """Input records made so far (the last seq stamped)."""
        ...

    def batches(self, max_rows: int) -> Iterator[np.ndarray]:
        """Records of at most ``max_rows`` rows at a time, an owner never apart from its
        text; OrderFileError at a file error, after the records before it. A batch may
        be a view of a buffer the next one reuses: use it before asking for the next."""
        ...


def recordable_row(row: Sequence[str]) -> FileInput:
    """parse_row, and a name that no record can hold (over 64 bytes) is a file error."""
    command = parse_row(row)
    if isinstance(command, NewOrder | Cancel | Replace):
        _check_length(command.account, "account")  # the leftmost bad field is the one named
    if isinstance(command, NewOrder | SetPhase):
        _check_length(command.symbol, "symbol")
    return command


def _check_length(name: str, field: str) -> None:
    size = len(name.encode())
    if size > layout.MAX_NAME:
        raise RowError(f"{field}: {name!r} is {size} bytes of UTF-8, over {layout.MAX_NAME}")


def encode_command(
    encoder: Encoder, command: FileInput, seq: int, file_order_ids: dict[int, int]
) -> np.ndarray:
    """The records of one parsed row; RowError if one of its names would be an id too many.
    A negative order id goes as 0, and into ``file_order_ids`` under ``seq``."""
    d = encoder.directory
    if isinstance(command, NewOrder | Cancel | Replace):
        _check_room(d.accounts, command.account, "account", layout.MAX_ACCOUNTS)
    if isinstance(command, NewOrder | SetPhase) and command.symbol:
        _check_room(d.symbols, command.symbol, "symbol", layout.MAX_SYMBOLS)
    if isinstance(command, NewOrder | Cancel | Replace) and command.order_id < 0:
        file_order_ids[seq] = command.order_id
        command = msgspec.structs.replace(command, order_id=0)
    return encoder.encode([command], first_seq=seq)


def _check_room(names: Names, name: str, field: str, limit: int) -> None:
    if not names.get(name) and len(names) >= limit:
        raise RowError(f"{field}: {name!r} would be one name more than the {limit} ids allow")


def open_record_reader(stream: BinaryIO, name: str, on_bad: OnBadRow | None = None) -> RecordReader:
    """The compiled reader where the extension was built, else the Python one."""
    if compiled_parser():
        return CompiledRecordReader(stream, name, on_bad)
    return PythonRecordReader(stream, name, on_bad)


def compiled_parser() -> bool:
    """True where the compiled order-file parser was built."""
    try:
        from ringmatch.engine.replay._order_parse import OrderParser  # noqa: F401
    except ImportError:
        return False
    return True


def _buffer(max_rows: int) -> np.ndarray:
    return np.zeros(max_rows + ROW_RECORDS - 1, layout.INPUT_DTYPE)


def _put(out: np.ndarray, written: int, records: np.ndarray) -> int:
    """Copy ``records`` into ``out`` from record ``written``; the new count."""
    out[written : written + len(records)] = records
    return written + len(records)


class PythonRecordReader:
    """Every row through order_csv's reader and convert.Encoder: the pure path."""

    def __init__(self, stream: BinaryIO, name: str, on_bad: OnBadRow | None = None) -> None:
        text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="surrogateescape", newline="")
        self._reader = OrderReader(text, name, on_bad, parse=recordable_row)
        self.directory = Directory()
        self.file_order_ids: dict[int, int] = {}
        self._encoder = Encoder(self.directory)
        self._next_seq = 1

    @property
    def rows(self) -> int:
        return self._reader.rows

    @property
    def bad_rows(self) -> int:
        return self._reader.bad_rows

    @property
    def commands(self) -> int:
        return self._next_seq - 1

    def batches(self, max_rows: int) -> Iterator[np.ndarray]:
        out = _buffer(max_rows)
        written = rows = 0
        try:
            for line, command in self._reader.commands():
                try:
                    records = encode_command(
                        self._encoder, command, self._next_seq, self.file_order_ids
                    )
                except RowError as exc:
                    self._reader.bad(line, str(exc))
                    continue
                self._next_seq += 1
                written = _put(out, written, records)
                rows += 1
                if rows >= max_rows or len(out) - written < ROW_RECORDS:
                    yield out[:written]
                    written = rows = 0
        except OrderFileError as error:
            if written:
                yield out[:written]  # the rows before an error still run
            raise error from None
        if written:
            yield out[:written]


_LINE_END = re.compile(rb"[\r\n]")


class CompiledRecordReader:
    """The compiled parser on the common rows, order_csv's reader on the others."""

    def __init__(
        self,
        stream: BinaryIO,
        name: str,
        on_bad: OnBadRow | None = None,
        chunk_bytes: int = CHUNK_BYTES,
    ) -> None:
        from ringmatch.engine.replay._order_parse import STOP_FULL, STOP_SLOW, OrderParser

        self._stop_full, self._stop_slow = STOP_FULL, STOP_SLOW
        self._stream = stream
        self._chunk_bytes = chunk_bytes
        self._parser = OrderParser(1)  # made again for the header's width (batches)
        self._make_parser = OrderParser
        # order_csv's reader reads the rows the parser leaves (read_row) and counts
        # them; it never reads the stream itself.
        self._slow = OrderReader(io.StringIO(), name, on_bad, parse=recordable_row)
        self.directory = Directory()
        self.file_order_ids: dict[int, int] = {}
        self._encoder = Encoder(self.directory)
        self._buf = b""
        self._pos = 0
        self._eof = False
        self._line = 0  # the last line read
        self._fast_rows = 0

    @property
    def rows(self) -> int:
        return self._fast_rows + self._slow.rows

    @property
    def bad_rows(self) -> int:
        return self._slow.bad_rows

    @property
    def commands(self) -> int:
        return int(self._parser.next_seq) - 1

    # -- the buffer --------------------------------------------------------------------

    def _refill(self) -> None:
        """Read the next chunk onto what is left of the buffer (EOF sets ``_eof``)."""
        more = self._stream.read(self._chunk_bytes)
        if not more:
            self._eof = True
        self._buf = self._buf[self._pos :] + more
        self._pos = 0

    def _take_line(self) -> bytes | None:
        """The next line as a text stream with ``newline=""`` splits them (at "\\r\\n",
        "\\r" or "\\n", its end kept), reading on as needed; None at the end."""
        while True:
            buf, pos = self._buf, self._pos
            found = _LINE_END.search(buf, pos)
            if found is not None:
                end = found.end()
                if buf[end - 1] == 13:  # "\r": a line end alone, or the start of "\r\n"
                    if end == len(buf) and not self._eof:
                        self._refill()
                        continue
                    if end < len(buf) and buf[end] == 10:
                        end += 1
                self._pos = end
                return buf[pos:end]
            if not self._eof:
                self._refill()
                continue
            if pos < len(buf):
                self._pos = len(buf)
                return buf[pos:]
            return None

    def _lines(self) -> Iterator[str]:
        """Lines decoded as open_order_file decodes them; each is taken when handed out."""
        while (line := self._take_line()) is not None:
            self._line += 1
            yield line.decode("utf-8", "surrogateescape")

    # -- names ---------------------------------------------------------------------------

    def _names_from_parser(self) -> None:
        d, p = self.directory, self._parser
        for name in p.symbol_names(len(d.symbols)):
            d.symbols.add(name)
        for name in p.account_names(len(d.accounts)):
            d.accounts.add(name)

    def _names_to_parser(self) -> None:
        d, p = self.directory, self._parser
        for name in d.symbols.names()[p.symbol_count() :]:
            p.add_symbol(name)
        for name in d.accounts.names()[p.account_count() :]:
            p.add_account(name)

    # -- rows ----------------------------------------------------------------------------

    def _slow_row(self) -> np.ndarray | None:
        """The row at the buffer's position, through order_csv: its records, or None
        (a blank line, or a bad row skipped); OrderFileError if not skipping."""
        lines = self._lines()
        first = next(lines)
        line_no, _, command = self._slow.read_row(first, self._line, lines)
        if command is None:
            return None
        self._names_from_parser()
        try:
            seq = int(self._parser.next_seq)
            records = encode_command(self._encoder, command, seq, self.file_order_ids)
        except RowError as exc:
            self._slow.bad(line_no, str(exc))
            return None
        self._names_to_parser()
        self._parser.next_seq += 1
        return records

    def batches(self, max_rows: int) -> Iterator[np.ndarray]:
        while len(self._buf) < len(BOM) and not self._eof:
            self._refill()
        if self._buf.startswith(BOM):
            self._pos = len(BOM)
        self._slow.read_header(self._lines())
        # Nothing parsed yet: the parser for this file's width (16, or 12 of the first kind).
        self._parser = self._make_parser(1, len(self._slow.columns))
        out = _buffer(max_rows)
        view = out.view(np.uint8)
        parse = self._parser.parse
        written = batch_rows = 0
        while True:
            pos, written, rows, lines, stop = parse(
                self._buf, self._pos, self._eof, view, written, max_rows - batch_rows
            )
            self._pos = pos
            self._fast_rows += rows
            self._line += lines
            batch_rows += rows
            if stop == self._stop_full:
                self._names_from_parser()
                yield out[:written]
                written = batch_rows = 0
            elif stop == self._stop_slow:
                try:
                    records = self._slow_row()
                except OrderFileError as error:
                    self._names_from_parser()
                    if written:
                        yield out[:written]  # the rows before an error still run
                    raise error from None
                if records is not None:
                    written = _put(out, written, records)
                    batch_rows += 1
            elif self._eof:
                break
            else:
                self._refill()
        self._names_from_parser()
        if written:
            yield out[:written]
