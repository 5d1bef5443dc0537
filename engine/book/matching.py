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
"""

from __future__ import annotations

from bisect import insort
from collections.abc import Iterable

from ringmatch.engine.book.book import BookSide, Level, OrderBook, RestingOrder
from ringmatch.engine.schema.commands import Cancel, Command, MassCancel, NewOrder, Replace
from ringmatch.engine.schema.enums import (
    CancelReason,
    CommandKind,
    OrderType,
    RejectReason,
    Side,
    StpMode,
    TimeInForce,
)
from ringmatch.engine.schema.events import (
    Accepted,
    Cancelled,
    Event,
    MassCancelled,
    Reduced,
    Rejected,
    Replaced,
    Trade,
)
from ringmatch.engine.schema.views import BBO, BookOrder, Depth

BUY = Side.BUY
SELL = Side.SELL
LIMIT = OrderType.LIMIT
MARKET = OrderType.MARKET
GTC = TimeInForce.GTC
IOC = TimeInForce.IOC
FOK = TimeInForce.FOK
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

    __slots__ = ("_books", "_orders", "_trade_id", "_used_ids", "last_seq")

    def __init__(self) -> None:
        self._books: dict[str, OrderBook] = {}
        self._orders: dict[int, RestingOrder] = {}  # resting orders only
        self._used_ids: set[int] = set()  # every id a NEW has used up
        self._trade_id = 0
        self.last_seq = 0

    # -- input -----------------------------------------------------------------

    def process(self, cmd: Command, seq: int | None = None) -> list[Event]:
        """Apply one command, stamped ``seq`` (default: the next number)."""
        if seq is None:
            seq = self.last_seq + 1
        elif not seq > self.last_seq:  # not "<=": a NaN seq is refused too
            raise ValueError(f"seq {seq} is not after the last sequence number {self.last_seq}")
        out: list[Event] = []
        self._apply(cmd, seq, out)
        self.last_seq = seq
        return out

    def process_under(self, seq: int, cmds: Iterable[Command]) -> list[Event]:
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

    def process_batch(self, cmds: Iterable[Command]) -> list[Event]:
        """Apply commands in order with consecutive sequence numbers.

        A command that raises changed nothing (see the module doc); those
        before it stay applied, and ``last_seq`` is the last of them.
        """
        out: list[Event] = []
        # The dispatch is inlined here (not a call to _apply) because it runs
        # once per command: one Python call less is ~5% of a command's cost.
        new, cancel, replace = self._new, self._cancel, self._replace
        seq = self.last_seq + 1  # the next command's
        try:
            for cmd in cmds:
                kind = type(cmd)
                if kind is NewOrder:
                    new(cmd, seq, out)  # type: ignore[arg-type]
                elif kind is Cancel:
                    cancel(cmd, seq, out)  # type: ignore[arg-type]
                elif kind is Replace:
                    replace(cmd, seq, out)  # type: ignore[arg-type]
                elif kind is MassCancel:
                    self._mass_cancel(cmd, seq, out)  # type: ignore[arg-type]
                else:
                    raise TypeError(f"not a command: {cmd!r}")
                seq += 1
        finally:
            # Whatever raised (a command, which changed nothing, or the iterator),
            # the commands before it are the ones applied.
            self.last_seq = seq - 1
        return out

    def _apply(self, cmd: Command, seq: int, out: list[Event]) -> None:
        kind = type(cmd)
        if kind is NewOrder:
            self._new(cmd, seq, out)  # type: ignore[arg-type]
        elif kind is Cancel:
            self._cancel(cmd, seq, out)  # type: ignore[arg-type]
        elif kind is Replace:
            self._replace(cmd, seq, out)  # type: ignore[arg-type]
        elif kind is MassCancel:
            self._mass_cancel(cmd, seq, out)  # type: ignore[arg-type]
        else:
            raise TypeError(f"not a command: {cmd!r}")

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
        ):
            if tif is None:
                tif = GTC
        else:
            why = _invalid_new(c)
            if why is not None:
                out.append(Rejected(seq, NEW, oid, c.account, why, c.client_order_id))
                used.add(oid)  # the one effect of a reject from check 3 on
                return
            tif = IOC  # a valid limit order passes the test above
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
            if not qty:
                return
        else:
            used.add(oid)
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
        """Trade ``qty`` against ``opp``; return what is left (0 if STP cancelled it)."""
        keys = opp.keys
        levels = opp.levels
        sign = opp.sign
        index = self._orders
        trade_id = self._trade_id
        no_stp = stp is STP_NONE
        append = out.append
        while keys:
            key = keys[-1]
            if key < limit_key:
                break
            level = levels[key]
            price = sign * key
            gone: list[int] = []  # makers that leave this level
            removed = 0  # quantity that leaves this level
            stop = False
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
                        Trade(
                            seq,
                            trade_id,
                            symbol,
                            price,
                            t,
                            mid,
                            taker_id,
                            maker.account,
                            account,
                            side,
                            maker.qty,
                            qty,
                        )
                    )
                    if not qty:
                        break
                    continue
                # Self-trade: the incoming order's STP mode decides; no trade.
                mq = maker.qty
                m_side = maker.origin.side
                if stp is CANCEL_TAKER:
                    append(Cancelled(seq, taker_id, account, symbol, side, taker_price, qty, C_STP))
                    qty = 0
                    stop = True
                    break
                if stp is CANCEL_MAKER or stp is CANCEL_BOTH:
                    append(Cancelled(seq, mid, account, symbol, m_side, price, mq, C_STP))
                    maker.qty = 0
                    gone.append(mid)
                    removed += mq
                    if stp is CANCEL_BOTH:
                        append(
                            Cancelled(seq, taker_id, account, symbol, side, taker_price, qty, C_STP)
                        )
                        qty = 0
                        stop = True
                        break
                    continue
                # DECREMENT: both lose the smaller remaining quantity.
                d = mq if mq < qty else qty
                removed += d
                maker.qty = mq - d
                if maker.qty:
                    append(Reduced(seq, mid, account, symbol, m_side, price, d, maker.qty, C_STP))
                else:
                    append(Cancelled(seq, mid, account, symbol, m_side, price, d, C_STP))
                    gone.append(mid)
                qty -= d
                if qty:
                    append(
                        Reduced(seq, taker_id, account, symbol, side, taker_price, d, qty, C_STP)
                    )
                else:
                    append(Cancelled(seq, taker_id, account, symbol, side, taker_price, d, C_STP))
                    stop = True
                    break
            if len(gone) == len(level):
                opp.drop_level(key)
            else:
                for mid in gone:
                    del level[mid]
                level.qty -= removed
            for mid in gone:
                del index[mid]
            if stop or not qty:
                break
        self._trade_id = trade_id
        return qty

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

    # -- REPLACE ---------------------------------------------------------------

    def _replace(self, c: Replace, seq: int, out: list[Event]) -> None:
        oid = c.order_id
        order = self._orders.get(oid)
        account = c.account
        if order is None or order.account != account:
            self._reject_order(REPLACE, c, seq, out)
            return
        price = c.price
        qty = c.qty
        # Not "<= 0": NaN is refused too. None is a held stop's, and no order here is one.
        if price is None or not price > 0:
            out.append(Rejected(seq, REPLACE, oid, account, R.INVALID_PRICE, c.client_order_id))
            return
        if not qty > 0:
            out.append(Rejected(seq, REPLACE, oid, account, R.INVALID_QUANTITY, c.client_order_id))
            return
        origin = order.origin
        symbol = origin.symbol
        side = origin.side
        book = self._books[symbol]
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
            qty = self._match(seq, oid, account, symbol, side, price, qty, limit_key, stp, opp, out)
            if not qty:
                return
        order.price = price
        order.qty = qty
        own.add(order)
        self._orders[oid] = order

    # -- MASS CANCEL -----------------------------------------------------------

    def _mass_cancel(self, c: MassCancel, seq: int, out: list[Event]) -> None:
        """Cancel the account's resting orders, oldest entry into the book first."""
        account = c.account
        symbol = c.symbol
        reason = c.reason
        doomed = [
            o
            for o in self._orders.values()
            if o.account == account and (symbol is None or o.origin.symbol == symbol)
        ]
        books = self._books
        for order in doomed:
            origin = order.origin
            side = origin.side
            book = books[origin.symbol]
            (book.bids if side is BUY else book.asks).remove(order)
            oid = origin.order_id
            del self._orders[oid]
            out.append(
                Cancelled(seq, oid, account, origin.symbol, side, order.price, order.qty, reason)
            )
        out.append(MassCancelled(seq, account, symbol, len(doomed), reason))

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

    def l3(self, symbol: str) -> list[BookOrder]:
        """Every resting order: bids best first, then asks best first; queue order."""
        book = self._books.get(symbol)
        if book is None:
            return []
        return [_view(o) for side in (book.bids, book.asks) for o in side.orders()]

    def order(self, order_id: int) -> BookOrder | None:
        """The resting order ``order_id``, or None if nothing of it rests."""
        o = self._orders.get(order_id)
        return None if o is None else _view(o)


def _view(o: RestingOrder) -> BookOrder:
    origin = o.origin
    return BookOrder(origin.symbol, origin.side, o.price, origin.order_id, o.account, o.qty)


def _invalid_new(c: NewOrder) -> RejectReason | None:
    """The first rule (docs/EVENTS.md, NEW checks 3 to 5) that ``c`` breaks, if any.

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
    if order_type is LIMIT:
        if price is None or not price > 0:
            return R.INVALID_PRICE
        if tif is not None and type(tif) is not TimeInForce:
            raise _not_a_member(c, "tif")
        if c.post_only and tif is not None and tif is not GTC:
            return R.POST_ONLY_NOT_GTC_LIMIT
        return None
    if order_type is not MARKET:
        raise _not_a_member(c, "order_type")
    if price is not None:
        return R.MARKET_WITH_PRICE
    if tif is not None and tif is not IOC:
        if type(tif) is not TimeInForce:
            raise _not_a_member(c, "tif")
        return R.MARKET_NOT_IOC
    if c.post_only:
        return R.POST_ONLY_NOT_GTC_LIMIT
    return None


def _not_a_member(cmd: Command, field: str) -> TypeError:
    """The error for a field of ``cmd`` that holds something other than its declared type."""
    return TypeError(
        f"{type(cmd).__name__}.{field} is not of its declared type: {getattr(cmd, field)!r}"
    )


def _fok_fills(opp: BookSide, qty: int, limit_key: int, account: str, stp: StpMode) -> bool:
    """The FOK dry run: would an IOC of ``qty`` trade all of it?

    Quantity that STP removes does not count as filled, so any self-trade
    other than CANCEL_MAKER (which only skips that maker) means "no".
    """
    levels = opp.levels
    for key in reversed(opp.keys):
        if key < limit_key:
            return False
        level = levels[key]
        if stp is STP_NONE:
            qty -= level.qty
            if qty <= 0:
                return True
            continue
        for maker in level.values():
            if maker.account == account:
                if stp is CANCEL_MAKER:
                    continue
                return False
            qty -= maker.qty
            if qty <= 0:
                return True
    return False
