"""--events-out and --trades-out written from event records.

Where the extension ``_event_lines`` was built, the lines are written in C++
straight from the records (no Event object per event); the texts it copies, a
name's or a code's, are rendered here once by the encoders the Python path
uses (msgspec for JSON, the csv module for CSV), so both write the same bytes
(tests/engine/test_record_outputs.py). Elsewhere, for a batch that names an
order id no record could hold (order_records.file_order_ids), and for a batch
with an event of the venue's (ORDER_TERMS on: the C++ writer knows the
continuous book's kinds only), the records are decoded into Events and written
by outputs.TradeWriter / EventLinesWriter. An uncross's executions are
--trades-out rows too, the buyer as the maker (events.as_trade).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from enum import Enum
from typing import TYPE_CHECKING, BinaryIO, TextIO

import msgspec
import numpy as np

from ringmatch.engine.records import layout as L
from ringmatch.engine.records.convert import decode_events
from ringmatch.engine.records.names import Directory
from ringmatch.engine.replay.outputs import EventLinesWriter, TradeWriter
from ringmatch.engine.schema.events import AuctionTrade, Event, Rejected, Trade, as_trade

if TYPE_CHECKING:
    from ringmatch.engine.replay._event_lines import EventText


def _json(table: Sequence[Enum | None]) -> list[bytes]:
    return [b"" if m is None else msgspec.json.encode(m.value) for m in table]


def csv_field(text: str) -> bytes:
    """``text`` as csv.writer writes it in a row (quoted only where it must be)."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow([text, ""])
    return out.getvalue()[:-2].encode()  # the row less its "," and empty last field


def new_event_text() -> EventText | None:
    """The compiled writer with every code's text, or None where it was not built."""
    try:
        from ringmatch.engine.replay._event_lines import EventText
    except ImportError:
        return None
    return EventText(
        _json(L.SIDE),
        [b"" if s is None else s.value.encode() for s in L.SIDE],
        _json(L.ORDER_TYPE),
        _json(L.TIF),
        _json(L.COMMAND),
        _json(L.REJECT_REASON),
        _json(L.CANCEL_REASON),
    )


class RecordWriters:
    """The outputs a replay asked for, written batch by batch from event records."""

    def __init__(
        self,
        directory: Directory,
        trades: TextIO | None,
        events: BinaryIO | None,
        file_order_ids: dict[int, int] | None = None,
        compiled: bool = True,
    ) -> None:
        self._directory = directory
        self._trades_stream = trades
        self._events_stream = events
        # The Python writers: the trades' header, and the batches the C++ one leaves.
        self._trades = TradeWriter(trades) if trades is not None else None
        self._events = EventLinesWriter(events) if events is not None else None
        self._file_order_ids = {} if file_order_ids is None else file_order_ids
        self._text = new_event_text() if compiled else None

    def write(self, events: np.ndarray) -> None:
        """Write one batch of event records (NAME records name nothing new here: the
        directory already holds every name its inputs defined)."""
        text = self._text
        if text is None or self._names_file_order_ids(events) or _VENUE[events["kind"]].any():
            self._write_decoded(events)
            return
        self._learn_names(text)
        raw = events.view(np.uint8)
        if self._trades_stream is not None:
            self._trades_stream.write(text.trade_rows(raw).decode())
        if self._events_stream is not None:
            self._events_stream.write(text.json_lines(raw))

    def _names_file_order_ids(self, events: np.ndarray) -> bool:
        ids = self._file_order_ids
        return bool(ids) and bool(np.isin(events["seq"], list(ids)).any())

    def _learn_names(self, text: EventText) -> None:
        accounts = self._directory.accounts.names()[text.account_count() :]
        symbols = self._directory.symbols.names()[text.symbol_count() :]
        if accounts or symbols:
            text.add_names(
                [msgspec.json.encode(a) for a in accounts],
                [csv_field(a) for a in accounts],
                [msgspec.json.encode(s) for s in symbols],
                [csv_field(s) for s in symbols],
            )

    def _write_decoded(self, events: np.ndarray) -> None:
        decoded = decode_events(events, self._directory)
        if self._file_order_ids:
            decoded = _with_file_order_ids(decoded, self._file_order_ids)
        if self._trades is not None:
            trades = [e for e in decoded if type(e) is Trade]
            if len(trades) < len(decoded) and any(type(e) is AuctionTrade for e in decoded):
                trades = [_as_trade(e) for e in decoded if _trade(e)]
            self._trades.write(trades)
        if self._events is not None:
            self._events.write(decoded)


_VENUE = np.zeros(256, bool)
_VENUE[L.ORDER_TERMS :] = True  # ORDER_TERMS .. INDICATIVE, and any kind after them


def _trade(e: Event) -> bool:
    return type(e) is Trade or type(e) is AuctionTrade


def _as_trade(e: Event) -> Trade:
    """A Trade, or an uncross's execution as one (the buyer as the maker)."""
    if isinstance(e, AuctionTrade):
        return as_trade(e)
    assert isinstance(e, Trade)
    return e


def _with_file_order_ids(events: list[Event], file_ids: dict[int, int]) -> list[Event]:
    """The rejects of inputs whose order id went to the kernel as 0 name the file's id."""
    return [
        msgspec.structs.replace(e, order_id=file_ids[e.seq])
        if type(e) is Rejected and e.seq in file_ids
        else e
        for e in events
    ]
