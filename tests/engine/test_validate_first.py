"""Validate first: a command the engine cannot apply changes nothing.

Every check runs before a command's first change to the engine's state, so a
command applies whole or not at all. The one change a rejected command makes is
the documented one (docs/EVENTS.md): a NEW rejected from check 3 on uses its id
up; and ``process`` moves ``last_seq`` to the command's seq, which its Rejected
event carries. A command that raises changes nothing at all.

Shown three ways, against a book with several symbols, levels, accounts and STP
modes: the engine's whole internal state compared before and after (both
cores); the book's containers swapped for logging ones, so that a change
made and undone would show too (pure core only: compiled code writes to native
containers directly); and hypothesis streams and malformed commands.
"""

from __future__ import annotations

import ast
import math
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ringmatch.engine import build_info
from ringmatch.engine.book import matching as matching_module
from ringmatch.engine.book.book import BookSide, Level, OrderBook, RestingOrder
from ringmatch.engine.book.held_stops import HeldStops
from ringmatch.engine.book.matching import MatchingEngine
from ringmatch.engine.schema.commands import (
    Cancel,
    Clock,
    Command,
    MassCancel,
    NewOrder,
    Replace,
    SetPhase,
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
from ringmatch.engine.schema.events import Accepted, Event, Rejected, Trade
from ringmatch.engine.schema.views import BBO
from tests.engine.strategies import command_streams

BUY, SELL = Side.BUY, Side.SELL
LIMIT, MARKET = OrderType.LIMIT, OrderType.MARKET
GTC, IOC, FOK = TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK
GTD = TimeInForce.GTD
R = RejectReason
# A NEW rejected by these has not used its id up (docs/EVENTS.md, NEW checks 1 and 2).
ID_KEPT = {R.INVALID_ORDER_ID, R.DUPLICATE_ORDER_ID}

pure_only = pytest.mark.skipif(
    build_info.compiled_matching_engine(),
    reason="compiled code writes to native containers, past any logging subclass",
)


def new(
    order_id: Any,
    account: str,
    symbol: str,
    side: Side,
    price: Any,
    qty: Any,
    *,
    order_type: OrderType = LIMIT,
    tif: TimeInForce | None = None,
    post_only: bool = False,
    stp: StpMode = StpMode.NONE,
    trigger: Any = None,
    display: Any = None,
    expire: Any = None,
) -> NewOrder:
    return NewOrder(
        order_id, account, symbol, side, order_type, price, qty, tif, post_only, stp,
        trigger_price=trigger, display_qty=display, expire_ts=expire,
    )  # fmt: skip


def market(order_id: int, account: str, side: Side, qty: int, **kw: Any) -> NewOrder:
    return new(order_id, account, "AAA", side, None, qty, order_type=MARKET, **kw)


# -- a populated engine ---------------------------------------------------------

SETUP: list[Command] = [
    new(1, "alice", "AAA", BUY, 99, 5),
    new(2, "bob", "AAA", BUY, 99, 3, stp=StpMode.CANCEL_MAKER),
    new(3, "carol", "AAA", BUY, 98, 4, stp=StpMode.DECREMENT),
    new(4, "alice", "AAA", BUY, 97, 2, post_only=True),
    new(5, "bob", "AAA", SELL, 101, 5),
    new(6, "carol", "AAA", SELL, 101, 2, stp=StpMode.CANCEL_BOTH),
    new(7, "alice", "AAA", SELL, 102, 6, stp=StpMode.CANCEL_TAKER, post_only=True),
    new(8, "bob", "AAA", SELL, 103, 1),
    new(9, "carol", "BBB", BUY, 50, 10),
    new(10, "alice", "BBB", SELL, 55, 7, post_only=True),
    new(11, "carol", "AAA", BUY, 101, 3, tif=IOC),  # trades 3 of #5: trade id 1
    new(12, "alice", "AAA", SELL, 104, 1),
    Cancel(12, "alice"),  # #12: cancelled
    new(13, "bob", "BBB", SELL, 50, 10),  # fills #9 whole, and is filled: trade id 2
    new(14, "alice", "AAA", BUY, 100, 0),  # rejected at check 4: #14 used up
    new(15, "bob", "AAA", BUY, 103, 100, tif=FOK),  # killed: #15 used up
    Replace(2, "bob", 99, 6),  # more quantity: #2 goes to the back of 99, entry order moves
    new(16, "bob", "BBB", BUY, 49, 2, stp=StpMode.DECREMENT),
    # The venue's state (VENUE_RULES.md): a time, a held stop, a symbol in a call phase
    # with a resting and a waiting order, a closed symbol with an order left on it.
    Clock(1_000),
    new(17, "alice", "AAA", BUY, None, 1, order_type=OrderType.STOP, trigger=105),
    SetPhase("CCC", TradingPhase.PRE_OPEN),
    new(18, "dave", "CCC", BUY, 10, 1),
    new(19, "dave", "CCC", SELL, None, 2, order_type=MARKET),
    new(20, "bob", "DDD", SELL, 30, 1),
    SetPhase("DDD", TradingPhase.CLOSED),
]


def populated() -> MatchingEngine:
    eng = MatchingEngine()
    eng.process_batch(SETUP)
    return eng


def test_the_populated_book_is_what_the_cases_assume() -> None:
    eng = populated()
    assert [(o.order_id, o.qty) for o in eng.l3("AAA")] == [
        (1, 5), (2, 6), (3, 4), (4, 2), (5, 2), (6, 2), (7, 6), (8, 1),
    ]  # fmt: skip
    assert [(o.order_id, o.qty) for o in eng.l3("BBB")] == [(16, 2), (10, 7)]
    assert eng._trade_id == 2
    assert eng.last_seq == len(SETUP)
    assert list(eng._orders) == [1, 3, 4, 5, 6, 7, 8, 10, 2, 16, 17, 18, 19, 20]
    assert [o.order_id for o in eng.held("AAA")] == [17]
    assert [o.order_id for o in eng.held("CCC")] == [19]
    assert eng.phase("CCC") is TradingPhase.PRE_OPEN
    assert eng.phase("DDD") is TradingPhase.CLOSED
    assert eng.now == 1_000


# -- the engine's whole state -----------------------------------------------------


@dataclass
class State:
    """Every value of an engine's state, and the objects that hold them.

    ``values`` compare by value; ``objects`` by identity (a level or order that
    was dropped and rebuilt equal is a change too). Holding the objects keeps
    their ids from being reused while the state is kept.
    """

    values: tuple[Any, ...]
    objects: list[object]

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, State)
            and self.values == other.values
            and [id(o) for o in self.objects] == [id(o) for o in other.objects]
        )

    __hash__ = None  # type: ignore[assignment]


def _order_values(o: RestingOrder) -> tuple[Any, ...]:
    return (o.qty, o.price, o.account, o.origin, o.hidden, o.trigger, o.new_seq)


def state(eng: MatchingEngine) -> State:
    objects: list[object] = []
    books = []
    for symbol, book in eng._books.items():
        objects.append(book)
        sides = []
        for side in (book.bids, book.asks):
            objects += [side, side.keys, side.levels]
            levels = []
            for key in side.keys:
                level = side.levels[key]
                objects.append(level)
                objects += level.values()
                levels.append(
                    (
                        key,
                        level.qty,
                        level.hidden,
                        [(oid, _order_values(o)) for oid, o in level.items()],
                    )
                )
            # Level dict keys apart from ``keys`` too: a level the key list lost is a change.
            sides.append((side.sign, list(side.keys), sorted(side.levels, key=repr), levels))
        venue = [
            book.phase,
            book.last_price,
            book.indicative,
            *([(oid, _order_values(o)) for oid, o in d.items()]
              for d in (book.stops, book.waiting, book.day_orders)),
        ]  # fmt: skip
        objects += [book.stops, book.waiting, book.day_orders]
        books.append((symbol, book.symbol, sides, venue))
    orders = [(oid, _order_values(o)) for oid, o in eng._orders.items()]
    objects += eng._orders.values()
    objects += [eng._books, eng._orders, eng._used_ids, eng._expiries, eng._references]
    venue = (
        eng._now,
        list(eng._expiries),
        dict(eng._references),
        eng._print_low,
        eng._print_high,
    )
    values = (books, orders, sorted(eng._used_ids, key=repr), eng._trade_id, eng.last_seq, venue)
    return State(values, objects)


def allowed_after_reject(before: State, cmd: Command, reason: RejectReason, seq: int) -> State:
    """``before`` with the only changes a rejected ``cmd`` may make (module doc)."""
    books, orders, used, trade_id, _, venue = before.values
    if isinstance(cmd, NewOrder) and reason not in ID_KEPT:
        used = sorted({*used, cmd.order_id}, key=repr)
    if cmd.ts_ns > venue[0]:  # time moves whatever the command (V-TIME-1)
        venue = (cmd.ts_ns, *venue[1:])
    return State((books, orders, used, trade_id, seq, venue), before.objects)


def attributes(cls: type) -> set[str]:
    """The instance attributes ``cls`` declares (slots, or mypyc's native attributes)."""
    kinds = (types.MemberDescriptorType, types.GetSetDescriptorType)
    return {n for n, v in vars(cls).items() if isinstance(v, kinds) and not n.startswith("__")}


def test_state_covers_every_attribute_of_the_engine_and_its_book() -> None:
    """A new piece of state must be added to ``state()`` before this passes."""
    assert attributes(MatchingEngine) == {
        "_books", "_orders", "_trade_id", "_used_ids", "last_seq",
        "_now", "_expiries", "_references", "_print_low", "_print_high",
    }  # fmt: skip
    assert attributes(OrderBook) == {
        "asks", "bids", "symbol",
        "phase", "last_price", "indicative", "stops", "waiting", "day_orders",
    }  # fmt: skip
    assert attributes(BookSide) == {"keys", "levels", "sign"}
    assert attributes(Level) <= {"qty", "hidden"}  # compiled, they have no descriptor
    assert attributes(RestingOrder) == {
        "qty", "price", "account", "origin", "hidden", "trigger", "new_seq",
    }  # fmt: skip


def test_state_sees_a_change_anywhere() -> None:
    """The comparison is not blind: each kind of change shows."""
    changes: list[Callable[[MatchingEngine], None]] = [
        lambda e: e._used_ids.add(999),
        lambda e: setattr(e, "_trade_id", e._trade_id + 1),
        lambda e: setattr(e, "last_seq", e.last_seq + 1),
        lambda e: setattr(e._orders[1], "qty", 4),
        lambda e: setattr(e._books["AAA"].bids.levels[99], "qty", 1),
        lambda e: e._books["AAA"].bids.keys.pop(),
        lambda e: e._books.__setitem__("CCC", OrderBook("CCC")),
        lambda e: e._orders.__setitem__(1, e._orders.pop(1)),  # entry order
        lambda e: e._books["AAA"].bids.levels.__setitem__(99, Level()),
    ]
    for change in changes:
        eng = populated()
        before = state(eng)
        change(eng)
        assert state(eng) != before, change


def test_state_sees_a_level_rebuilt_equal() -> None:
    eng = populated()
    before = state(eng)
    side = eng._books["AAA"].bids
    old = side.levels[98]
    rebuilt = side.levels[98] = Level()
    rebuilt.update(old)
    rebuilt.qty = old.qty
    assert state(eng).values == before.values
    assert state(eng) != before


# -- logging containers (pure core) ------------------------------------------------


DICT_CHANGES = ("__setitem__", "__delitem__", "pop", "popitem", "clear", "update", "setdefault")
LIST_CHANGES = (
    "__setitem__", "__delitem__", "__iadd__", "append", "insert", "extend", "pop", "remove",
    "clear", "sort", "reverse",
)  # fmt: skip
SET_CHANGES = ("add", "discard", "remove", "pop", "clear", "update", "__ior__", "__isub__")


def instrument(eng: MatchingEngine) -> list[tuple[Any, ...]]:
    """Swap every container of ``eng``'s state for one that logs each change to it.

    Returns the log: ``(what, method or attribute, arguments...)``. Levels and
    orders the engine makes later are plain, but putting them into the book
    goes through a logging container, so that is logged.
    """
    log: list[tuple[Any, ...]] = []

    def logging_methods(base: type, what: str, names: tuple[str, ...]) -> dict[str, Any]:
        def wrap(name: str) -> Callable[..., Any]:
            original = getattr(base, name)

            def call(self: Any, *args: Any) -> Any:
                log.append((what, name, *args))
                return original(self, *args)

            return call

        return {name: wrap(name) for name in names}

    def logging(base: type, what: str, names: tuple[str, ...]) -> Any:
        return type(f"Logging{base.__name__}", (base,), logging_methods(base, what, names))

    class LoggingLevel(Level):
        __slots__ = ()

        def __setattr__(self, attr: str, value: Any) -> None:
            log.append(("level", attr, value))
            super().__setattr__(attr, value)

    for name, method in logging_methods(Level, "level", DICT_CHANGES).items():
        setattr(LoggingLevel, name, method)

    class LoggingOrder(RestingOrder):
        def __setattr__(self, attr: str, value: Any) -> None:
            log.append(("order", attr, value))
            super().__setattr__(attr, value)

    class LoggingEngine(MatchingEngine):
        __slots__ = ()

        def __setattr__(self, attr: str, value: Any) -> None:
            log.append(("engine", attr, value))
            super().__setattr__(attr, value)

    orders = {
        oid: LoggingOrder(o.qty, o.price, o.account, o.origin, o.hidden, o.trigger, o.new_seq)
        for oid, o in eng._orders.items()
    }
    for book in eng._books.values():
        held = logging(HeldStops, "stops", DICT_CHANGES)()
        for k in book.stops:  # filled as HeldStops fills itself, before anything is logged
            HeldStops.__setitem__(held, k, orders[k])
        book.stops = held
        book.waiting = logging(dict, "waiting", DICT_CHANGES)({k: orders[k] for k in book.waiting})
        book.day_orders = logging(dict, "day", DICT_CHANGES)(
            {k: orders[k] for k in book.day_orders}
        )
        for side in (book.bids, book.asks):
            for level in side.levels.values():
                for oid in level:
                    level[oid] = orders[oid]
                level.__class__ = LoggingLevel
            side.keys = logging(list, "keys", LIST_CHANGES)(side.keys)
            side.levels = logging(dict, "levels", DICT_CHANGES)(side.levels)
    eng._orders = logging(dict, "orders", DICT_CHANGES)(orders)
    eng._books = logging(dict, "books", DICT_CHANGES)(eng._books)
    eng._used_ids = logging(set, "used", SET_CHANGES)(eng._used_ids)
    eng._expiries = logging(list, "expiries", LIST_CHANGES)(eng._expiries)
    eng.__class__ = LoggingEngine
    return log


def allowed_log(
    cmd: Command, reason: RejectReason, seq: int, now: int = 0
) -> list[tuple[Any, ...]]:
    """The changes a rejected command may make, in order (module doc): time moves to
    its ``ts_ns`` if that is above ``now``, the engine's time before it (V-TIME-1)."""
    used = isinstance(cmd, NewOrder) and reason not in ID_KEPT
    moved = [("engine", "_now", cmd.ts_ns)] if cmd.ts_ns > now else []
    return [*moved, *([("used", "add", cmd.order_id)] if used else []), ("engine", "last_seq", seq)]


@pure_only
def test_the_log_shows_what_an_accepted_command_changes() -> None:
    """Not blind: a NEW that trades and rests, and a cancel, log their changes."""
    eng = populated()
    log = instrument(eng)
    eng.process(new(100, "dave", "AAA", BUY, 101, 5))  # takes 4 at 101, rests 1
    assert ("used", "add", 100) in log
    assert ("levels", "__delitem__", -101) in log
    assert ("orders", "__delitem__", 5) in log
    assert ("engine", "_trade_id", 4) in log
    assert any(entry[:2] == ("orders", "__setitem__") and entry[2] == 100 for entry in log)
    assert any(entry[:2] == ("keys", "append") for entry in log)
    del log[:]
    eng.process(Cancel(3, "carol"))
    assert ("orders", "__delitem__", 3) in log
    assert ("levels", "__delitem__", 98) in log  # its level emptied: dropped


# -- every reject reason, each against the populated book ---------------------------


@dataclass(frozen=True)
class Case:
    cmd: Command
    reason: RejectReason
    why: str

    def __str__(self) -> str:
        return f"{self.reason.name}: {self.why}"


# Many aim at a price that crosses, with an STP mode that would cancel resting
# orders, so that a check made too late would show as a trade or a cancel.
CM, CB, DEC = StpMode.CANCEL_MAKER, StpMode.CANCEL_BOTH, StpMode.DECREMENT
CASES = [
    Case(new(0, "bob", "AAA", BUY, 101, 5, stp=CM), R.INVALID_ORDER_ID, "id 0, crossing"),
    Case(new(-7, "carol", "AAA", SELL, 99, 9, stp=CB), R.INVALID_ORDER_ID, "negative id"),
    Case(new(1, "bob", "AAA", BUY, 103, 5, stp=DEC), R.DUPLICATE_ORDER_ID, "a resting id"),
    Case(new(12, "alice", "AAA", SELL, 97, 5), R.DUPLICATE_ORDER_ID, "a cancelled id"),
    Case(new(13, "bob", "AAA", BUY, 103, 1), R.DUPLICATE_ORDER_ID, "a filled id"),
    Case(new(14, "alice", "AAA", BUY, 101, 1), R.DUPLICATE_ORDER_ID, "a rejected id"),
    Case(market(15, "bob", BUY, 1), R.DUPLICATE_ORDER_ID, "a killed id"),
    Case(new(100, "bob", "", BUY, 101, 5, stp=CM), R.INVALID_SYMBOL, "empty symbol"),
    Case(new(101, "bob", "AAA", BUY, 101, 0, stp=CM), R.INVALID_QUANTITY, "qty 0, crossing"),
    Case(market(102, "carol", SELL, -3, stp=DEC), R.INVALID_QUANTITY, "market, qty < 0"),
    Case(new(103, "alice", "NEW", BUY, 10, 0), R.INVALID_QUANTITY, "on a symbol with no book"),
    Case(new(104, "bob", "AAA", BUY, None, 5), R.INVALID_PRICE, "limit without a price"),
    Case(new(105, "bob", "AAA", SELL, 0, 5), R.INVALID_PRICE, "price 0"),
    Case(new(106, "bob", "AAA", SELL, -99, 5, tif=IOC), R.INVALID_PRICE, "price < 0, IOC"),
    Case(
        new(107, "carol", "AAA", SELL, 99, 5, order_type=MARKET),
        R.MARKET_WITH_PRICE,
        "market with a price",
    ),
    Case(market(108, "alice", BUY, 5, tif=GTC), R.MARKET_NOT_IOC, "market GTC"),
    Case(market(109, "alice", BUY, 50, tif=FOK, stp=CB), R.MARKET_NOT_IOC, "market FOK"),
    Case(
        new(110, "bob", "AAA", BUY, 101, 5, tif=IOC, post_only=True),
        R.POST_ONLY_NOT_GTC_LIMIT,
        "post-only IOC, crossing",
    ),
    Case(
        new(111, "bob", "AAA", SELL, 99, 5, tif=FOK, post_only=True, stp=CM),
        R.POST_ONLY_NOT_GTC_LIMIT,
        "post-only FOK",
    ),
    Case(market(112, "carol", BUY, 5, post_only=True), R.POST_ONLY_NOT_GTC_LIMIT, "market"),
    Case(Cancel(999, "alice"), R.UNKNOWN_ORDER, "cancel, never used"),
    Case(Cancel(0, "alice"), R.UNKNOWN_ORDER, "cancel id 0"),
    Case(Cancel(12, "alice"), R.ORDER_NOT_RESTING, "cancel a cancelled order"),
    Case(Cancel(13, "bob"), R.ORDER_NOT_RESTING, "cancel a filled order"),
    Case(Cancel(14, "alice"), R.ORDER_NOT_RESTING, "cancel a rejected order"),
    Case(Cancel(15, "bob"), R.ORDER_NOT_RESTING, "cancel a killed order"),
    Case(Cancel(1, "bob"), R.NOT_YOUR_ORDER, "cancel another's order"),
    Case(Replace(999, "bob", 101, 5), R.UNKNOWN_ORDER, "replace, never used"),
    Case(Replace(9, "carol", 51, 1), R.ORDER_NOT_RESTING, "replace a filled order"),
    Case(Replace(5, "alice", 99, 1), R.NOT_YOUR_ORDER, "replace another's, crossing"),
    Case(Replace(5, "bob", 0, 2), R.INVALID_PRICE, "replace to price 0"),
    Case(Replace(3, "carol", -1, 4), R.INVALID_PRICE, "replace to price < 0"),
    Case(Replace(5, "bob", 101, 0), R.INVALID_QUANTITY, "replace to qty 0, same price"),
    Case(Replace(5, "bob", 99, -1), R.INVALID_QUANTITY, "replace to qty < 0, crossing"),
    Case(Replace(7, "alice", 99, 6), R.POST_ONLY_WOULD_CROSS, "post-only ask to the bid"),
    Case(Replace(4, "alice", 101, 9), R.POST_ONLY_WOULD_CROSS, "post-only bid through"),
    Case(Replace(5, "bob", None, 2), R.INVALID_PRICE, "replace a limit to price None"),
    # The venue's (VENUE_RULES.md; the populated AAA last traded at 101).
    Case(
        new(120, "bob", "AAA", BUY, None, 5, order_type=OrderType.STOP),
        R.INVALID_TRIGGER_PRICE,
        "a stop without a trigger",
    ),
    Case(new(121, "bob", "AAA", BUY, 101, 5, trigger=99), R.INVALID_TRIGGER_PRICE, "a limit's"),
    Case(
        new(122, "bob", "AAA", BUY, None, 5, order_type=OrderType.STOP, tif=IOC, trigger=110),
        R.STOP_NOT_HELD_TIF,
        "a STOP IOC",
    ),
    Case(
        new(123, "bob", "AAA", BUY, None, 5, order_type=OrderType.STOP, trigger=101),
        R.STOP_WOULD_TRIGGER,
        "a buy stop at the last price",
    ),
    Case(
        new(124, "bob", "AAA", SELL, 90, 5, order_type=OrderType.STOP_LIMIT, trigger=102),
        R.STOP_WOULD_TRIGGER,
        "a sell stop-limit above the last price",
    ),
    Case(new(125, "bob", "AAA", BUY, 101, 5, display=0), R.BAD_DISPLAY_QTY, "display 0"),
    Case(new(126, "bob", "AAA", BUY, 101, 5, display=6), R.BAD_DISPLAY_QTY, "display > qty"),
    Case(new(127, "bob", "AAA", BUY, 101, 5, tif=IOC, display=1), R.BAD_DISPLAY_QTY, "on an IOC"),
    Case(new(128, "bob", "AAA", BUY, 101, 5, tif=GTD), R.INVALID_EXPIRE_TS, "GTD, no expiry"),
    Case(new(129, "bob", "AAA", BUY, 101, 5, expire=5_000), R.INVALID_EXPIRE_TS, "on a GTC"),
    Case(
        new(130, "bob", "AAA", BUY, 101, 5, tif=GTD, expire=1_000),
        R.EXPIRE_TS_PASSED,
        "GTD at the time",
    ),
    Case(new(131, "bob", "CCC", BUY, 10, 5, tif=IOC), R.NOT_IN_CALL_PHASE, "IOC in PRE_OPEN"),
    Case(new(132, "bob", "DDD", BUY, 30, 5), R.MARKET_CLOSED, "a NEW in CLOSED"),
    Case(Replace(20, "bob", 31, 1), R.MARKET_CLOSED, "a replace in CLOSED"),
    Case(Replace(19, "dave", 10, 1), R.MARKET_NOT_REPLACEABLE, "a waiting market order"),
    Case(Replace(17, "alice", 5, 1), R.MARKET_WITH_PRICE, "a STOP given a price"),
    Case(SetPhase("AAA", "OPEN"), R.UNKNOWN_PHASE, "no TradingPhase"),  # type: ignore[arg-type]
]


def reasons_the_engine_can_emit() -> set[RejectReason]:
    """Every RejectReason that engine/book/matching.py names (``R.X`` or ``RejectReason.X``)."""
    source = Path(matching_module.__file__ or "").read_text()
    tree = ast.parse(source)
    aliases = {"RejectReason"} | {
        target.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign)
        and isinstance(node.value, ast.Name)
        and node.value.id == "RejectReason"
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    return {
        RejectReason[node.attr]
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id in aliases
    }


def test_every_reason_the_engine_can_emit_has_a_case() -> None:
    """A reason added to the engine fails here until CASES covers it."""
    emitted = reasons_the_engine_can_emit()
    assert len(emitted) >= 12  # the scan finds the engine's reasons at all
    assert {case.reason for case in CASES} == emitted


def rejected(cmd: Command, reason: RejectReason, seq: int) -> Rejected:
    if isinstance(cmd, SetPhase):
        return Rejected(seq, CommandKind.SET_PHASE, 0, "", reason)
    assert isinstance(cmd, NewOrder | Cancel | Replace)
    kind = {NewOrder: CommandKind.NEW, Cancel: CommandKind.CANCEL, Replace: CommandKind.REPLACE}
    return Rejected(seq, kind[type(cmd)], cmd.order_id, cmd.account, reason, cmd.client_order_id)


def process_one(eng: MatchingEngine, cmd: Command, entry: str) -> list[Event]:
    return eng.process(cmd) if entry == "process" else eng.process_batch([cmd])


@pytest.mark.parametrize("entry", ["process", "process_batch"])
@pytest.mark.parametrize("case", CASES, ids=str)
def test_a_rejected_command_changes_nothing_but_what_is_documented(case: Case, entry: str) -> None:
    eng = populated()
    before = state(eng)
    seq = eng.last_seq + 1
    events = process_one(eng, case.cmd, entry)
    assert events == [rejected(case.cmd, case.reason, seq)]
    assert state(eng) == allowed_after_reject(before, case.cmd, case.reason, seq)


@pure_only
@pytest.mark.parametrize("case", CASES, ids=str)
def test_each_check_runs_before_the_first_change(case: Case) -> None:
    """No container of the book is touched, not even to be put back."""
    eng = populated()
    log = instrument(eng)
    seq = eng.last_seq + 1
    [event] = eng.process(case.cmd)
    assert isinstance(event, Rejected) and event.reason is case.reason
    assert log == allowed_log(case.cmd, case.reason, seq)


# -- commands that raise ----------------------------------------------------------

# Fields of the wrong class, on purpose. The engine trusts fields to be of their
# declared classes (engine/book/matching.py's module doc says why), but what it would
# misread raises TypeError, in either core, before any change: no event, no id
# used up, no seq taken.
GARBAGE_STP = new(200, "bob", "AAA", BUY, 95, 1, stp="CANCEL_MAKER")
RAISES = [
    (new(300, "bob", "AAA", "BUY", 101, 5), "a side that is no Side"),
    (new(300, "bob", "NEW", None, 10, 5), "no side, on a symbol with no book"),
    (new(300, "bob", "AAA", BUY, 90, 5, tif="GTC"), "a tif that is no TimeInForce"),
    (market(300, "bob", SELL, 5, tif="IOC"), "a market order's tif"),
    (new(300, "bob", "AAA", SELL, 90, 5, order_type="LIMIT"), "an order type"),
    (new(300, "bob", "AAA", BUY, 101, 5, stp="CANCEL_MAKER"), "stp, crossing"),
    (new(300, "bob", "AAA", BUY, 101, None), "qty None"),
    (new(300, "bob", "AAA", BUY, "101", 5), "price a str"),
    (new(None, "bob", "AAA", BUY, 101, 5), "order id None"),
    (new(300, "bob", ["AAA"], BUY, 101, 5), "an unhashable symbol"),
    (Cancel([1], "alice"), "an unhashable order id"),
    (Replace(5, "bob", 101, "2"), "replace to qty a str"),
    # Rested without crossing (so its STP mode was never read), then crossing:
    (Replace(200, "bob", 101, 1), "replace of an order whose stp is no StpMode"),
]


def with_garbage_stp_resting() -> MatchingEngine:
    eng = populated()
    [accepted] = eng.process(GARBAGE_STP)
    assert isinstance(accepted, Accepted)
    return eng


@pytest.mark.parametrize(("cmd", "why"), RAISES, ids=[why for _, why in RAISES])
def test_a_command_that_raises_changes_nothing_at_all(cmd: Command, why: str) -> None:
    eng = with_garbage_stp_resting()
    before = state(eng)
    with pytest.raises(TypeError):
        eng.process(cmd)
    assert state(eng) == before
    with pytest.raises(TypeError):
        eng.process_batch([cmd])
    assert state(eng) == before


@pure_only
@pytest.mark.parametrize(("cmd", "why"), RAISES, ids=[why for _, why in RAISES])
def test_a_command_that_raises_touches_nothing(cmd: Command, why: str) -> None:
    eng = with_garbage_stp_resting()
    log = instrument(eng)
    with pytest.raises(TypeError):
        eng.process(cmd)
    assert log == []


NAN = math.nan
REFUSED_NAN = [
    (new(300, "bob", "AAA", BUY, 101, NAN), R.INVALID_QUANTITY),
    (new(300, "bob", "AAA", SELL, NAN, 5), R.INVALID_PRICE),
    (new(NAN, "bob", "AAA", BUY, 101, 5), R.INVALID_ORDER_ID),
    (Replace(5, "bob", NAN, 2), R.INVALID_PRICE),
    (Replace(5, "bob", 99, NAN), R.INVALID_QUANTITY),
]


@pytest.mark.parametrize(("cmd", "reason"), REFUSED_NAN, ids=lambda x: repr(x)[:40])
def test_nan_is_refused_and_changes_nothing(cmd: Command, reason: RejectReason) -> None:
    """NaN compares false with everything: "<= 0" would let it through, "not > 0" does not.

    The pure core rejects it with the reason; the compiled one raises TypeError
    on reading a float where an int is declared. Either way, before any change.
    """
    eng = populated()
    before = state(eng)
    seq = eng.last_seq + 1
    try:
        events = eng.process(cmd)
    except TypeError:
        assert build_info.compiled_matching_engine()
        assert state(eng) == before
        return
    [event] = events
    assert isinstance(event, Rejected) and event.reason is reason
    assert state(eng) == allowed_after_reject(before, cmd, reason, seq)


@pytest.mark.parametrize("seq", [NAN, 0, len(SETUP)], ids=["nan", "zero", "the last"])
def test_a_seq_not_after_the_last_is_refused(seq: float) -> None:
    eng = populated()
    before = state(eng)
    with pytest.raises((ValueError, TypeError)):  # TypeError: compiled, a float seq
        eng.process(new(300, "bob", "AAA", BUY, 101, 5), seq)
    with pytest.raises((ValueError, TypeError)):
        eng.process_under(seq, [MassCancel("alice")])
    assert state(eng) == before


# -- batches: what came before a command that raises stays applied ---------------------

VALID = [
    new(300, "dave", "AAA", BUY, 101, 3),
    Cancel(1, "alice"),
    new(301, "dave", "BBB", SELL, 49, 1),
]
BAD_SIDE = new(302, "dave", "AAA", "BUY", 90, 1)
BAD_STP = new(302, "dave", "AAA", BUY, 101, 1, stp="DECREMENT")


@pytest.mark.parametrize("bad", [BAD_SIDE, BAD_STP], ids=["side", "stp, crossing"])
@pytest.mark.parametrize("at", [0, 1, 3])
def test_a_batch_keeps_what_it_applied_before_a_command_raises(bad: Command, at: int) -> None:
    eng = populated()
    expected = populated()
    expected.process_batch(VALID[:at])
    with pytest.raises(TypeError):
        eng.process_batch([*VALID[:at], bad, *VALID[at:]])
    assert state(eng).values == state(expected).values
    assert eng.last_seq == len(SETUP) + at
    # And the next command gets the next seq: none is used twice.
    assert eng.process(Cancel(999, "x"))[0].seq == len(SETUP) + at + 1


def test_a_batch_whose_iterator_raises_keeps_what_it_applied() -> None:
    def commands() -> Iterator[Command]:
        yield from VALID
        raise RuntimeError("the source broke")

    eng = populated()
    expected = populated()
    expected.process_batch(VALID)
    with pytest.raises(RuntimeError):
        eng.process_batch(commands())
    assert state(eng).values == state(expected).values


@pytest.mark.parametrize("at", [0, 2])
def test_process_under_uses_its_seq_if_anything_before_the_raise_applied(at: int) -> None:
    eng = populated()
    seq = len(SETUP) + 5
    cancels = [MassCancel("alice", "BBB"), MassCancel("carol")]
    with pytest.raises(TypeError):
        eng.process_under(seq, [*cancels[:at], BAD_STP])
    expected = populated()
    if at:
        expected.process_under(seq, cancels)
    assert state(eng).values == state(expected).values


# -- a market order reaches any price ------------------------------------------------


@pytest.mark.parametrize("price", [(1 << 62) + 1, 2**63 - 1, 2**80])
@pytest.mark.parametrize("side", [BUY, SELL])
def test_a_market_order_trades_at_any_price(side: Side, price: int) -> None:
    """The gateway lets prices up to 2**63 - 1 through; a fixed floor key of
    -(2**62) for "any price" left a market buy blind to asks above 2**62."""
    eng = MatchingEngine()
    maker_side = SELL if side is BUY else BUY
    eng.process(new(1, "bob", "AAA", maker_side, price, 5))
    events = eng.process(market(2, "alice", side, 2))
    assert [type(e) for e in events] == [Accepted, Trade]
    assert events[1].price == price
    left = BBO(None, 0, price, 3) if side is BUY else BBO(price, 3, None, 0)
    assert eng.bbo("AAA") == left


# -- properties ---------------------------------------------------------------------


def single_reject(events: list[Event]) -> RejectReason | None:
    if len(events) == 1 and isinstance(events[0], Rejected):
        return events[0].reason
    return None


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(command_streams())
def test_in_any_stream_a_rejected_command_changes_only_what_is_documented(
    stream: list[Command],
) -> None:
    record = not build_info.compiled_matching_engine()
    eng = MatchingEngine()
    for cmd in stream:
        log = instrument(eng) if record else []
        before = state(eng)
        seq = eng.last_seq + 1
        now = eng.now
        reason = single_reject(eng.process(cmd))
        if reason is not None:
            assert state(eng) == allowed_after_reject(before, cmd, reason, seq), cmd
            if record:
                assert log == allowed_log(cmd, reason, seq, now), cmd


# Well-formed commands against the populated book, one per path through the
# engine; the property below breaks one to three of their fields.
BASES: list[Command] = [
    new(400, "dave", "AAA", BUY, 100, 3),  # rests
    new(401, "dave", "NEW", SELL, 10, 3),  # rests, the symbol's first order
    new(402, "dave", "AAA", BUY, 102, 9),  # takes all of 101 and some of 102
    *[new(403, "bob", "AAA", BUY, 103, 6, stp=mode) for mode in StpMode],  # meets itself
    new(404, "carol", "AAA", SELL, 98, 8, tif=IOC, stp=StpMode.DECREMENT),
    new(405, "dave", "AAA", BUY, 102, 4, tif=FOK),  # fills
    new(406, "alice", "AAA", BUY, 103, 9, tif=FOK, stp=StpMode.CANCEL_TAKER),  # killed
    new(407, "dave", "AAA", SELL, 99, 1, post_only=True),  # would cross
    market(408, "dave", BUY, 3),
    market(409, "bob", SELL, 20, stp=StpMode.CANCEL_BOTH),
    Cancel(3, "carol"),
    Replace(1, "alice", 99, 2),  # keeps its place
    Replace(3, "carol", 101, 9, client_order_id=7),  # crosses
    Replace(8, "bob", 104, 1),  # loses its place
    MassCancel("alice"),
    MassCancel("bob", "AAA", CancelReason.KILL_SWITCH),
]
BAD_VALUES: list[Any] = [
    None, "", "AAA", "BUY", "GTC", "NONE", 0, -1, 1.5, 101.0, NAN, math.inf, -math.inf,
    True, False, 2**64, -(2**64), 2**200, [1], {}, (), b"AAA", object(),
    Side.SELL, OrderType.MARKET, TimeInForce.FOK, StpMode.CANCEL_BOTH, CancelReason.USER,
]  # fmt: skip


@settings(max_examples=500, deadline=None)
@given(
    st.sampled_from(BASES),
    st.lists(st.tuples(st.integers(0, 11), st.sampled_from(BAD_VALUES)), min_size=1, max_size=3),
)
def test_a_malformed_command_changes_nothing_if_it_raises(
    base: Command, swaps: list[tuple[int, Any]]
) -> None:
    """Fields of the wrong class or absurd values, put in past msgspec's checks.

    Whatever the engine does not raise for is read as the values it holds (the
    engine trusts classes: see its module doc); if it raises, nothing changed,
    and if it rejects, only what a reject may change.
    """
    names = base.__struct_fields__
    cmd = msgspec.structs.replace(base, **{names[i % len(names)]: bad for i, bad in swaps})
    eng = with_garbage_stp_resting()
    log = instrument(eng) if not build_info.compiled_matching_engine() else []
    before = state(eng)
    seq = eng.last_seq + 1
    now = eng.now
    try:
        events = eng.process(cmd)
    except Exception:
        assert state(eng) == before
        # Time may move and be put back (nothing was due to expire): V-TIME-1.
        assert log in ([], [("engine", "_now", cmd.ts_ns), ("engine", "_now", now)])
        with pytest.raises(Exception):  # noqa: B017 - whatever it raised, again
            eng.process_batch([cmd])
        assert state(eng) == before
        return
    reason = single_reject(events)
    if reason is not None:
        assert state(eng) == allowed_after_reject(before, cmd, reason, seq)
        if not build_info.compiled_matching_engine():
            assert log == allowed_log(cmd, reason, seq, now)
