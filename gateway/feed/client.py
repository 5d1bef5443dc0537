"""A feed subscriber: local books from snapshot plus incrementals, healing gaps by re-snapshot.

    client = await FeedClient.connect(host, port, ["AAPL"], levels=5)
    async for msg in client:                 # every message, in order
        book = client.books["AAPL"]          # SubscriberBook: bids, asks, last_price, phase

``SubscriberBook`` is the sans-IO half: ``on_message`` applies a message and
returns a ``SnapshotRequest`` when it sees a gap (a seq that is not the next
one); until the fresh snapshot arrives it drops that symbol's incrementals.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from ringmatch.engine.book.matching import CALL_PHASES
from ringmatch.gateway.feed.protocol import (
    CutOff,
    FeedError,
    FeedMessage,
    FeedProtocol,
    IndicativeUpdate,
    Level,
    Levels,
    Phase,
    ServerMessage,
    Snapshot,
    SnapshotRequest,
    Subscribe,
    Top,
    TradePrint,
    frame,
)


class SubscriberBook:
    __slots__ = (
        "asks",
        "bids",
        "gaps",
        "indicative",
        "last_price",
        "levels",
        "phase",
        "seq",
        "stale",
        "symbol",
        "top",
    )

    def __init__(self, symbol: str, levels: int) -> None:
        self.symbol = symbol
        self.levels = levels
        self.bids: dict[int, int] = {}
        self.asks: dict[int, int] = {}
        self.last_price: int | None = None
        self.top: tuple[int | None, int, int | None, int] = (None, 0, None, 0)
        self.seq = 0
        self.stale = True  # no snapshot yet, or waiting for a fresh one after a gap
        self.gaps = 0
        self.phase = "CONTINUOUS"
        # In a call phase: the indicative uncross (price, volume, imbalance side, qty).
        self.indicative: tuple[int | None, int, str | None, int] | None = None

    def on_message(self, msg: FeedMessage) -> SnapshotRequest | None:
        if type(msg) is Snapshot:
            self.bids, self.asks = dict(msg.bids), dict(msg.asks)
            self.last_price = msg.last_price
            bid = msg.bids[0] if msg.bids else (None, 0)
            ask = msg.asks[0] if msg.asks else (None, 0)
            self.top = (bid[0], bid[1], ask[0], ask[1])
            self.seq = msg.seq
            self.phase, self.indicative = msg.phase, msg.indicative
            self.stale = False
            return None
        if self.stale or msg.seq <= self.seq:
            return None  # before the (fresh) snapshot, or already in it
        if msg.seq != self.seq + 1:
            self.gaps += 1
            self.stale = True
            return SnapshotRequest(self.symbol)
        self.seq = msg.seq
        if type(msg) is Levels:
            _apply(self.bids, msg.bids)
            _apply(self.asks, msg.asks)
        elif type(msg) is Top:
            self.top = (msg.bid_price, msg.bid_qty, msg.ask_price, msg.ask_qty)
        elif type(msg) is TradePrint:
            self.last_price = msg.price
        elif type(msg) is Phase:
            self.phase = msg.phase
            if msg.phase not in _CALL_PHASES:
                self.indicative = None
        elif type(msg) is IndicativeUpdate:
            self.indicative = (msg.price, msg.volume, msg.imbalance_side, msg.imbalance_qty)
        return None

    def depth(self) -> tuple[list[Level], list[Level]]:
        """(bids, asks), best first, as ``MatchingEngine.depth`` gives them."""
        bids = sorted(self.bids.items(), reverse=True)[: self.levels]
        asks = sorted(self.asks.items())[: self.levels]
        return bids, asks


_CALL_PHASES = frozenset(p.value for p in CALL_PHASES)


def _apply(side: dict[int, int], changes: list[Level]) -> None:
    for price, qty in changes:
        if qty:
            side[price] = qty
        else:
            side.pop(price, None)


class FeedClosed(Exception):
    """The server cut the subscription off (``reason``) or closed the connection."""


class FeedClient:
    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        symbols: list[str],
        levels: int,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._protocol = FeedProtocol(ServerMessage)  # type: ignore[arg-type]
        self.books = {s: SubscriberBook(s, levels) for s in symbols}
        self.cut_off: str | None = None

    @classmethod
    async def connect(cls, host: str, port: int, symbols: list[str], levels: int) -> FeedClient:
        reader, writer = await asyncio.open_connection(host, port)
        client = cls(reader, writer, symbols, levels)
        writer.write(frame(Subscribe(symbols, levels)))
        await writer.drain()
        return client

    async def next_message(self) -> ServerMessage:
        """The next message (already applied to its book); FeedClosed at the end."""
        while True:
            msg = self._protocol.next_message()
            if msg is not None:
                break
            data = await self._reader.read(65536)
            if not data:
                raise FeedClosed(self.cut_off or "the server closed the connection")
            self._protocol.receive_data(data)
        if type(msg) is CutOff:
            self.cut_off = msg.reason
            raise FeedClosed(msg.reason)
        if isinstance(msg, Snapshot | Levels | Top | TradePrint):
            book = self.books.get(msg.symbol)
            if book is not None:
                request = book.on_message(msg)
                if request is not None:
                    self._writer.write(frame(request))
        assert isinstance(msg, Snapshot | Levels | Top | TradePrint | FeedError)
        return msg

    async def __aiter__(self) -> AsyncIterator[ServerMessage]:
        while True:
            try:
                yield await self.next_message()
            except FeedClosed:
                return

    def close(self) -> None:
        self._writer.close()
