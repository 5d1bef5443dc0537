"""The matching engine: every rule of MATCHING_RULES.md, for any number of symbols.

Pure and deterministic: no clock, no I/O, no randomness. Given the same
sequenced commands it emits byte-identical events (docs/EVENTS.md gives their
exact order) and ends in an identical book.

Speed notes (each measured by benchmarks/bench_core.py): globals used on the
hot path are bound to module constants (``BUY``, ``GTC``...) and compared by
identity; events are built positionally (msgspec Structs, built in C); the
match loop never mutates the dict it iterates and removes filled orders after
it, in one pass.

Validate first: a command applies whole or not at all. Every check that can
reject it or raise runs before its first change to any state (books, levels,
the order index, the used ids, the trade id counter, ``last_seq``); the one
change a rejected command makes is the documented one, a NEW rejected from
check 3 on uses its id up (docs/EVENTS.md). Field classes are trusted, not
tested one by one: an exact class test of every field costs ~20% of the
standard workload (measured with callgrind). msgspec tests them on decode,
which is how the server's, the rings' and the journal's inputs arrive, and the
order-file and LOBSTER readers make ints. What the engine would misread is
refused instead, before any change, where it reads it: an enum field that holds
no member of its enum raises TypeError (an STP mode is read when the order
crosses, on entry or by a replace); a quantity, price, id or seq must be
provably > 0 (or after ``last_seq``), so NaN is rejected (it compares false
with everything: a crossing NaN quantity would never run out in ``_match``); a
value that cannot be compared or hashed (None where an int is required, a str,
an unhashable symbol) raises TypeError. An int of any size is taken as it is:
the arithmetic is exact, and fitting the wire's 64 bits is the gateway's check.
A float or a bool where an int is declared is read as the number it is (the
compiled core raises TypeError for a float, still before any change).

The venue's rules (../shared/VENUE_RULES.md: stops, icebergs, GTD and DAY,
trading phases, call auctions; docs/EVENTS.md gives their events) live here
too, off the plain order's path: a plain limit order in a CONTINUOUS symbol
takes the one test above, and everything else the slow path, so a stream
without venue fields costs what it did. Time is each input's ``ts_ns``
(V-TIME-1): before an input, time moves up to it and the GTD orders due
expire. The uncross price is ``ringmatch.engine.book.auction``'s.
"""

from __future__ import annotations

import heapq
from bisect import insort
from collections import deque
from collections.abc import Iterable

from ringmatch.engine.book.auction import AuctionQueue, uncross_price
from ringmatch.engine.book.book import BookSide, Level, OrderBook, RestingOrder
from ringmatch.engine.schema.commands import (
    Cancel,
    Clock,
    Command,
    MassCancel,
    NewOrder,
    Replace,
    SetPhase,
    VenueCommand,
)
from ringmatch.engine.schema.enums import (
    CancelReason,
    CommandKind,
    OrderType,
    RejectReason,
    Side,
    StpMode,
    TimeInForce,
    TradingPhase,
)
from ringmatch.engine.schema.events import (
    Accepted,
    AuctionTrade,
    Cancelled,
    Event,
    Indicative,
    MassCancelled,
    PhaseChanged,
    Reduced,
    Refreshed,
    Rejected,
    Replaced,
    Trade,
    Triggered,
)
from ringmatch.engine.schema.views import BBO, BookOrder, Depth, HeldOrder, IndicativeUncross

BUY = Side.BUY
SELL = Side.SELL
LIMIT = OrderType.LIMIT
MARKET = OrderType.MARKET
STOP = OrderType.STOP
STOP_LIMIT = OrderType.STOP_LIMIT
GTC = TimeInForce.GTC
IOC = TimeInForce.IOC
FOK = TimeInForce.FOK
DAY = TimeInForce.DAY
GTD = TimeInForce.GTD
CONTINUOUS = TradingPhase.CONTINUOUS
CLOSED = TradingPhase.CLOSED
CLOSING_AUCTION = TradingPhase.CLOSING_AUCTION
CALL_PHASES = frozenset(
    (
        TradingPhase.PRE_OPEN,
        TradingPhase.OPENING_AUCTION,
        TradingPhase.CLOSING_AUCTION,
        TradingPhase.HALTED,
    )
)
STP_NONE = StpMode.NONE
CANCEL_TAKER = StpMode.CANCEL_TAKER
CANCEL_MAKER = StpMode.CANCEL_MAKER
CANCEL_BOTH = StpMode.CANCEL_BOTH
NEW = CommandKind.NEW
CANCEL = CommandKind.CANCEL
REPLACE = CommandKind.REPLACE
R = RejectReason
C_USER = CancelReason.USER
C_STP = CancelReason.STP
C_IOC = CancelReason.IOC_REMAINDER
C_MARKET = CancelReason.MARKET_REMAINDER
C_FOK = CancelReason.KILLED_FOK
C_POST_ONLY = CancelReason.POST_ONLY
C_EXPIRED = CancelReason.EXPIRED
C_UNFILLED = CancelReason.AUCTION_UNFILLED
C_CLOSED = CancelReason.MARKET_CLOSED
SET_PHASE = CommandKind.SET_PHASE
COMMAND_TYPES = frozenset((NewOrder, Cancel, Replace, MassCancel, SetPhase, Clock))


class MatchingEngine:
    """Owns every book. Feed it commands; it returns the events they caused.

    >>> from ringmatch.engine.schema.commands import NewOrder
    >>> from ringmatch.engine.schema.enums import OrderType, Side
    >>> eng = MatchingEngine()
    >>> _ = eng.process(NewOrder(1, "alice", "AAPL", Side.SELL, OrderType.LIMIT, 101, 5))
    >>> [type(e).__name__ for e in eng.process(
    ...     NewOrder(2, "bob", "AAPL", Side.BUY, OrderType.LIMIT, 102, 3))]
    ['Accepted', 'Trade']
    >>> eng.bbo("AAPL")
    BBO(bid_price=None, bid_qty=0, ask_price=101, ask_qty=2)
    """

    __slots__ = (
        "_books",
        "_expiries",
        "_now",
        "_orders",
        "_print_high",
        "_print_low",
        "_references",
        "_trade_id",
        "_used_ids",
        "last_seq",
    )

    def __init__(self, reference_prices: dict[str, int] | None = None) -> None:
        self._books: dict[str, OrderBook] = {}
        # Every live order: resting, held stops, market orders waiting in a call
        # phase; in the order they became live (a replace that moves re-enters).
        self._orders: dict[int, RestingOrder] = {}
        self._used_ids: set[int] = set()  # every id a NEW has used up
        self._trade_id = 0
        self.last_seq = 0
        self._now = 0  # the time (V-TIME-1); 0: none given yet
        # GTD orders by (expire_ts, seq of NEW, id); an entry whose order is gone is skipped.
        self._expiries: list[tuple[int, int, int]] = []
        # The configured reference prices of the auctions (V-AUC-2).
        self._references: dict[str, int] = dict(reference_prices or {})
        # The lowest and highest print of the last _match that traded.
        self._print_low = 0
        self._print_high = 0

    # -- input -----------------------------------------------------------------

    def process(self, cmd: Command | VenueCommand, seq: int | None = None) -> list[Event]:
        """Apply one command, stamped ``seq`` (default: the next number)."""
        if seq is None:
            seq = self.last_seq + 1
        elif not seq > self.last_seq:  # not "<=": a NaN seq is refused too
            raise ValueError(f"seq {seq} is not after the last sequence number {self.last_seq}")
        out: list[Event] = []
        self._apply(cmd, seq, out)
        self.last_seq = seq
        return out

    def process_under(self, seq: int, cmds: Iterable[Command | VenueCommand]) -> list[Event]:
        """Apply several commands that one input caused, all stamped ``seq``.

        For the core's control inputs: a kill switch's mass cancels are one
        sequenced input but several engine commands. A command that raises
        changed nothing (see the module doc), but those before it stay applied,
        so ``seq`` is used all the same if there were any.
        """
        if not seq > self.last_seq:
            raise ValueError(f"seq {seq} is not after the last sequence number {self.last_seq}")
        out: list[Event] = []
        applied = False
        try:
            for cmd in cmds:
                self._apply(cmd, seq, out)
                applied = True
        finally:
            if applied:
                self.last_seq = seq
        return out

    def process_batch(self, cmds: Iterable[Command | VenueCommand]) -> list[Event]:
        """Apply commands in order with consecutive sequence numbers.

        A command that raises changed nothing (see the module doc); those
        before it stay applied, and ``last_seq`` is the last of them.
        """
        out: list[Event] = []
        # The dispatch is inlined here (not a call to _apply) because it runs
        # once per command: one Python call less is ~5% of a command's cost.
        new, cancel, replace = self._new, self._cancel, self._replace
        seq = self.last_seq + 1  # the next command's
        moved = (0, 0)  # (seq, time before) of the last move of time that expired nothing
        now = self._now  # a local: only the time step below changes it
        try:
            for cmd in cmds:
                kind = type(cmd)
                # The class is tested where time moves, and by the dispatch below.
                if cmd.ts_ns > now:
                    if kind not in COMMAND_TYPES:
                        raise TypeError(f"not a command: {cmd!r}")
                    if not self._advance(cmd.ts_ns, seq, out):
                        moved = (seq, now)
                    now = self._now
                if kind is NewOrder:
                    new(cmd, seq, out)  # type: ignore[arg-type]
                elif kind is Cancel:
                    cancel(cmd, seq, out)  # type: ignore[arg-type]
                elif kind is Replace:
                    replace(cmd, seq, out)  # type: ignore[arg-type]
                elif kind in COMMAND_TYPES:
                    self._apply_other(cmd, seq, out)
                else:
                    raise TypeError(f"not a command: {cmd!r}")
                seq += 1
        except BaseException:
            self._unmove(moved, seq)
            raise
        finally:
            # Whatever raised (a command, which changed nothing, or the iterator),
            # the commands before it are the ones applied.
            self.last_seq = seq - 1
        return out

    def _apply(self, cmd: Command | VenueCommand, seq: int, out: list[Event]) -> None:
        kind = type(cmd)
        if kind not in COMMAND_TYPES:
            raise TypeError(f"not a command: {cmd!r}")
        moved = (0, 0)
        if cmd.ts_ns > self._now:
            before = self._now
            if not self._advance(cmd.ts_ns, seq, out):
                moved = (seq, before)
        try:
            if kind is NewOrder:
                self._new(cmd, seq, out)  # type: ignore[arg-type]
            elif kind is Cancel:
                self._cancel(cmd, seq, out)  # type: ignore[arg-type]
            elif kind is Replace:
                self._replace(cmd, seq, out)  # type: ignore[arg-type]
            else:
                self._apply_other(cmd, seq, out)
        except BaseException:
            self._unmove(moved, seq)
            raise

    def _unmove(self, moved: tuple[int, int], seq: int) -> None:
        """The command ``seq`` raised: if its timestamp moved time and nothing expired,
        time goes back, so that the command changed nothing (validate first). Orders
        that did expire stay expired: they belong to the time, not to the command."""
        if moved[0] == seq:
            self._now = moved[1]

    def _apply_other(self, cmd: Command | VenueCommand, seq: int, out: list[Event]) -> None:
        kind = type(cmd)
        if kind is MassCancel:
            self._mass_cancel(cmd, seq, out)  # type: ignore[arg-type]
        elif kind is SetPhase:
            self._set_phase(cmd, seq, out)  # type: ignore[arg-type]
        # A Clock only moves time, which _apply did.

    def set_reference_price(self, symbol: str, price: int) -> None:
        """The configured reference price of ``symbol``'s auctions, until it trades (V-AUC-2)."""
        self._references[symbol] = price

    @property
    def now(self) -> int:
        """The engine's time (V-TIME-1): the largest ``ts_ns`` seen; 0 before any."""
        return self._now

    # -- NEW -------------------------------------------------------------------

    def _new(self, c: NewOrder, seq: int, out: list[Event]) -> None:
        # Validate first (see the module doc): up to the first change, the id
        # used up (or the book made for a symbol's first order), this only reads
        # and tests. Every field it uses is read before that change too, as the
        # compiled core raises TypeError on reading a field of the wrong class.
        oid = c.order_id
        used = self._used_ids
        if not oid > 0 or oid in used:  # not "<= 0": NaN is refused too
            reason = R.INVALID_ORDER_ID if not oid > 0 else R.DUPLICATE_ORDER_ID
            out.append(Rejected(seq, NEW, oid, c.account, reason, c.client_order_id))
            return
        qty = c.qty
        price = c.price
        tif = c.tif
        symbol = c.symbol
        book = self._books.get(symbol)  # an unhashable symbol raises here
        # One test admits the common well-formed limit order; anything else
        # takes the slow path that names the first broken rule.
        if (
            c.order_type is LIMIT
            and price is not None
            and price > 0
            and qty > 0
            and symbol
            and (tif is None or tif is GTC or ((tif is IOC or tif is FOK) and not c.post_only))
            and c.trigger_price is None
            and c.display_qty is None
            and c.expire_ts is None
            and (book is None or book.phase is CONTINUOUS)
        ):
            if tif is None:
                tif = GTC
        else:
            why = _invalid_new(c)
            # A market order in a CONTINUOUS symbol can break none of the venue's checks.
            if why is None and (
                c.order_type is not MARKET or (book is not None and book.phase is not CONTINUOUS)
            ):
                why = self._venue_reject(c, book)
            if why is not None:
                out.append(Rejected(seq, NEW, oid, c.account, why, c.client_order_id))
                used.add(oid)  # the one effect of a reject from check 3 on
                return
            if c.order_type is not MARKET or (book is not None and book.phase is not CONTINUOUS):
                self._new_venue(c, seq, book, out)
                return
            tif = IOC  # a valid plain limit order in a CONTINUOUS symbol passes the test above
        account = c.account
        side = c.side
        # Not a change: the callers drop ``out`` when a command raises. Built
        # before the book below, as building it reads fields.
        out.append(
            Accepted(
                seq, oid, account, symbol, side, c.order_type, tif, price, qty, c.client_order_id
            )
        )
        if book is None:
            if side is not BUY and side is not SELL:
                raise _not_a_member(c, "side")
            # The symbol's first order cannot cross: nothing below raises now.
            book = self._books[symbol] = OrderBook(symbol)
        # A limit order's key on its own side is -limit_key (see ringmatch.engine.book.book).
        # A market order accepts any price: the worst key of the opposite side
        # admits every level, however large a price (a fixed floor would not).
        if side is BUY:
            own = book.bids
            opp = book.asks
            keys = opp.keys
            limit_key = -price if price is not None else keys[0] if keys else 0
        elif side is SELL:
            own = book.asks
            opp = book.bids
            keys = opp.keys
            limit_key = price if price is not None else keys[0] if keys else 0
        else:
            raise _not_a_member(c, "side")
        if keys and keys[-1] >= limit_key:
            # Only an order that crosses reads these: test them here, still
            # before the first change.
            stp = c.stp
            if stp is not STP_NONE and type(stp) is not StpMode:
                raise _not_a_member(c, "stp")
            post_only = c.post_only  # the compiled core raises if it is no bool
            used.add(oid)
            if post_only:
                out.append(Cancelled(seq, oid, account, symbol, side, price, qty, C_POST_ONLY))
                return
            if tif is FOK and not _fok_fills(opp, qty, limit_key, account, stp):
                out.append(Cancelled(seq, oid, account, symbol, side, price, qty, C_FOK))
                return
            qty = self._match(seq, oid, account, symbol, side, price, qty, limit_key, stp, opp, out)
            # With stops held, what is left of the order is settled first, then the stops
            # its prints triggered are released (V-STOP-3). _match kept the prints' range
            # only if there were stops to read it.
            printed = bool(book.stops)
            if not qty:
                if printed:
                    self._printed(book, seq, out)
                return
        else:
            used.add(oid)
            printed = False
        if tif is GTC:
            assert price is not None
            # BookSide.add, inlined: resting a new order is the commonest path.
            key = -limit_key
            level = own.levels.get(key)
            if level is None:
                level = own.levels[key] = Level()
                own_keys = own.keys
                if not own_keys or key > own_keys[-1]:
                    own_keys.append(key)
                else:
                    insort(own_keys, key)
            order = RestingOrder(qty, price, account, c)
            level[oid] = order
            level.qty += qty
            self._orders[oid] = order
        elif tif is FOK:
            out.append(Cancelled(seq, oid, account, symbol, side, price, qty, C_FOK))
        else:
            rest_why = C_MARKET if price is None else C_IOC
            out.append(Cancelled(seq, oid, account, symbol, side, price, qty, rest_why))
        if printed:
            self._printed(book, seq, out)

    # -- matching --------------------------------------------------------------

    def _match(
        self,
        seq: int,
        taker_id: int,
        account: str,
        symbol: str,
        side: Side,
        taker_price: int | None,
        qty: int,
        limit_key: int,
        stp: StpMode,
        opp: BookSide,
        out: list[Event],
    ) -> int:
        """Trade ``qty`` against ``opp``; return what is left (0 if STP cancelled it).

        A level with no iceberg takes one pass here, as before icebergs; one that
        holds hidden quantity is ``_iceberg_level``'s. The prints' lowest and highest
        prices widen ``_print_low`` / ``_print_high`` (0: none yet) while the book
        holds stops; the stop cascade reads and resets them (V-STOP-2).
        """
        keys = opp.keys
        levels = opp.levels
        sign = opp.sign
        index = self._orders
        book = self._books[symbol]
        day = book.day_orders
        trade_id = self._trade_id
        no_stp = stp is STP_NONE
        append = out.append
        first_print = 0
        last_print = 0
        stop = False
        while keys and not stop:
            key = keys[-1]
            if key < limit_key:
                break
            level = levels[key]
            price = sign * key
            traded_from = trade_id
            if level.hidden:
                qty, trade_id, stop = self._iceberg_level(
                    seq, taker_id, account, symbol, side, taker_price, qty, stp, opp, key,
                    price, trade_id, out,
                )  # fmt: skip
            else:
                gone: list[int] = []  # makers that leave this level
                removed = 0  # quantity that leaves this level
                for mid, maker in level.items():
                    if no_stp or maker.account != account:
                        mq = maker.qty
                        if mq <= qty:
                            t = mq
                            maker.qty = 0
                            gone.append(mid)
                        else:
                            t = qty
                            maker.qty = mq - qty
                        qty -= t
                        removed += t
                        trade_id += 1
                        append(
                            Trade(seq, trade_id, symbol, price, t, mid, taker_id, maker.account,
                                  account, side, maker.qty, qty)
                        )  # fmt: skip
                        if not qty:
                            break
                        continue
                    qty, stop, d = _self_trade(
                        seq, taker_id, account, symbol, side, taker_price, qty, stp, mid, maker,
                        price, level, out,
                    )  # fmt: skip
                    removed += d
                    if not maker.qty:
                        gone.append(mid)
                    if stop:
                        break
                if len(gone) == len(level):
                    opp.drop_level(key)
                else:
                    for mid in gone:
                        del level[mid]
                    level.qty -= removed
                for mid in gone:
                    del index[mid]
                if day:
                    for mid in gone:
                        day.pop(mid, None)
            if trade_id != traded_from:
                if not first_print:
                    first_print = price
                last_print = price
            if not qty:
                break
        if trade_id != self._trade_id:
            self._trade_id = trade_id
            book.last_price = last_print
            if book.stops:
                # Widened, not set: the cascade reads every print since it last looked.
                low, high = first_print, last_print
                if high < low:
                    low, high = high, low
                if not self._print_high or low < self._print_low:
                    self._print_low = low
                if high > self._print_high:
                    self._print_high = high
        return qty

    def _iceberg_level(
        self,
        seq: int,
        taker_id: int,
        account: str,
        symbol: str,
        side: Side,
        taker_price: int | None,
        qty: int,
        stp: StpMode,
        opp: BookSide,
        key: int,
        price: int,
        trade_id: int,
        out: list[Event],
    ) -> tuple[int, int, bool]:
        """``_match`` at a level that holds icebergs, in passes: an iceberg whose slice a
        pass empties shows a new slice at the back of the level (V-ICE-2) after the pass,
        and the next pass meets it again if the taker has quantity left. Returns what
        the taker has left, the last trade id, and whether STP stopped it."""
        level = opp.levels[key]
        index = self._orders
        day = self._books[symbol].day_orders
        no_stp = stp is STP_NONE
        append = out.append
        stop = False
        while True:  # the passes over this level
            gone: list[int] = []  # makers that leave this level
            refreshed: list[RestingOrder] = []  # icebergs whose slice emptied
            removed = 0  # shown quantity that leaves this level
            for mid, maker in level.items():
                if no_stp or maker.account != account:
                    mq = maker.qty
                    hidden = maker.hidden
                    if mq <= qty:
                        t = mq
                        maker.qty = 0
                        (refreshed.append(maker) if hidden else gone.append(mid))
                    else:
                        t = qty
                        maker.qty = mq - qty
                    qty -= t
                    removed += t
                    trade_id += 1
                    append(
                        Trade(seq, trade_id, symbol, price, t, mid, taker_id, maker.account,
                              account, side, maker.qty + hidden, qty)
                    )  # fmt: skip
                    if hidden and not maker.qty:
                        append(_refreshed(seq, maker, price))
                    if not qty:
                        break
                    continue
                qty, stop, d = _self_trade(
                    seq, taker_id, account, symbol, side, taker_price, qty, stp, mid, maker,
                    price, level, out,
                )  # fmt: skip
                removed += d
                if not maker.qty:
                    (refreshed.append(maker) if maker.hidden else gone.append(mid))
                if stop:
                    break
            if not refreshed and len(gone) == len(level):
                opp.drop_level(key)
            else:
                for mid in gone:
                    del level[mid]
                level.qty -= removed
                for maker in refreshed:
                    _to_the_back(level, maker)
            for mid in gone:
                del index[mid]
            if day:
                for mid in gone:
                    day.pop(mid, None)
            if stop or not qty or not refreshed or not level:
                return qty, trade_id, stop

    # -- CANCEL ----------------------------------------------------------------

    def _reject_order(
        self, kind: CommandKind, c: Cancel | Replace, seq: int, out: list[Event]
    ) -> None:
        """Reject a CANCEL or REPLACE whose order is not its account's resting order."""
        oid = c.order_id
        account = c.account
        order = self._orders.get(oid)
        if order is not None and order.account != account:
            reason = R.NOT_YOUR_ORDER
        elif oid in self._used_ids:
            reason = R.ORDER_NOT_RESTING
        else:
            reason = R.UNKNOWN_ORDER
        out.append(Rejected(seq, kind, oid, account, reason, c.client_order_id))

    def _cancel(self, c: Cancel, seq: int, out: list[Event]) -> None:
        oid = c.order_id
        order = self._orders.get(oid)
        if order is None or order.account != c.account:
            self._reject_order(CANCEL, c, seq, out)
            return
        if order.new_seq:
            # Off the plain path: an iceberg, a held stop, a waiting market order, a DAY or
            # GTD order, one entered in a call phase (only such orders have a new_seq).
            book = self._books[order.origin.symbol]
            price, leaves = self._unlive(order, book)
            o = order.origin
            out.append(Cancelled(seq, oid, order.account, o.symbol, o.side, price, leaves, C_USER))
            if book.phase is not CONTINUOUS:
                self._publish_indicative(book, seq, out)
            return
        del self._orders[oid]
        origin = order.origin
        symbol = origin.symbol
        side = origin.side
        price = order.price
        qty = order.qty
        # BookSide.remove, inlined: a cancel is the second commonest command.
        book = self._books[symbol]
        if side is BUY:
            own = book.bids
            key = price
        else:
            own = book.asks
            key = -price
        level = own.levels[key]
        del level[oid]
        if level:
            level.qty -= qty
        else:
            own.drop_level(key)
        out.append(Cancelled(seq, oid, order.account, symbol, side, price, qty, C_USER))
        if book.phase is not CONTINUOUS:
            self._publish_indicative(book, seq, out)

    # -- REPLACE ---------------------------------------------------------------

    def _replace(self, c: Replace, seq: int, out: list[Event]) -> None:
        oid = c.order_id
        order = self._orders.get(oid)
        account = c.account
        if order is None or order.account != account:
            self._reject_order(REPLACE, c, seq, out)
            return
        origin = order.origin
        book = self._books[origin.symbol]
        if order.new_seq or book.phase is not CONTINUOUS or c.trigger_price is not None:
            # An order off the plain path (see _cancel), a call phase, or a stop's field.
            self._replace_venue(c, order, book, seq, out)
            return
        price = c.price
        qty = c.qty
        # Not "<= 0": NaN is refused too.
        if price is None or not price > 0:
            out.append(Rejected(seq, REPLACE, oid, account, R.INVALID_PRICE, c.client_order_id))
            return
        if not qty > 0:
            out.append(Rejected(seq, REPLACE, oid, account, R.INVALID_QUANTITY, c.client_order_id))
            return
        symbol = origin.symbol
        side = origin.side
        own = book.bids if side is BUY else book.asks
        if price == order.price and qty <= order.qty:
            # Same price, no more quantity: the order keeps its place.
            own.levels[own.sign * price].qty -= order.qty - qty
            order.qty = qty
            out.append(Replaced(seq, oid, account, symbol, side, price, qty, True))
            return
        opp = book.asks if side is BUY else book.bids
        limit_key = -price if side is BUY else price
        keys = opp.keys
        crosses = bool(keys) and keys[-1] >= limit_key
        if crosses:
            if origin.post_only:
                out.append(
                    Rejected(seq, REPLACE, oid, account, R.POST_ONLY_WOULD_CROSS, c.client_order_id)
                )
                return
            # Matching will read the order's STP mode, which its NEW tested only
            # if it crossed then: test it before the first change.
            stp = origin.stp
            if stp is not STP_NONE and type(stp) is not StpMode:
                raise _not_a_member(origin, "stp")
        own.remove(order)
        del self._orders[oid]
        out.append(Replaced(seq, oid, account, symbol, side, price, qty, False))
        if crosses:
            trades = self._trade_id
            qty = self._match(seq, oid, account, symbol, side, price, qty, limit_key, stp, opp, out)
            if qty:
                order.price = price
                order.qty = qty
                own.add(order)
                self._orders[oid] = order
            if self._trade_id != trades:
                self._printed(book, seq, out)
            return
        order.price = price
        order.qty = qty
        own.add(order)
        self._orders[oid] = order

    # -- MASS CANCEL -----------------------------------------------------------

    def _mass_cancel(self, c: MassCancel, seq: int, out: list[Event]) -> None:
        """Cancel the account's live orders (resting, held, waiting), oldest entry first."""
        account = c.account
        symbol = c.symbol
        reason = c.reason
        doomed = [
            o
            for o in self._orders.values()
            if o.account == account and (symbol is None or o.origin.symbol == symbol)
        ]
        books = self._books
        touched: dict[str, OrderBook] = {}
        for order in doomed:
            origin = order.origin
            book = books[origin.symbol]
            price, leaves = self._unlive(order, book)
            out.append(
                Cancelled(seq, origin.order_id, account, origin.symbol, origin.side, price,
                          leaves, reason)
            )  # fmt: skip
            if book.phase is not CONTINUOUS:
                touched.setdefault(origin.symbol, book)
        out.append(MassCancelled(seq, account, symbol, len(doomed), reason))
        for book in touched.values():
            self._publish_indicative(book, seq, out)

    # -- the venue's paths (VENUE_RULES.md; docs/EVENTS.md has the events) ----------

    def _venue_reject(self, c: NewOrder, book: OrderBook | None) -> RejectReason | None:
        """NEW checks 8 (the time part) to 10, which read the engine's state."""
        if c.tif is GTD and c.expire_ts is not None and c.expire_ts <= self._now:
            return R.EXPIRE_TS_PASSED
        if book is None:
            return None
        phase = book.phase
        if phase is CLOSED:
            return R.MARKET_CLOSED
        order_type = c.order_type
        if phase in CALL_PHASES and order_type is LIMIT and (c.tif is IOC or c.tif is FOK):
            return R.NOT_IN_CALL_PHASE
        if order_type is STOP or order_type is STOP_LIMIT:
            last = book.last_price
            trigger = c.trigger_price
            assert trigger is not None  # checked by _invalid_new
            if last is not None and (trigger <= last if c.side is BUY else trigger >= last):
                return R.STOP_WOULD_TRIGGER
        return None

    def _new_venue(self, c: NewOrder, seq: int, book: OrderBook | None, out: list[Event]) -> None:
        """A valid NEW that is not a plain order in a CONTINUOUS symbol."""
        oid = c.order_id
        side = c.side
        if side is not BUY and side is not SELL:
            raise _not_a_member(c, "side")
        stp = c.stp
        if stp is not STP_NONE and type(stp) is not StpMode:
            raise _not_a_member(c, "stp")
        order_type = c.order_type
        tif = c.tif
        if tif is None:
            tif = IOC if order_type is MARKET else GTC
        out.append(
            Accepted(seq, oid, c.account, c.symbol, side, order_type, tif, c.price, c.qty,
                     c.client_order_id, c.trigger_price, c.display_qty, c.expire_ts)
        )  # fmt: skip
        self._used_ids.add(oid)
        if book is None:
            book = self._books[c.symbol] = OrderBook(c.symbol)
        order = RestingOrder(c.qty, c.price or 0, c.account, c, new_seq=seq)
        if order_type is STOP or order_type is STOP_LIMIT:
            trigger = c.trigger_price
            assert trigger is not None
            order.trigger = trigger
            book.stops[oid] = order
            self._live(order, book, tif)
            return
        if book.phase is CONTINUOUS:
            # Indexed by _enter if it rests; a DAY order it does not rest leaves day_orders.
            self._expiry_of(order, book, tif)
            self._enter(seq, order, book, order_type, tif, c.price, c.qty, c.post_only, out)
            return
        # A call phase: nothing matches (V-SES-2).
        if order_type is MARKET:
            book.waiting[oid] = order
            self._live(order, book, tif)
        elif c.post_only and self._would_cross(book, side, c.price):
            out.append(Cancelled(seq, oid, c.account, c.symbol, side, c.price, c.qty, C_POST_ONLY))
        else:
            self._rest(order, book, c.price, c.qty)
            self._live(order, book, tif)
        self._publish_indicative(book, seq, out)

    def _live(self, order: RestingOrder, book: OrderBook, tif: TimeInForce) -> None:
        """Index a new live order, with its DAY or GTD bookkeeping."""
        self._orders[order.origin.order_id] = order
        self._expiry_of(order, book, tif)

    def _expiry_of(self, order: RestingOrder, book: OrderBook, tif: TimeInForce) -> None:
        """A new order's DAY or GTD bookkeeping (V-EXP-2, V-TIME-3); nothing for others."""
        origin = order.origin
        oid = origin.order_id
        if tif is DAY:
            book.day_orders[oid] = order
        elif tif is GTD:
            expire_ts = origin.expire_ts
            assert expire_ts is not None
            heapq.heappush(self._expiries, (expire_ts, order.new_seq, oid))

    @staticmethod
    def _would_cross(book: OrderBook, side: Side, price: int | None) -> bool:
        """Would a limit at ``price`` cross the best opposite limit order?"""
        assert price is not None
        if side is BUY:
            best = book.asks.best()
            return best is not None and best[0] <= price
        best = book.bids.best()
        return best is not None and best[0] >= price

    def _rest(self, order: RestingOrder, book: OrderBook, price: int | None, leaves: int) -> None:
        """Put ``leaves`` of ``order`` on the book at ``price``, an iceberg as its slice."""
        assert price is not None
        display = order.origin.display_qty
        shown = leaves if display is None or display >= leaves else display
        order.price = price
        order.qty = shown
        order.hidden = leaves - shown
        order.trigger = 0
        (book.bids if order.origin.side is BUY else book.asks).add(order)

    def _enter(
        self,
        seq: int,
        order: RestingOrder,
        book: OrderBook,
        order_type: OrderType,
        tif: TimeInForce,
        price: int | None,
        qty: int,
        post_only: bool,
        out: list[Event],
        cascade: bool = True,
    ) -> None:
        """An order entering a CONTINUOUS book as a taker: a NEW on the venue's path, or a
        released stop (``cascade`` False: its prints are left for the next round). It
        matches, then rests (GTC, DAY, GTD) or its remainder is cancelled. It is not in
        the order index while it matches; a DAY order is in ``day_orders``."""
        origin = order.origin
        oid = origin.order_id
        account = origin.account
        symbol = origin.symbol
        side = origin.side
        if side is BUY:
            opp = book.asks
            keys = opp.keys
            limit_key = -price if price is not None else keys[0] if keys else 0
        else:
            opp = book.bids
            keys = opp.keys
            limit_key = price if price is not None else keys[0] if keys else 0
        trades = self._trade_id
        if keys and keys[-1] >= limit_key:
            stp = origin.stp
            if post_only:
                book.day_orders.pop(oid, None)
                out.append(Cancelled(seq, oid, account, symbol, side, price, qty, C_POST_ONLY))
                return
            if tif is FOK and not _fok_fills(opp, qty, limit_key, account, stp):
                book.day_orders.pop(oid, None)
                out.append(Cancelled(seq, oid, account, symbol, side, price, qty, C_FOK))
                return
            qty = self._match(seq, oid, account, symbol, side, price, qty, limit_key, stp, opp, out)
        if qty and (tif is GTC or tif is DAY or tif is GTD) and order_type is not MARKET:
            self._rest(order, book, price, qty)
            self._orders[oid] = order
        else:
            book.day_orders.pop(oid, None)
            if qty:
                why = C_FOK if tif is FOK else C_MARKET if price is None else C_IOC
                out.append(Cancelled(seq, oid, account, symbol, side, price, qty, why))
        if cascade and self._trade_id != trades:
            self._printed(book, seq, out)

    def _unlive(self, order: RestingOrder, book: OrderBook) -> tuple[int | None, int]:
        """Take a live order out of wherever it is; its price for a report (None for a
        STOP or a market order) and its whole leaves."""
        origin = order.origin
        oid = origin.order_id
        del self._orders[oid]
        book.day_orders.pop(oid, None)
        if order.trigger:
            del book.stops[oid]
            return (None if origin.order_type is STOP else order.price), order.qty
        if not order.price:
            del book.waiting[oid]
            return None, order.qty
        leaves = order.qty + order.hidden
        (book.bids if origin.side is BUY else book.asks).remove(order)
        return order.price, leaves

    # -- stops -------------------------------------------------------------------

    def _triggered(self, book: OrderBook) -> list[RestingOrder]:
        """The held stops that the prints since the last look trigger, in release order;
        they leave the held set now (V-STOP-2, V-STOP-3)."""
        low, high = self._print_low, self._print_high
        self._print_low = self._print_high = 0
        stops = book.stops
        if not high or not stops:
            return []
        fired = stops.fired(low, high)
        for o in fired:
            del stops[o.origin.order_id]
            del self._orders[o.origin.order_id]
        return fired

    def _printed(self, book: OrderBook, seq: int, out: list[Event]) -> None:
        """An input's own matching printed: release the stops it triggered, in rounds."""
        self._release(self._triggered(book), book, seq, out)

    def _release(
        self, fired: list[RestingOrder], book: OrderBook, seq: int, out: list[Event]
    ) -> None:
        while fired:
            for order in fired:
                origin = order.origin
                oid = origin.order_id
                trigger = order.trigger
                order.trigger = 0
                if origin.order_type is STOP:
                    order_type, tif, price = MARKET, IOC, None
                else:
                    order_type, tif, price = LIMIT, origin.tif or GTC, order.price
                qty = order.qty
                out.append(
                    Triggered(seq, oid, origin.account, origin.symbol, origin.side, trigger,
                              order_type, tif, price, qty)
                )  # fmt: skip
                if book.phase is CLOSED:
                    book.day_orders.pop(oid, None)
                    out.append(
                        Cancelled(seq, oid, origin.account, origin.symbol, origin.side, price,
                                  qty, C_CLOSED)
                    )  # fmt: skip
                    continue
                # Its prints widen the range that the next round reads.
                self._enter(seq, order, book, order_type, tif, price, qty, False, out, False)
            fired = self._triggered(book)

    # -- time ----------------------------------------------------------------------

    def _advance(self, ts: int, seq: int, out: list[Event]) -> bool:
        """Time moves up to ``ts``; the GTD orders and stops due expire (V-TIME-3).
        True if any did."""
        self._now = ts
        expiries = self._expiries
        if not expiries or expiries[0][0] > ts:
            return False
        expired = False
        touched: dict[str, OrderBook] = {}
        orders = self._orders
        while expiries and expiries[0][0] <= ts:
            _, _, oid = heapq.heappop(expiries)
            order = orders.get(oid)
            if order is None:
                continue  # gone already (filled, cancelled)
            expired = True
            origin = order.origin
            book = self._books[origin.symbol]
            price, leaves = self._unlive(order, book)
            out.append(
                Cancelled(seq, oid, order.account, origin.symbol, origin.side, price, leaves,
                          C_EXPIRED)
            )  # fmt: skip
            if book.phase is not CONTINUOUS:
                touched.setdefault(origin.symbol, book)
        for book in touched.values():
            self._publish_indicative(book, seq, out)
        return expired

    # -- sessions and auctions -----------------------------------------------------

    def next_expiry(self) -> int | None:
        """When the earliest GTD order or stop is due to expire (ns), None if none. The
        order may be gone already (filled, cancelled): a Clock at that time then
        expires nothing and forgets it."""
        return self._expiries[0][0] if self._expiries else None

    def _set_phase(self, c: SetPhase, seq: int, out: list[Event]) -> None:
        phase = c.phase
        symbol = c.symbol
        if type(phase) is not TradingPhase:
            out.append(Rejected(seq, SET_PHASE, 0, "", R.UNKNOWN_PHASE))
            return
        if not symbol:
            out.append(Rejected(seq, SET_PHASE, 0, "", R.INVALID_SYMBOL))
            return
        reference = c.reference_price
        if reference:  # None or 0: none (a record's 0 is none)
            if reference < 0:
                out.append(Rejected(seq, SET_PHASE, 0, "", R.INVALID_PRICE))
                return
            self._references[symbol] = reference  # before the move's own uncross
        book = self._books.get(symbol)
        if book is None:
            book = self._books[symbol] = OrderBook(symbol)
        previous = book.phase
        if phase is previous:
            return
        book.phase = phase
        out.append(PhaseChanged(seq, symbol, phase, previous))
        fired: list[RestingOrder] = []
        if phase is CONTINUOUS or (previous is CLOSING_AUCTION and phase is CLOSED):
            self._uncross(book, seq, out)
            # The stops its prints trigger leave the held set now (V-STOP-7).
            fired = self._triggered(book)
        if previous in CALL_PHASES and phase not in CALL_PHASES:
            for order in list(book.waiting.values()):
                origin = order.origin
                self._unlive(order, book)
                out.append(
                    Cancelled(seq, origin.order_id, order.account, symbol, origin.side, None,
                              order.qty, C_UNFILLED)
                )  # fmt: skip
        if phase is CLOSED:
            for order in list(book.day_orders.values()):
                if order.trigger and order.origin.order_id not in book.stops:
                    continue  # triggered by the uncross: released below, not expired
                origin = order.origin
                price, leaves = self._unlive(order, book)
                out.append(
                    Cancelled(seq, origin.order_id, order.account, symbol, origin.side, price,
                              leaves, C_EXPIRED)
                )  # fmt: skip
        self._release(fired, book, seq, out)
        if phase in CALL_PHASES:
            book.indicative = None  # entering a call phase always publishes (V-AUC-4)
            self._publish_indicative(book, seq, out)
        else:
            book.indicative = None

    def _reference(self, book: OrderBook) -> int | None:
        last = book.last_price
        return last if last is not None else self._references.get(book.symbol)

    def _uncross(self, book: OrderBook, seq: int, out: list[Event]) -> None:
        """Execute the call book at its uncross price (V-AUC-1, V-AUC-3)."""
        u = uncross_price(book, self._reference(book))
        volume = u.volume
        if not volume:
            return
        price = u.price
        assert price is not None
        symbol = book.symbol
        buys = AuctionQueue(book, BUY, price)
        sells = AuctionQueue(book, SELL, price)
        trade_id = self._trade_id
        while volume:
            b = buys.head()
            s = sells.head()
            assert b is not None and s is not None  # the volume is executable
            t = min(b.qty, s.qty, volume)
            volume -= t
            b.qty -= t
            s.qty -= t
            trade_id += 1
            out.append(
                AuctionTrade(seq, trade_id, symbol, price, t, b.origin.order_id,
                             s.origin.order_id, b.account, s.account, b.qty + b.hidden,
                             s.qty + s.hidden)
            )  # fmt: skip
            for order, queue in ((b, buys), (s, sells)):
                self._allocated(order, queue, book, t, seq, out)
        self._trade_id = trade_id
        book.last_price = price
        if not self._print_high or price < self._print_low:
            self._print_low = price
        if price > self._print_high:
            self._print_high = price

    def _allocated(
        self,
        order: RestingOrder,
        queue: AuctionQueue,
        book: OrderBook,
        t: int,
        seq: int,
        out: list[Event],
    ) -> None:
        """Book-keeping after ``order`` traded ``t`` in an uncross."""
        origin = order.origin
        oid = origin.order_id
        if not order.price:  # a waiting market order
            if not order.qty:
                del book.waiting[oid]
                del self._orders[oid]
                queue.done()
            return
        own = book.bids if origin.side is BUY else book.asks
        key = own.sign * order.price
        level = own.levels[key]
        level.qty -= t
        if order.qty:
            return
        if order.hidden:
            out.append(_refreshed(seq, order, order.price))
            _to_the_back(level, order)
            queue.requeue()
            return
        del level[oid]
        if not level:
            own.drop_level(key)
        del self._orders[oid]
        book.day_orders.pop(oid, None)
        queue.done()

    def _publish_indicative(self, book: OrderBook, seq: int, out: list[Event]) -> None:
        """In a call phase: the indicative uncross, if it changed (V-AUC-4)."""
        if book.phase not in CALL_PHASES:
            return
        u = uncross_price(book, self._reference(book))
        now = (u.price, u.volume, u.imbalance_side, u.imbalance_qty)
        if now != book.indicative:
            book.indicative = now
            out.append(Indicative(seq, book.symbol, *now))

    # -- REPLACE on the venue's path ---------------------------------------------------

    def _replace_venue(
        self, c: Replace, order: RestingOrder, book: OrderBook, seq: int, out: list[Event]
    ) -> None:
        oid = c.order_id
        account = c.account
        cid = c.client_order_id
        if book.phase is CLOSED:
            out.append(Rejected(seq, REPLACE, oid, account, R.MARKET_CLOSED, cid))
            return
        if order.trigger:
            self._replace_stop(c, order, book, seq, out)
            return
        if not order.price:
            out.append(Rejected(seq, REPLACE, oid, account, R.MARKET_NOT_REPLACEABLE, cid))
            return
        price = c.price
        qty = c.qty
        if price is None or not price > 0:
            out.append(Rejected(seq, REPLACE, oid, account, R.INVALID_PRICE, cid))
            return
        if not qty > 0:
            out.append(Rejected(seq, REPLACE, oid, account, R.INVALID_QUANTITY, cid))
            return
        if c.trigger_price is not None:
            out.append(Rejected(seq, REPLACE, oid, account, R.INVALID_TRIGGER_PRICE, cid))
            return
        origin = order.origin
        symbol = origin.symbol
        side = origin.side
        own = book.bids if side is BUY else book.asks
        leaves = order.qty + order.hidden
        call = book.phase is not CONTINUOUS
        if price == order.price and qty <= leaves:
            # A cut at the same price keeps the place, from the hidden part first (V-ICE-5).
            level = own.levels[own.sign * price]
            cut = leaves - qty
            from_hidden = cut if cut < order.hidden else order.hidden
            order.hidden -= from_hidden
            level.hidden -= from_hidden
            order.qty -= cut - from_hidden
            level.qty -= cut - from_hidden
            out.append(Replaced(seq, oid, account, symbol, side, price, qty, True))
            if call:
                self._publish_indicative(book, seq, out)
            return
        opp = book.asks if side is BUY else book.bids
        limit_key = -price if side is BUY else price
        keys = opp.keys
        crosses = bool(keys) and keys[-1] >= limit_key
        if crosses and origin.post_only:
            out.append(Rejected(seq, REPLACE, oid, account, R.POST_ONLY_WOULD_CROSS, cid))
            return
        stp = origin.stp
        if crosses and stp is not STP_NONE and type(stp) is not StpMode:
            raise _not_a_member(origin, "stp")
        own.remove(order)
        del self._orders[oid]
        out.append(Replaced(seq, oid, account, symbol, side, price, qty, False))
        if call:
            self._rest(order, book, price, qty)
            self._orders[oid] = order
            self._publish_indicative(book, seq, out)
            return
        trades = self._trade_id
        if crosses:
            qty = self._match(seq, oid, account, symbol, side, price, qty, limit_key, stp, opp, out)
        if qty:
            self._rest(order, book, price, qty)
            self._orders[oid] = order
        else:
            book.day_orders.pop(oid, None)
        if self._trade_id != trades:
            self._printed(book, seq, out)

    def _replace_stop(
        self, c: Replace, order: RestingOrder, book: OrderBook, seq: int, out: list[Event]
    ) -> None:
        """Replace a held stop: trigger, limit price, quantity (V-STOP-6)."""
        oid = c.order_id
        account = c.account
        cid = c.client_order_id
        origin = order.origin
        price = c.price
        if origin.order_type is STOP:
            if price is not None:
                out.append(Rejected(seq, REPLACE, oid, account, R.MARKET_WITH_PRICE, cid))
                return
        elif price is None or not price > 0:
            out.append(Rejected(seq, REPLACE, oid, account, R.INVALID_PRICE, cid))
            return
        qty = c.qty
        if not qty > 0:
            out.append(Rejected(seq, REPLACE, oid, account, R.INVALID_QUANTITY, cid))
            return
        trigger = order.trigger if c.trigger_price is None else c.trigger_price
        if not trigger > 0:
            out.append(Rejected(seq, REPLACE, oid, account, R.INVALID_TRIGGER_PRICE, cid))
            return
        last = book.last_price
        if last is not None and (trigger <= last if origin.side is BUY else trigger >= last):
            out.append(Rejected(seq, REPLACE, oid, account, R.STOP_WOULD_TRIGGER, cid))
            return
        kept = trigger == order.trigger and (price or 0) == order.price and qty <= order.qty
        order.trigger = trigger
        order.price = price or 0
        order.qty = qty
        if not kept:
            # To the back of the release order, and of the entry order.
            del book.stops[oid]
            book.stops[oid] = order
            del self._orders[oid]
            self._orders[oid] = order
        out.append(
            Replaced(seq, oid, account, origin.symbol, origin.side, price, qty, kept, trigger)
        )

    # -- views -----------------------------------------------------------------

    def symbols(self) -> list[str]:
        """Every symbol that has a book, in name order."""
        return sorted(self._books)

    def bbo(self, symbol: str) -> BBO:
        book = self._books.get(symbol)
        if book is None:
            return BBO(None, 0, None, 0)
        bid = book.bids.best()
        ask = book.asks.best()
        return BBO(
            bid[0] if bid else None,
            bid[1] if bid else 0,
            ask[0] if ask else None,
            ask[1] if ask else 0,
        )

    def depth(self, symbol: str, levels: int) -> Depth:
        """The best ``levels`` price levels of each side with their total quantity."""
        book = self._books.get(symbol)
        if book is None:
            return Depth([], [])
        return Depth(book.bids.depth(levels), book.asks.depth(levels))

    def held(self, symbol: str) -> list[HeldOrder]:
        """Live orders off the book: held stops in release order, then the market
        orders waiting in a call phase in seq order."""
        book = self._books.get(symbol)
        if book is None:
            return []
        out = []
        for o in (*book.stops.values(), *book.waiting.values()):
            origin = o.origin
            out.append(
                HeldOrder(symbol, origin.side, origin.order_type, o.trigger or None,
                          o.price or None, origin.order_id, o.account, o.qty)
            )  # fmt: skip
        return out

    def phase(self, symbol: str) -> TradingPhase:
        """The symbol's trading phase (CONTINUOUS for a symbol never set: V-SES-1)."""
        book = self._books.get(symbol)
        return CONTINUOUS if book is None else book.phase

    def indicative(self, symbol: str) -> IndicativeUncross | None:
        """The last indicative published in the symbol's call phase; None outside one."""
        book = self._books.get(symbol)
        if book is None or book.indicative is None:
            return None
        return IndicativeUncross(*book.indicative)

    def l3(self, symbol: str) -> list[BookOrder]:
        """Every resting order: bids best first, then asks best first; queue order."""
        book = self._books.get(symbol)
        if book is None:
            return []
        return [_view(o) for side in (book.bids, book.asks) for o in side.orders()]

    def order(self, order_id: int) -> BookOrder | None:
        """The resting order ``order_id``, or None if nothing of it rests."""
        o = self._orders.get(order_id)
        return None if o is None or o.trigger or not o.price else _view(o)


def _view(o: RestingOrder) -> BookOrder:
    origin = o.origin
    return BookOrder(
        origin.symbol, origin.side, o.price, origin.order_id, o.account, o.qty, o.hidden
    )


def _slice(order: RestingOrder) -> int:
    """An iceberg's next slice: its display quantity, or what it has left (V-ICE-2)."""
    display = order.origin.display_qty
    assert display is not None
    hidden = order.hidden
    return display if display < hidden else hidden


def _self_trade(
    seq: int,
    taker_id: int,
    account: str,
    symbol: str,
    side: Side,
    taker_price: int | None,
    qty: int,
    stp: StpMode,
    mid: int,
    maker: RestingOrder,
    price: int,
    level: Level,
    out: list[Event],
) -> tuple[int, bool, int]:
    """The incoming order meets its own account's ``maker``: its STP mode decides, and no
    trade prints. Returns what the taker has left, whether it is done, and the shown
    quantity that left ``maker``. An iceberg maker is met by its slice (V-ICE-4): cancel
    modes cancel it whole, hidden part included; DECREMENT takes from the slice, which
    the caller refreshes to the back if it emptied with hidden quantity left."""
    append = out.append
    mq = maker.qty
    hidden = maker.hidden
    m_side = maker.origin.side
    if stp is CANCEL_TAKER:
        append(Cancelled(seq, taker_id, account, symbol, side, taker_price, qty, C_STP))
        return 0, True, 0
    if stp is CANCEL_MAKER or stp is CANCEL_BOTH:
        append(Cancelled(seq, mid, account, symbol, m_side, price, mq + hidden, C_STP))
        maker.qty = 0
        if hidden:
            level.hidden -= hidden
            maker.hidden = 0
        if stp is CANCEL_BOTH:
            append(Cancelled(seq, taker_id, account, symbol, side, taker_price, qty, C_STP))
            return 0, True, mq
        return qty, False, mq
    # DECREMENT: both lose the smaller remaining quantity (of the slice).
    d = mq if mq < qty else qty
    maker.qty = mq - d
    if maker.qty or hidden:
        append(Reduced(seq, mid, account, symbol, m_side, price, d, maker.qty + hidden, C_STP))
        if not maker.qty:
            append(_refreshed(seq, maker, price))
    else:
        append(Cancelled(seq, mid, account, symbol, m_side, price, d, C_STP))
    qty -= d
    if qty:
        append(Reduced(seq, taker_id, account, symbol, side, taker_price, d, qty, C_STP))
        return qty, False, d
    append(Cancelled(seq, taker_id, account, symbol, side, taker_price, d, C_STP))
    return 0, True, d


def _to_the_back(level: Level, order: RestingOrder) -> None:
    """An iceberg whose slice emptied shows its next slice at the back of ``level``."""
    oid = order.origin.order_id
    del level[oid]
    shown = _slice(order)
    order.qty = shown
    order.hidden -= shown
    level[oid] = order
    level.qty += shown
    level.hidden -= shown


def _refreshed(seq: int, order: RestingOrder, price: int) -> Refreshed:
    """The event of an iceberg that shows its next slice (before the slice is taken)."""
    origin = order.origin
    return Refreshed(
        seq,
        origin.order_id,
        order.account,
        origin.symbol,
        origin.side,
        price,
        _slice(order),
        order.hidden,
    )


def _invalid_new(c: NewOrder) -> RejectReason | None:
    """The first rule (docs/EVENTS.md, NEW checks 3 to 8 but for the time) ``c`` breaks.

    Numbers must be provably > 0 (``not x > 0``, so that NaN fails too); one that
    cannot be compared with 0 at all (None where an int is required, a str)
    raises TypeError. For an order it accepts, an order type or time in force
    that is not a member of its enum raises TypeError: the engine tells members
    apart by identity and would read anything else as some other member.
    """
    if not c.symbol:
        return R.INVALID_SYMBOL
    if not c.qty > 0:
        return R.INVALID_QUANTITY
    order_type = c.order_type
    price = c.price
    tif = c.tif
    if tif is not None and type(tif) is not TimeInForce:
        raise _not_a_member(c, "tif")
    if order_type is LIMIT or order_type is STOP_LIMIT:
        if price is None or not price > 0:
            return R.INVALID_PRICE
        if c.post_only and (
            order_type is STOP_LIMIT or (tif is not None and tif is not GTC and tif is not DAY
                                         and tif is not GTD)
        ):  # fmt: skip
            return R.POST_ONLY_NOT_GTC_LIMIT
    elif order_type is MARKET:
        if price is not None:
            return R.MARKET_WITH_PRICE
        if tif is not None and tif is not IOC:
            return R.MARKET_NOT_IOC
        if c.post_only:
            return R.POST_ONLY_NOT_GTC_LIMIT
    elif order_type is STOP:
        if price is not None:
            return R.MARKET_WITH_PRICE
        if tif is IOC or tif is FOK:
            return R.STOP_NOT_HELD_TIF
        if c.post_only:
            return R.POST_ONLY_NOT_GTC_LIMIT
    else:
        raise _not_a_member(c, "order_type")
    trigger = c.trigger_price
    if order_type is STOP or order_type is STOP_LIMIT:
        if trigger is None or not trigger > 0:
            return R.INVALID_TRIGGER_PRICE
    elif trigger is not None:
        return R.INVALID_TRIGGER_PRICE
    display = c.display_qty
    if display is not None and (
        order_type is not LIMIT
        or not (tif is None or tif is GTC or tif is DAY or tif is GTD)
        or not display > 0
        or display > c.qty
    ):
        return R.BAD_DISPLAY_QTY
    expire_ts = c.expire_ts
    if tif is GTD:
        if expire_ts is None or not expire_ts > 0:
            return R.INVALID_EXPIRE_TS
    elif expire_ts is not None:
        return R.INVALID_EXPIRE_TS
    return None


def _not_a_member(cmd: Command, field: str) -> TypeError:
    """The error for a field of ``cmd`` that holds something other than its declared type."""
    return TypeError(
        f"{type(cmd).__name__}.{field} is not of its declared type: {getattr(cmd, field)!r}"
    )


def _fok_fills(opp: BookSide, qty: int, limit_key: int, account: str, stp: StpMode) -> bool:
    """The FOK dry run: would an IOC of ``qty`` trade all of it?

    Quantity that STP removes does not count as filled, so any self-trade
    other than CANCEL_MAKER (which only skips that maker) means "no". Hidden
    quantity counts as the match would reach it, refreshes to the back included
    (V-ICE-3).
    """
    levels = opp.levels
    for key in reversed(opp.keys):
        if key < limit_key:
            return False
        level = levels[key]
        if stp is STP_NONE:
            qty -= level.qty + level.hidden
            if qty <= 0:
                return True
            continue
        # The queue as the match walks it: (account, shown, hidden, display).
        queue = deque(
            (m.account, m.qty, m.hidden, m.origin.display_qty or 0) for m in level.values()
        )
        while queue:
            who, shown, hidden, display = queue.popleft()
            if who == account:
                if stp is CANCEL_MAKER:
                    continue
                return False
            qty -= shown
            if qty <= 0:
                return True
            if hidden:
                shown = display if display < hidden else hidden
                queue.append((who, shown, hidden - shown, display))
    return False
