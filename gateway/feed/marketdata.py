"""Market data from the event stream: per symbol L1, L2 to N levels and trades. Pure.

    md = MarketData()
    stream = md.channel("AAPL", levels=5)     # one per (symbol, depth) anyone wants
    snap = md.snapshot("AAPL", 5)             # Snapshot at the channel's current seq
    for (symbol, levels), msgs in md.on_events(events).items(): ...   # incrementals

Books are rebuilt from events alone (docs/EVENTS.md): an incoming order is
held aside until its command's events are over (its seq changes, or the batch
ends) and only then rests, so a view never shows a book crossed by an order
that was still matching. After each batch, every channel of a touched symbol
compares its top N with what it last published and sends the difference as
one ``Levels`` (quantity 0: the level is gone), a ``Top`` when the best bid or
offer changed, and a ``TradePrint`` per trade. Every message of a channel
carries the channel's next sequence number, so a subscriber can see a gap.

The venue's orders (docs/ORDER_TYPES.md) show as a venue shows them: a held stop
not at all until it is triggered (then it is an incoming order like any other),
an iceberg only its displayed slice (a ``Refreshed`` shows the next), DAY and GTD
limits like GTC ones until they expire. An uncross's executions are trade
prints (the seller as the taker, as ``events.as_trade`` pairs them); a phase
change is a ``Phase`` message, a call phase's indicative uncross an
``IndicativeUpdate``, both in event order with the trades. In a call phase the
book may be crossed: nothing matches until the uncross.

``on_records`` reads the continuous book's records in numpy (book_records.py);
at the first batch with a venue record it hands its orders to ``on_events``'
table and decodes every batch after that (the venue's batches are the rare ones).
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence

import numpy as np

from ringmatch.engine.book.matching import CALL_PHASES
from ringmatch.engine.records import layout as L
from ringmatch.engine.records.convert import decode_events
from ringmatch.engine.records.layout import EVENT_DTYPE
from ringmatch.engine.records.names import Directory
from ringmatch.engine.records.stream import whole_events
from ringmatch.engine.schema.enums import OrderType, Side, TimeInForce, TradingPhase
from ringmatch.engine.schema.events import (
    Accepted,
    AuctionTrade,
    Cancelled,
    Event,
    Indicative,
    PhaseChanged,
    Reduced,
    Refreshed,
    Replaced,
    Trade,
    Triggered,
    as_trade,
)
from ringmatch.gateway.feed import book_records
from ringmatch.gateway.feed.protocol import (
    FeedMessage,
    IndicativeUpdate,
    Levels,
    Phase,
    Snapshot,
    Top,
    TradePrint,
)

BUY = Side.BUY
LIMIT = OrderType.LIMIT
GTC = TimeInForce.GTC
RESTS = frozenset({TimeInForce.GTC, TimeInForce.DAY, TimeInForce.GTD})
"""The tifs of a limit order that rests (a STOP_LIMIT's too, once triggered)."""
MAX_LEVELS = 100
_VENUE_TIF = L.TIF_CODE[TimeInForce.DAY]  # DAY, GTD: the codes from it on
_VENUE_TYPE = L.ORDER_TYPE_CODE[OrderType.STOP]  # STOP, STOP_LIMIT


def _has_venue(records: np.ndarray) -> bool:
    """Whether a batch holds a record only the venue's rules make (on_records' switch)."""
    kind = records["kind"]
    if (kind >= L.ORDER_TERMS).any():
        return True
    accepted = kind == L.ACCEPTED
    if (accepted & ((records["tif"] >= _VENUE_TIF) | (records["order_type"] >= _VENUE_TYPE))).any():
        return True
    # An accept or a replace whose ORDER_TERMS record follows (perhaps in the next batch).
    with_terms = (accepted | (kind == L.REPLACED)) & (records["flags"] & L.WITH_TERMS != 0)
    return bool(with_terms.any())


Level = tuple[int, int]


class SymbolBook:
    """Aggregated levels of one symbol: price -> total resting quantity."""

    __slots__ = ("asks", "bids", "indicative", "last_price", "phase")

    def __init__(self) -> None:
        self.bids: dict[int, int] = {}
        self.asks: dict[int, int] = {}
        self.last_price: int | None = None
        self.phase = TradingPhase.CONTINUOUS
        self.indicative: tuple[int | None, int, str | None, int] | None = None

    def add(self, buy: bool, price: int, qty: int) -> None:
        if not qty:  # nothing shown changes (an order's print beyond its slice)
            return
        side = self.bids if buy else self.asks
        left = side.get(price, 0) + qty
        if left:
            side[price] = left
        else:
            del side[price]

    def top(self, n: int) -> tuple[list[Level], list[Level]]:
        """The best ``n`` levels of each side, best first."""
        bids = [(p, self.bids[p]) for p in heapq.nlargest(n, self.bids)]
        asks = [(p, self.asks[p]) for p in heapq.nsmallest(n, self.asks)]
        return bids, asks


class _Order:
    """An order the feed tracks: ``qty`` what it has left, ``shown`` what of it the book
    shows (an iceberg's slice; all of it for any other order)."""

    __slots__ = ("buy", "display", "price", "qty", "resting", "shown", "symbol")

    def __init__(
        self, symbol: str, buy: bool, price: int, qty: int, display: int | None = None
    ) -> None:
        self.symbol = symbol
        self.buy = buy
        self.price = price
        self.qty = qty
        self.display = display
        self.shown = self.first_slice()
        self.resting = False

    def first_slice(self) -> int:
        """What it shows as it comes to rest: all of it, an iceberg its display_qty."""
        return self.qty if self.display is None else min(self.display, self.qty)


class Channel:
    """What one (symbol, depth) stream last published, and its sequence number."""

    __slots__ = ("asks", "bids", "levels", "seq", "symbol", "top")

    def __init__(self, symbol: str, levels: int) -> None:
        self.symbol = symbol
        self.levels = levels
        self.seq = 0
        self.bids: list[Level] = []
        self.asks: list[Level] = []
        self.top: tuple[int | None, int, int | None, int] = (None, 0, None, 0)


def _diff(old: list[Level], new: list[Level]) -> list[Level]:
    before = dict(old)
    now = dict(new)
    changes = [(p, q) for p, q in new if before.get(p) != q]
    changes += [(p, 0) for p, _ in old if p not in now]
    return changes


class MarketData:
    """One stream's books and channels: read it with ``on_events`` or with ``on_records``.

    The two keep the orders they track apart (``on_records`` in an OrderTable),
    so one MarketData reads one kind of stream.
    """

    __slots__ = (
        "_events_only",
        "_held_maker",
        "_orders",
        "_pending",
        "_seq",
        "_symbol_lut",
        "_symbol_lut_of",
        "_symbol_names",
        "_symbols",
        "_table",
        "books",
        "channels",
    )

    def __init__(self) -> None:
        self.books: dict[str, SymbolBook] = {}
        self.channels: dict[tuple[str, int], Channel] = {}
        self._orders: dict[int, _Order] = {}
        self._pending: list[_Order] = []  # incoming orders of the current command
        self._seq = 0  # the seq of the command being read
        # on_records: its orders, its symbol indexes, a maker record waiting for its taker
        self._table = book_records.OrderTable()
        self._symbols: dict[str, int] = {}
        self._symbol_names: list[str] = []
        self._symbol_lut = np.zeros(0, np.int64)  # directory symbol id -> index, -1: not yet
        self._symbol_lut_of: Directory | None = None
        self._held_maker = np.zeros(0, EVENT_DTYPE)
        self._events_only = False  # on_records decodes (a venue record was seen)

    def _symbol_index(self, symbol: str) -> int:
        """The small index ``on_records``' order table knows ``symbol`` by."""
        i = self._symbols.get(symbol)
        if i is None:
            i = self._symbols[symbol] = len(self._symbol_names)
            self._symbol_names.append(symbol)
        return i

    def book(self, symbol: str) -> SymbolBook:
        book = self.books.get(symbol)
        if book is None:
            book = self.books[symbol] = SymbolBook()
        return book

    # -- channels and snapshots ---------------------------------------------------------

    def channel(self, symbol: str, levels: int) -> Channel:
        if not 1 <= levels <= MAX_LEVELS:
            raise ValueError(f"levels must be 1..{MAX_LEVELS}, got {levels}")
        ch = self.channels.get((symbol, levels))
        if ch is None:
            ch = self.channels[symbol, levels] = Channel(symbol, levels)
            self._publish_state(ch, self.book(symbol))
        return ch

    def snapshot(self, symbol: str, levels: int) -> Snapshot:
        ch = self.channel(symbol, levels)
        book = self.book(symbol)
        return Snapshot(
            symbol,
            ch.seq,
            levels,
            list(ch.bids),
            list(ch.asks),
            book.last_price,
            book.phase.value,
            book.indicative,
        )

    def reset(self) -> None:
        """Forget every book (before a rebuild); channels live on, their seq moves on. A
        symbol's phase and indicative are no resting order's: they stay."""
        kept = {s: (b.phase, b.indicative) for s, b in self.books.items()}
        self.books.clear()
        for symbol, (phase, indicative) in kept.items():
            book = self.book(symbol)
            book.phase, book.indicative = phase, indicative
        self._orders.clear()
        self._pending.clear()
        self._table.clear()  # (a maker's record held for its taker stays: it is the stream's)

    def load(self, symbol: str, orders: Sequence[tuple[int, Side, int, int]]) -> None:
        """Seed a rebuilt book: ``(order_id, side, price, qty)`` of each resting order."""
        book = self.book(symbol)
        for oid, side, price, qty in orders:
            o = _Order(symbol, side is BUY, price, qty)
            o.resting = True
            self._orders[oid] = o
            book.add(o.buy, price, qty)
        n = len(orders)
        self._table.upsert(
            np.array([o[0] for o in orders], np.uint64),
            np.full(n, self._symbol_index(symbol), np.int64),
            np.array([o[1] is BUY for o in orders], bool),
            np.array([o[2] for o in orders], np.int64),
            np.array([o[3] for o in orders], np.int64),
            np.ones(n, bool),
        )

    def resync(self) -> list[Snapshot]:
        """After a rebuild: every channel steps its seq and re-publishes a snapshot."""
        out = []
        for ch in self.channels.values():
            self._publish_state(ch, self.book(ch.symbol))
            ch.seq += 1
            out.append(self.snapshot(ch.symbol, ch.levels))
        return out

    @staticmethod
    def _publish_state(ch: Channel, book: SymbolBook) -> None:
        ch.bids, ch.asks = book.top(ch.levels)
        ch.top = _top(ch.bids, ch.asks)

    # -- the event stream --------------------------------------------------------------

    def on_records(
        self, records: np.ndarray, directory: Directory
    ) -> dict[tuple[str, int], list[FeedMessage]]:
        """``on_events`` on a batch of EVENT_DTYPE records, without an Event per event.

        The same messages per channel for the same batch (gateway/feed/book_records.py);
        the batch's NAME events teach ``directory`` first, and a maker's trade record
        that ends a batch waits for its taker's in the next.
        """
        if not self._events_only and _has_venue(records):
            self._take_over_the_table()
        if self._events_only:
            directory.learn(records)
            if len(self._held_maker):
                records = np.concatenate([self._held_maker, records], dtype=EVENT_DTYPE)
            whole = whole_events(records)
            self._held_maker = records[whole:].copy()
            return self.on_events(decode_events(records[:whole], directory))
        return self._incrementals(book_records.on_records(self, records, directory))

    def _take_over_the_table(self) -> None:
        """on_records' orders into on_events' table, for good (a maker's record held for
        its taker stays held: the next batch brings it)."""
        t = self._table
        names = self._symbol_names
        n = t.n
        rows = zip(
            t.ids[:n].tolist(),
            t.sym[:n].tolist(),
            t.buy[:n].tolist(),
            t.price[:n].tolist(),
            t.qty[:n].tolist(),
            t.resting[:n].tolist(),
            t.live[:n].tolist(),
            strict=True,
        )
        for oid, s, buy, price, qty, resting, live in rows:
            if not live:
                continue
            o = _Order(names[s], buy, price, qty)
            self._orders[oid] = o
            if resting:
                o.resting = True
            else:
                self._pending.append(o)
        t.clear()
        self._events_only = True

    def on_events(self, events: Sequence[Event]) -> dict[tuple[str, int], list[FeedMessage]]:
        """Apply a batch; the incrementals for every channel it changed."""
        touched: dict[str, list[Published]] = {}
        orders = self._orders
        for ev in events:
            if ev.seq != self._seq:
                for symbol in self._rest_pending():
                    touched.setdefault(symbol, [])
                self._seq = ev.seq
            t = type(ev)
            if t is Trade:
                assert isinstance(ev, Trade)
                self._print(touched, ev)
            elif t is Accepted:
                assert isinstance(ev, Accepted)
                if ev.order_type is LIMIT and ev.tif in RESTS and ev.price is not None:
                    new = _Order(ev.symbol, ev.side is BUY, ev.price, ev.qty, ev.display_qty)
                    orders[ev.order_id] = new
                    self._pending.append(new)
            elif t is Cancelled:
                assert isinstance(ev, Cancelled)
                gone = orders.pop(ev.order_id, None)
                if gone is not None:
                    if gone.resting:
                        self.book(gone.symbol).add(gone.buy, gone.price, -gone.shown)
                        touched.setdefault(gone.symbol, [])
                    gone.qty = gone.shown = 0
            elif t is Reduced:
                assert isinstance(ev, Reduced)
                self._take(ev.order_id, ev.qty, None)
                touched.setdefault(ev.symbol, [])
            elif t is Replaced:
                assert isinstance(ev, Replaced)
                self._replaced(touched, ev)
            else:
                self._venue_event(touched, ev)
        for symbol in self._rest_pending():
            touched.setdefault(symbol, [])
        return self._incrementals(touched)

    def _print(self, touched: dict[str, list[Published]], ev: Trade) -> None:
        book = self.book(ev.symbol)
        book.last_price = ev.price
        touched.setdefault(ev.symbol, []).append(
            (ev.trade_id, ev.price, ev.qty, ev.taker_side.value)
        )
        maker = self._orders.get(ev.maker_order_id)
        if maker is not None and not maker.resting:
            # Met as a maker before its input ended: an earlier taker of the input whose
            # remainder rested, then a stop the input released traded with it.
            self._rest(maker, book)
        self._take(ev.maker_order_id, ev.qty, book)
        self._take(ev.taker_order_id, ev.qty, book)

    def _replaced(self, touched: dict[str, list[Published]], ev: Replaced) -> None:
        o = self._orders.get(ev.order_id)
        if o is None:
            return
        book = self.book(o.symbol)
        touched.setdefault(o.symbol, [])
        if o.resting:
            book.add(o.buy, o.price, -o.shown)
        # A price of None is a held stop's (VENUE_RULES.md), never on a book.
        o.price, o.qty = ev.price if ev.price is not None else o.price, ev.qty
        if ev.priority_kept:  # no more quantity: an iceberg keeps at most its slice
            o.shown = min(o.shown, o.qty)
            book.add(o.buy, o.price, o.shown)
        else:  # it re-enters as an incoming order: rests (a first slice) once matching is over
            o.resting = False
            self._pending.append(o)

    def _venue_event(self, touched: dict[str, list[Published]], ev: Event) -> None:
        """The venue's events (docs/ORDER_TYPES.md); the rest change no book."""
        if isinstance(ev, Triggered):
            # A held stop released: from here on an incoming order (V-STOP-3).
            if ev.order_type is LIMIT and ev.tif in RESTS and ev.price is not None:
                new = _Order(ev.symbol, ev.side is BUY, ev.price, ev.qty)
                self._orders[ev.order_id] = new
                self._pending.append(new)
        elif isinstance(ev, Refreshed):
            o = self._orders.get(ev.order_id)
            if o is not None and not o.resting:  # rested in this input (see _print)
                self._rest(o, self.book(o.symbol))
            if o is not None:  # the old slice is gone: the new one shows
                self.book(o.symbol).add(o.buy, o.price, ev.shown - o.shown)
                o.shown, o.qty = ev.shown, ev.leaves
                touched.setdefault(o.symbol, [])
        elif isinstance(ev, AuctionTrade):
            self._print(touched, as_trade(ev))
        elif isinstance(ev, PhaseChanged):
            book = self.book(ev.symbol)
            book.phase = ev.phase
            if ev.phase not in CALL_PHASES:
                book.indicative = None
            touched.setdefault(ev.symbol, []).append(_Notice(ev))
        elif isinstance(ev, Indicative):
            side = None if ev.imbalance_side is None else ev.imbalance_side.value
            self.book(ev.symbol).indicative = (ev.price, ev.volume, side, ev.imbalance_qty)
            touched.setdefault(ev.symbol, []).append(_Notice(ev))

    def _take(self, order_id: int, qty: int, book: SymbolBook | None) -> None:
        o = self._orders.get(order_id)
        if o is None:
            return
        shown = min(qty, o.shown)
        if o.resting:
            (book or self.book(o.symbol)).add(o.buy, o.price, -shown)
        o.qty -= qty
        o.shown -= shown
        if o.qty == 0:
            del self._orders[order_id]

    def _rest_pending(self) -> list[str]:
        rested = []
        for o in self._pending:
            if o.qty > 0 and not o.resting:
                self._rest(o, self.book(o.symbol))
                rested.append(o.symbol)
        self._pending.clear()
        return rested

    @staticmethod
    def _rest(o: _Order, book: SymbolBook) -> None:
        o.resting = True
        # What it shows once it rests: an iceberg its first slice of what is left.
        o.shown = o.first_slice()
        book.add(o.buy, o.price, o.shown)

    def _incrementals(
        self, touched: Mapping[str, Sequence[Published]]
    ) -> dict[tuple[str, int], list[FeedMessage]]:
        """Publish every channel of the ``touched`` symbols: their trades, then levels."""
        out: dict[tuple[str, int], list[FeedMessage]] = {}
        if not touched or not self.channels:
            return out
        for (symbol, levels), ch in self.channels.items():
            trades = touched.get(symbol)
            if trades is None:
                continue
            msgs: list[FeedMessage] = []
            for item in trades:
                ch.seq += 1
                if type(item) is _Notice:
                    msgs.append(item.message(ch.seq))
                else:
                    assert isinstance(item, tuple)
                    trade_id, price, qty, side = item
                    msgs.append(TradePrint(symbol, ch.seq, trade_id, price, qty, side))
            bids, asks = self.book(symbol).top(levels)
            db, da = _diff(ch.bids, bids), _diff(ch.asks, asks)
            if db or da:
                ch.seq += 1
                msgs.append(Levels(symbol, ch.seq, db, da))
                ch.bids, ch.asks = bids, asks
                top = _top(bids, asks)
                if top != ch.top:
                    ch.seq += 1
                    msgs.append(Top(symbol, ch.seq, *top))
                    ch.top = top
            if msgs:
                out[symbol, levels] = msgs
        return out


class _Notice:
    """A venue event a channel publishes in its place among the trades: a phase change
    or an indicative uncross."""

    __slots__ = ("event",)

    def __init__(self, event: PhaseChanged | Indicative) -> None:
        self.event = event

    def message(self, seq: int) -> Phase | IndicativeUpdate:
        ev = self.event
        if isinstance(ev, PhaseChanged):
            return Phase(ev.symbol, seq, ev.phase.value, ev.previous.value)
        side = None if ev.imbalance_side is None else ev.imbalance_side.value
        return IndicativeUpdate(ev.symbol, seq, ev.price, ev.volume, side, ev.imbalance_qty)


Published = book_records.TradeTuple | _Notice
"""What a batch gives a symbol's channels, in event order: its trades and notices."""


def _top(bids: list[Level], asks: list[Level]) -> tuple[int | None, int, int | None, int]:
    bid = bids[0] if bids else (None, 0)
    ask = asks[0] if asks else (None, 0)
    return (bid[0], bid[1], ask[0], ask[1])
