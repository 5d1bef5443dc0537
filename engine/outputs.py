"""What a replay writes: trades and events as they happen, the book at the end.

Each writer streams to its file batch by batch, so a replay of a big file holds
one batch of events in memory, never the whole run.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from typing import BinaryIO, TextIO

import msgspec

from engine.events import Event, Trade, event_to_dict
from engine.matching import MatchingEngine

TRADES_HEADER = (
    "trade_id",
    "symbol",
    "price",
    "qty",
    "maker_order_id",
    "taker_order_id",
    "maker_account",
    "taker_account",
    "taker_side",
)
BOOK_HEADER = ("symbol", "side", "price", "order_id", "account", "qty")


class TradeWriter:
    """``--trades-out``: one CSV row per trade, in the order the trades happened."""

    def __init__(self, stream: TextIO) -> None:
        # "\n", not the csv module's default "\r\n": these files are read by Unix tools.
        self._writer = csv.writer(stream, lineterminator="\n")
        self._writer.writerow(TRADES_HEADER)

    def write(self, trades: Sequence[Trade]) -> None:
        self._writer.writerows(
            (
                t.trade_id,
                t.symbol,
                t.price,
                t.qty,
                t.maker_order_id,
                t.taker_order_id,
                t.maker_account,
                t.taker_account,
                t.taker_side.value,
            )
            for t in trades
        )


class EventWriter:
    """``--events-out``: every event as one JSON object per line (JSON Lines)."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._encoder = msgspec.json.Encoder()

    def write(self, events: Sequence[Event]) -> None:
        if events:
            self._stream.write(self._encoder.encode_lines([event_to_dict(e) for e in events]))


def write_book(engine: MatchingEngine, stream: TextIO) -> None:
    """``--book-out``: every resting order; symbols by name, bids then asks, best first,
    queue order within a price (the engine's L3 view already orders them so)."""
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(BOOK_HEADER)
    for symbol in engine.symbols():
        writer.writerows(
            (o.symbol, o.side.value, o.price, o.order_id, o.account, o.qty)
            for o in engine.l3(symbol)
        )
