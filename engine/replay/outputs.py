"""What a replay writes: trades and events as they happen, the book at the end.

Each writer streams to its file batch by batch, so a replay of a big file holds
one batch of events in memory, never the whole run.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from typing import BinaryIO, Protocol, TextIO

import msgspec

from ringmatch.engine.kernel.api import Kernel
from ringmatch.engine.records import layout as L
from ringmatch.engine.records.names import Directory
from ringmatch.engine.schema.events import Accepted, Event, Trade, event_to_dict
from ringmatch.engine.schema.views import BookOrder


class Books(Protocol):
    """What ``write_book`` reads: a MatchingEngine, or a kernel's books (KernelBooks)."""

    def symbols(self) -> list[str]: ...

    def l3(self, symbol: str) -> list[BookOrder]: ...


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


class OrderNames:
    """Orders named as their sender knows them: ``order_id -> client_order_id``.

    Orders that came through a gateway have an engine id (the seq) and a client
    id; the outputs name them by the client id, so that a file sent over TCP and
    the same file replayed as CSV (where the two ids are one) write the same
    outputs. Learned from Accepted events; an order without a client id keeps
    its engine id.
    """

    __slots__ = ("_names",)

    def __init__(self) -> None:
        self._names: dict[int, int] = {}

    def learn(self, events: Sequence[Event]) -> None:
        names = self._names
        for e in events:
            if type(e) is Accepted and e.client_order_id:
                names[e.order_id] = e.client_order_id

    def __call__(self, order_id: int) -> int:
        return self._names.get(order_id, order_id)


class TradeWriter:
    """``--trades-out``: one CSV row per trade, in the order the trades happened."""

    def __init__(self, stream: TextIO, names: OrderNames | None = None) -> None:
        # "\n", not the csv module's default "\r\n": these files are read by Unix tools.
        self._writer = csv.writer(stream, lineterminator="\n")
        self._writer.writerow(TRADES_HEADER)
        self._name = names if names is not None else _same

    def write(self, trades: Sequence[Trade]) -> None:
        name = self._name
        self._writer.writerows(
            (
                t.trade_id,
                t.symbol,
                t.price,
                t.qty,
                name(t.maker_order_id),
                name(t.taker_order_id),
                t.maker_account,
                t.taker_account,
                t.taker_side.value,
            )
            for t in trades
        )


class EventLinesWriter:
    """``--events-out``: every event as one JSON object per line (JSON Lines)."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._encoder = msgspec.json.Encoder()

    def write(self, events: Sequence[Event]) -> None:
        if events:
            self._stream.write(self._encoder.encode_lines([event_to_dict(e) for e in events]))


def write_book(engine: Books, stream: TextIO, names: OrderNames | None = None) -> None:
    """``--book-out``: every resting order; symbols by name, bids then asks, best first,
    queue order within a price (the engine's L3 view already orders them so)."""
    name = names if names is not None else _same
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(BOOK_HEADER)
    for symbol in engine.symbols():
        writer.writerows(
            (o.symbol, o.side.value, o.price, name(o.order_id), o.account, o.qty)
            for o in engine.l3(symbol)
        )


def write_kernel_book(kernel: Kernel, directory: Directory, stream: TextIO) -> None:
    """write_book for a kernel: its L3 view of each symbol in ``directory``, by name."""
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(BOOK_HEADER)
    account = directory.accounts.name
    for symbol in sorted(directory.symbols.names()):
        orders = kernel.l3(directory.symbols.get(symbol))
        writer.writerows(
            (symbol, SIDE_NAME[side], price, order_id, account(owner), qty)
            for side, owner, price, order_id, qty in zip(
                orders["side"].tolist(),
                orders["account"].tolist(),
                orders["price"].tolist(),
                orders["order_id"].tolist(),
                orders["qty"].tolist(),
                strict=True,
            )
        )


SIDE_NAME = {code: side.value for code, side in L.SIDE_OF.items()}


def _same(order_id: int) -> int:
    return order_id
