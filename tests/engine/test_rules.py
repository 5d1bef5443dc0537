"""One test per rule of MATCHING_RULES.md, named for the rule it pins.

Every test runs against both the engine and the reference model (one
conformance suite for every implementation of the contract), and asserts the
exact events of docs/EVENTS.md, not just their gist.
"""

from __future__ import annotations

from typing import Any

import pytest

from ringmatch.engine.book.matching import MatchingEngine
from ringmatch.engine.schema.commands import Cancel, Command, NewOrder, Replace
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
    Reduced,
    Rejected,
    Replaced,
    Trade,
)
from tests.engine.reference_book import ReferenceBook

BUY, SELL = Side.BUY, Side.SELL
LIMIT, MARKET = OrderType.LIMIT, OrderType.MARKET
GTC, IOC, FOK = TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK
R = RejectReason
C = CancelReason
SYM = "XYZ"


@pytest.fixture(params=["engine", "reference"])
def book(request: pytest.FixtureRequest) -> Any:
    if request.param == "reference":
        return ReferenceBook()
    return MatchingEngine()


# ------------------------------------------------------------------ helpers
def new(
    order_id: int,
    account: str,
    side: Side,
    price: int | None,
    qty: int,
    *,
    order_type: OrderType = LIMIT,
    tif: TimeInForce | None = None,
    post_only: bool = False,
    stp: StpMode = StpMode.NONE,
    symbol: str = SYM,
    ts_ns: int = 0,
) -> NewOrder:
    return NewOrder(
        order_id, account, symbol, side, order_type, price, qty, tif, post_only, stp, ts_ns
    )


def market(order_id: int, account: str, side: Side, qty: int, **kw: Any) -> NewOrder:
    return new(order_id, account, side, None, qty, order_type=MARKET, **kw)


def run(book: Any, *cmds: Command) -> list[Any]:
    """Process commands; return the events of the last one."""
    events: list[Event] = []
    for cmd in cmds:
        events = book.process(cmd)
    return events


def accepted(cmd: NewOrder, seq: int, tif: TimeInForce | None = None) -> Accepted:
    resolved = tif or cmd.tif or (IOC if cmd.order_type is MARKET else GTC)
    return Accepted(
        seq,
        cmd.order_id,
        cmd.account,
        cmd.symbol,
        cmd.side,
        cmd.order_type,
        resolved,
        cmd.price,
        cmd.qty,
    )


def trade(
    seq: int,
    trade_id: int,
    maker: NewOrder,
    taker: NewOrder,
    price: int,
    qty: int,
    ml: int,
    tl: int,
) -> Trade:
    return Trade(
        seq,
        trade_id,
        taker.symbol,
        price,
        qty,
        maker.order_id,
        taker.order_id,
        maker.account,
        taker.account,
        taker.side,
        ml,
        tl,
    )


def cancelled(
    seq: int, o: NewOrder, qty: int, reason: CancelReason, price: int | None = None
) -> Cancelled:
    return Cancelled(seq, o.order_id, o.account, o.symbol, o.side, price or o.price, qty, reason)


def reduced(seq: int, o: NewOrder, qty: int, leaves: int) -> Reduced:
    return Reduced(seq, o.order_id, o.account, o.symbol, o.side, o.price, qty, leaves, C.STP)


def rejected(
    seq: int, kind: CommandKind, cmd: NewOrder | Cancel | Replace, reason: RejectReason
) -> Rejected:
    return Rejected(seq, kind, cmd.order_id, cmd.account, reason)


def l3(book: Any, symbol: str = SYM) -> list[tuple[Side, int, int, str, int]]:
    """(side, price, order_id, account, qty) of each resting order, in book order."""
    return [(o.side, o.price, o.order_id, o.account, o.qty) for o in book.l3(symbol)]


# ----------------------------------------------------------------- priority
def test_price_priority_best_price_first(book: Any) -> None:
    s1, s2, s3 = new(1, "a", SELL, 101, 1), new(2, "a", SELL, 100, 1), new(3, "a", SELL, 102, 1)
    b = new(4, "b", BUY, 102, 3)
    events = run(book, s1, s2, s3, b)
    assert events == [
        accepted(b, 4),
        trade(4, 1, s2, b, 100, 1, 0, 2),
        trade(4, 2, s1, b, 101, 1, 0, 1),
        trade(4, 3, s3, b, 102, 1, 0, 0),
    ]
    assert l3(book) == []


def test_price_priority_sells_take_highest_bid_first(book: Any) -> None:
    b1, b2 = new(1, "a", BUY, 99, 2), new(2, "a", BUY, 100, 2)
    s = new(3, "b", SELL, 99, 3)
    events = run(book, b1, b2, s)
    assert events == [
        accepted(s, 3),
        trade(3, 1, b2, s, 100, 2, 0, 1),
        trade(3, 2, b1, s, 99, 1, 1, 0),
    ]
    assert l3(book) == [(BUY, 99, 1, "a", 1)]


def test_time_priority_oldest_first_within_a_price(book: Any) -> None:
    s1, s2, s3 = new(1, "a", SELL, 100, 2), new(2, "b", SELL, 100, 2), new(3, "c", SELL, 100, 2)
    b = new(4, "d", BUY, 100, 3)
    assert run(book, s1, s2, s3, b) == [
        accepted(b, 4),
        trade(4, 1, s1, b, 100, 2, 0, 1),
        trade(4, 2, s2, b, 100, 1, 1, 0),
    ]
    assert l3(book) == [(SELL, 100, 2, "b", 1), (SELL, 100, 3, "c", 2)]


def test_time_priority_is_sequence_order_and_ts_ns_never_affects_matching(book: Any) -> None:
    # The later input carries the earlier timestamp: sequence order still wins.
    s1 = new(1, "a", SELL, 100, 1, ts_ns=9_000)
    s2 = new(2, "b", SELL, 100, 1, ts_ns=1_000)
    b = new(3, "c", BUY, 100, 1, ts_ns=0)
    assert run(book, s1, s2, b)[1] == trade(3, 1, s1, b, 100, 1, 0, 0)


def test_ts_ns_never_affects_events_or_book(book: Any) -> None:
    def stream(ts: int) -> list[Command]:
        return [
            new(1, "a", SELL, 100, 3, ts_ns=ts * 7),
            new(2, "b", SELL, 99, 3, ts_ns=ts * 3),
            Replace(1, "a", 99, 3, ts_ns=ts),
            new(3, "c", BUY, 100, 4, ts_ns=ts * 5),
            Cancel(2, "b", ts_ns=ts * 2),
        ]

    first = [book.process(c) for c in stream(0)]
    first_book = l3(book)
    other = type(book)()
    assert [other.process(c) for c in stream(123_456_789)] == first
    assert l3(other) == first_book


def test_trade_prints_at_maker_price(book: Any) -> None:
    s = new(1, "a", SELL, 100, 1)
    b = new(2, "b", BUY, 105, 1)
    assert run(book, s, b)[1] == trade(2, 1, s, b, 100, 1, 0, 0)
    b2 = new(3, "a", BUY, 97, 1)
    s2 = new(4, "b", SELL, 90, 1)
    assert run(book, b2, s2)[1] == trade(4, 2, b2, s2, 97, 1, 0, 0)


def test_limit_trades_only_at_or_better_than_its_price(book: Any) -> None:
    s = new(1, "a", SELL, 101, 1)
    b = new(2, "b", BUY, 100, 1)
    assert run(book, s, b) == [accepted(b, 2)]
    assert l3(book) == [(BUY, 100, 2, "b", 1), (SELL, 101, 1, "a", 1)]


def test_trade_ids_are_engine_wide_across_symbols(book: Any) -> None:
    s1, s2 = new(1, "a", SELL, 100, 1, symbol="AAA"), new(2, "a", SELL, 100, 1, symbol="BBB")
    b1, b2 = new(3, "b", BUY, 100, 1, symbol="BBB"), new(4, "b", BUY, 100, 1, symbol="AAA")
    assert run(book, s1, s2, b1)[1].trade_id == 1
    assert book.process(b2)[1].trade_id == 2


def test_every_event_carries_the_seq_of_its_command(book: Any) -> None:
    run(book, new(1, "a", SELL, 100, 1), new(2, "a", SELL, 100, 1))
    events = book.process(new(3, "b", BUY, 100, 5, tif=IOC))
    assert len(events) == 4
    assert {e.seq for e in events} == {3}


# ------------------------------------------------------ order types and TIF
def test_gtc_is_the_default_and_remainder_rests(book: Any) -> None:
    s = new(1, "a", SELL, 100, 2)
    b = new(2, "b", BUY, 100, 5)
    assert run(book, s, b) == [accepted(b, 2, GTC), trade(2, 1, s, b, 100, 2, 0, 3)]
    assert l3(book) == [(BUY, 100, 2, "b", 3)]


def test_explicit_gtc_rests(book: Any) -> None:
    b = new(1, "b", BUY, 100, 5, tif=GTC)
    assert run(book, b) == [accepted(b, 1)]
    assert l3(book) == [(BUY, 100, 1, "b", 5)]


def test_ioc_remainder_is_cancelled(book: Any) -> None:
    s = new(1, "a", SELL, 100, 2)
    b = new(2, "b", BUY, 100, 5, tif=IOC)
    assert run(book, s, b) == [
        accepted(b, 2),
        trade(2, 1, s, b, 100, 2, 0, 3),
        cancelled(2, b, 3, C.IOC_REMAINDER),
    ]
    assert l3(book) == []


def test_ioc_that_fills_whole_has_no_remainder_event(book: Any) -> None:
    s = new(1, "a", SELL, 100, 5)
    b = new(2, "b", BUY, 100, 5, tif=IOC)
    assert run(book, s, b) == [accepted(b, 2), trade(2, 1, s, b, 100, 5, 0, 0)]


def test_market_trades_at_any_price_and_never_rests(book: Any) -> None:
    s1, s2 = new(1, "a", SELL, 100, 1), new(2, "a", SELL, 5000, 1)
    m = market(3, "b", BUY, 5)
    assert run(book, s1, s2, m) == [
        accepted(m, 3, IOC),
        trade(3, 1, s1, m, 100, 1, 0, 4),
        trade(3, 2, s2, m, 5000, 1, 0, 3),
        cancelled(3, m, 3, C.MARKET_REMAINDER),
    ]
    assert l3(book) == []


def test_market_on_empty_book_is_cancelled_whole(book: Any) -> None:
    m = market(1, "b", SELL, 5, tif=IOC)
    assert run(book, m) == [accepted(m, 1), cancelled(1, m, 5, C.MARKET_REMAINDER)]
    assert book.l3(SYM) == []


def test_market_with_price_rejected(book: Any) -> None:
    m = new(1, "b", BUY, 100, 5, order_type=MARKET)
    assert run(book, m) == [rejected(1, CommandKind.NEW, m, R.MARKET_WITH_PRICE)]


@pytest.mark.parametrize("tif", [GTC, FOK])
def test_market_not_ioc_rejected(book: Any, tif: TimeInForce) -> None:
    m = market(1, "b", BUY, 5, tif=tif)
    assert run(book, m) == [rejected(1, CommandKind.NEW, m, R.MARKET_NOT_IOC)]


def test_market_post_only_rejected(book: Any) -> None:
    m = market(1, "b", BUY, 5, post_only=True)
    assert run(book, m) == [rejected(1, CommandKind.NEW, m, R.POST_ONLY_NOT_GTC_LIMIT)]


# ----------------------------------------------------------- invalid fields
@pytest.mark.parametrize("qty", [0, -1])
def test_quantity_must_be_positive(book: Any, qty: int) -> None:
    cmd = new(1, "a", BUY, 100, qty)
    assert run(book, cmd) == [rejected(1, CommandKind.NEW, cmd, R.INVALID_QUANTITY)]


@pytest.mark.parametrize("price", [0, -1, None])
def test_limit_price_must_be_positive(book: Any, price: int | None) -> None:
    cmd = new(1, "a", BUY, price, 1)
    assert run(book, cmd) == [rejected(1, CommandKind.NEW, cmd, R.INVALID_PRICE)]
    assert book.l3(SYM) == []


def test_empty_symbol_rejected(book: Any) -> None:
    cmd = new(1, "a", BUY, 100, 1, symbol="")
    assert run(book, cmd) == [rejected(1, CommandKind.NEW, cmd, R.INVALID_SYMBOL)]


@pytest.mark.parametrize("order_id", [0, -1])
def test_order_id_must_be_positive_and_is_not_used_up(book: Any, order_id: int) -> None:
    cmd = new(order_id, "a", BUY, 100, 1)
    assert run(book, cmd) == [rejected(1, CommandKind.NEW, cmd, R.INVALID_ORDER_ID)]
    assert run(book, cmd) == [rejected(2, CommandKind.NEW, cmd, R.INVALID_ORDER_ID)]


def test_new_checks_come_in_the_documented_order(book: Any) -> None:
    bad = new(1, "a", BUY, 0, 0, symbol="")
    assert run(book, bad)[0].reason is R.INVALID_SYMBOL
    bad = new(2, "a", BUY, None, 0, order_type=MARKET, tif=GTC)
    assert run(book, bad)[0].reason is R.INVALID_QUANTITY
    bad = new(3, "a", BUY, 100, 1, order_type=MARKET, tif=GTC, post_only=True)
    assert run(book, bad)[0].reason is R.MARKET_WITH_PRICE
    bad = market(4, "a", BUY, 1, tif=FOK, post_only=True)
    assert run(book, bad)[0].reason is R.MARKET_NOT_IOC
    bad = new(5, "a", BUY, 0, 1, tif=IOC, post_only=True)
    assert run(book, bad)[0].reason is R.INVALID_PRICE
    bad = new(1, "a", BUY, 0, 0, symbol="")
    assert run(book, bad)[0].reason is R.DUPLICATE_ORDER_ID


# -------------------------------------------------------------- fill or kill
def test_fok_that_can_fill_runs_as_ioc(book: Any) -> None:
    s1, s2 = new(1, "a", SELL, 100, 2), new(2, "a", SELL, 101, 3)
    f = new(3, "b", BUY, 101, 4, tif=FOK)
    assert run(book, s1, s2, f) == [
        accepted(f, 3),
        trade(3, 1, s1, f, 100, 2, 0, 2),
        trade(3, 2, s2, f, 101, 2, 1, 0),
    ]
    assert l3(book) == [(SELL, 101, 2, "a", 1)]


def test_fok_killed_when_book_is_too_thin_changes_nothing(book: Any) -> None:
    s1, s2 = new(1, "a", SELL, 100, 2), new(2, "a", SELL, 102, 3)
    f = new(3, "b", BUY, 101, 4, tif=FOK)
    assert run(book, s1, s2, f) == [accepted(f, 3), cancelled(3, f, 4, C.KILLED_FOK)]
    assert l3(book) == [(SELL, 100, 1, "a", 2), (SELL, 102, 2, "a", 3)]
    # No trade id was spent by the dry run.
    b = new(4, "c", BUY, 100, 1)
    assert run(book, b)[1].trade_id == 1


def test_fok_stp_removed_quantity_does_not_count_as_filled(book: Any) -> None:
    other, own = new(1, "x", SELL, 100, 5), new(2, "b", SELL, 100, 5)
    f = new(3, "b", BUY, 100, 10, tif=FOK, stp=StpMode.DECREMENT)
    assert run(book, other, own, f) == [accepted(f, 3), cancelled(3, f, 10, C.KILLED_FOK)]
    assert l3(book) == [(SELL, 100, 1, "x", 5), (SELL, 100, 2, "b", 5)]


def test_killed_fok_changes_nothing_even_its_own_accounts_orders(book: Any) -> None:
    own, other = new(1, "b", SELL, 100, 5), new(2, "x", SELL, 100, 3)
    f = new(3, "b", BUY, 100, 5, tif=FOK, stp=StpMode.CANCEL_MAKER)
    assert run(book, own, other, f) == [accepted(f, 3), cancelled(3, f, 5, C.KILLED_FOK)]
    assert l3(book) == [(SELL, 100, 1, "b", 5), (SELL, 100, 2, "x", 3)]


def test_fok_killed_by_cancel_taker_stp(book: Any) -> None:
    other, own, more = (
        new(1, "x", SELL, 100, 2),
        new(2, "b", SELL, 100, 5),
        new(3, "x", SELL, 100, 9),
    )
    f = new(4, "b", BUY, 100, 4, tif=FOK, stp=StpMode.CANCEL_TAKER)
    assert run(book, other, own, more, f) == [accepted(f, 4), cancelled(4, f, 4, C.KILLED_FOK)]
    assert len(book.l3(SYM)) == 3


def test_fok_that_passes_runs_stp_for_real(book: Any) -> None:
    own, other = new(1, "b", SELL, 100, 5), new(2, "x", SELL, 101, 5)
    f = new(3, "b", BUY, 101, 5, tif=FOK, stp=StpMode.CANCEL_MAKER)
    assert run(book, own, other, f) == [
        accepted(f, 3),
        cancelled(3, own, 5, C.STP),
        trade(3, 1, other, f, 101, 5, 0, 0),
    ]
    assert l3(book) == []


def test_fok_with_self_trade_allowed_counts_those_trades(book: Any) -> None:
    own = new(1, "b", SELL, 100, 5)
    f = new(2, "b", BUY, 100, 5, tif=FOK, stp=StpMode.NONE)
    assert run(book, own, f) == [accepted(f, 2), trade(2, 1, own, f, 100, 5, 0, 0)]


# ---------------------------------------------------------------- post-only
@pytest.mark.parametrize("owner", ["a", "b"])
def test_post_only_crossing_is_rejected_whoever_owns_the_resting_order(
    book: Any, owner: str
) -> None:
    s = new(1, owner, SELL, 100, 5)
    p = new(2, "b", BUY, 101, 3, post_only=True)
    assert run(book, s, p) == [accepted(p, 2), cancelled(2, p, 3, C.POST_ONLY)]
    assert l3(book) == [(SELL, 100, 1, owner, 5)]


def test_post_only_at_exactly_the_best_opposite_price_crosses(book: Any) -> None:
    b = new(1, "a", BUY, 100, 5)
    p = new(2, "b", SELL, 100, 3, post_only=True, tif=GTC)
    assert run(book, b, p) == [accepted(p, 2), cancelled(2, p, 3, C.POST_ONLY)]


def test_post_only_that_does_not_cross_rests(book: Any) -> None:
    b = new(1, "a", BUY, 100, 5)
    p = new(2, "b", SELL, 101, 3, post_only=True)
    assert run(book, b, p) == [accepted(p, 2)]
    assert l3(book) == [(BUY, 100, 1, "a", 5), (SELL, 101, 2, "b", 3)]


@pytest.mark.parametrize("tif", [IOC, FOK])
def test_post_only_on_ioc_or_fok_rejected(book: Any, tif: TimeInForce) -> None:
    p = new(1, "b", SELL, 101, 3, post_only=True, tif=tif)
    assert run(book, p) == [rejected(1, CommandKind.NEW, p, R.POST_ONLY_NOT_GTC_LIMIT)]


# ----------------------------------------------------------------- identity
def test_duplicate_id_rejected_after_resting_and_after_filling(book: Any) -> None:
    s = new(1, "a", SELL, 100, 1)
    run(book, s)
    again = new(1, "z", BUY, 50, 1, symbol="OTHER")
    assert run(book, again) == [rejected(2, CommandKind.NEW, again, R.DUPLICATE_ORDER_ID)]
    run(book, new(2, "b", BUY, 100, 1))  # fills order 1
    assert run(book, again) == [rejected(4, CommandKind.NEW, again, R.DUPLICATE_ORDER_ID)]


@pytest.mark.parametrize(
    "first",
    [
        new(7, "a", BUY, 100, 0),  # rejected: quantity
        new(7, "a", BUY, 100, 1, symbol=""),  # rejected: symbol
        market(7, "a", BUY, 1),  # accepted, then cancelled on an empty book
        new(7, "a", BUY, 100, 1, tif=FOK),  # killed
    ],
)
def test_duplicate_id_rejected_after_reject_or_kill(book: Any, first: NewOrder) -> None:
    again = new(7, "a", BUY, 100, 1)
    assert run(book, first, again) == [rejected(2, CommandKind.NEW, again, R.DUPLICATE_ORDER_ID)]
    assert book.l3(SYM) == []


def test_duplicate_id_rejected_even_from_the_duplicate_reject(book: Any) -> None:
    run(book, new(1, "a", BUY, 100, 1), Cancel(1, "a"))
    again = new(1, "a", BUY, 100, 1)
    assert run(book, again)[0].reason is R.DUPLICATE_ORDER_ID
    assert run(book, again)[0].reason is R.DUPLICATE_ORDER_ID


def test_cancel_of_another_accounts_order_is_not_your_order(book: Any) -> None:
    run(book, new(1, "a", BUY, 100, 5))
    c = Cancel(1, "b")
    assert run(book, c) == [rejected(2, CommandKind.CANCEL, c, R.NOT_YOUR_ORDER)]
    assert l3(book) == [(BUY, 100, 1, "a", 5)]


def test_replace_of_another_accounts_order_is_not_your_order(book: Any) -> None:
    run(book, new(1, "a", BUY, 100, 5))
    r = Replace(1, "b", 101, 1)
    assert run(book, r) == [rejected(2, CommandKind.REPLACE, r, R.NOT_YOUR_ORDER)]
    assert l3(book) == [(BUY, 100, 1, "a", 5)]


def test_replace_keeps_the_orders_own_symbol_and_side(book: Any) -> None:
    run(book, new(1, "a", SELL, 100, 5, symbol="AAA"))
    assert run(book, Replace(1, "a", 101, 5)) == [Replaced(2, 1, "a", "AAA", SELL, 101, 5, False)]
    assert l3(book, "AAA") == [(SELL, 101, 1, "a", 5)]


# ------------------------------------------------------------------- cancel
def test_cancel_removes_whole_remaining_quantity(book: Any) -> None:
    b = new(1, "a", BUY, 100, 5)
    run(book, b, new(2, "x", SELL, 100, 2))
    assert run(book, Cancel(1, "a")) == [cancelled(3, b, 3, C.USER)]
    assert l3(book) == []


@pytest.mark.parametrize("order_id", [99, 0, -1])
def test_cancel_of_unknown_order_rejected(book: Any, order_id: int) -> None:
    c = Cancel(order_id, "a")
    assert run(book, c) == [rejected(1, CommandKind.CANCEL, c, R.UNKNOWN_ORDER)]


@pytest.mark.parametrize(
    "history",
    [
        [new(1, "a", BUY, 100, 1), new(2, "x", SELL, 100, 1)],  # filled
        [new(1, "a", BUY, 100, 1), Cancel(1, "a")],  # cancelled
        [new(1, "a", BUY, 100, 1, tif=FOK)],  # killed
        [new(1, "a", BUY, 100, 1, tif=IOC)],  # IOC remainder
        [new(1, "a", BUY, 100, 0)],  # rejected, id used up
        [new(1, "a", SELL, 100, 1), new(2, "a", BUY, 100, 1, stp=StpMode.CANCEL_MAKER)],  # STP
    ],
    ids=["filled", "cancelled", "killed", "ioc", "rejected", "stp"],
)
def test_cancel_or_replace_of_order_no_longer_resting_rejected(
    book: Any, history: list[Command]
) -> None:
    run(book, *history)
    before = l3(book)
    seq = len(history)
    c = Cancel(1, "a")
    assert run(book, c) == [rejected(seq + 1, CommandKind.CANCEL, c, R.ORDER_NOT_RESTING)]
    r = Replace(1, "a", 100, 1)
    assert run(book, r) == [rejected(seq + 2, CommandKind.REPLACE, r, R.ORDER_NOT_RESTING)]
    assert l3(book) == before


# ------------------------------------------------------------------ replace
@pytest.mark.parametrize("qty", [5, 3])
def test_replace_same_price_same_or_smaller_qty_keeps_priority(book: Any, qty: int) -> None:
    run(book, new(1, "a", SELL, 100, 5), new(2, "b", SELL, 100, 5))
    assert run(book, Replace(1, "a", 100, qty)) == [Replaced(3, 1, "a", SYM, SELL, 100, qty, True)]
    assert l3(book) == [(SELL, 100, 1, "a", qty), (SELL, 100, 2, "b", 5)]
    b = new(3, "c", BUY, 100, 1)
    assert run(book, b)[1].maker_order_id == 1


def test_replace_same_price_larger_qty_loses_priority(book: Any) -> None:
    run(book, new(1, "a", SELL, 100, 5), new(2, "b", SELL, 100, 5))
    assert run(book, Replace(1, "a", 100, 6)) == [Replaced(3, 1, "a", SYM, SELL, 100, 6, False)]
    assert l3(book) == [(SELL, 100, 2, "b", 5), (SELL, 100, 1, "a", 6)]


def test_replace_to_new_price_loses_priority_even_coming_back(book: Any) -> None:
    run(book, new(1, "a", BUY, 100, 5), new(2, "b", BUY, 100, 5))
    assert run(book, Replace(1, "a", 99, 5)) == [Replaced(3, 1, "a", SYM, BUY, 99, 5, False)]
    assert run(book, Replace(1, "a", 100, 5)) == [Replaced(4, 1, "a", SYM, BUY, 100, 5, False)]
    assert l3(book) == [(BUY, 100, 2, "b", 5), (BUY, 100, 1, "a", 5)]


def test_replace_after_partial_fill_compares_with_remaining_qty(book: Any) -> None:
    run(book, new(1, "a", SELL, 100, 5), new(2, "b", SELL, 100, 5), new(3, "c", BUY, 100, 2))
    # Remaining is 3: 4 is an increase and loses priority even though it is below 5.
    assert run(book, Replace(1, "a", 100, 4)) == [Replaced(4, 1, "a", SYM, SELL, 100, 4, False)]
    assert l3(book) == [(SELL, 100, 2, "b", 5), (SELL, 100, 1, "a", 4)]


def test_replace_that_crosses_trades_and_rests_remainder_at_back(book: Any) -> None:
    b = new(1, "a", BUY, 99, 5)
    s1, s2 = new(2, "x", SELL, 100, 2), new(3, "y", SELL, 101, 1)
    b2 = new(4, "z", BUY, 100, 1)
    run(book, b, s1, s2, b2)  # b2 trades 1 with s1
    assert run(book, Replace(1, "a", 101, 6)) == [
        Replaced(5, 1, "a", SYM, BUY, 101, 6, False),
        trade(5, 2, s1, b, 100, 1, 0, 5),
        trade(5, 3, s2, b, 101, 1, 0, 4),
    ]
    assert l3(book) == [(BUY, 101, 1, "a", 4)]


def test_replace_that_crosses_applies_its_stp_mode(book: Any) -> None:
    b = new(1, "a", BUY, 99, 5, stp=StpMode.CANCEL_TAKER)
    own = new(2, "a", SELL, 100, 2)
    run(book, b, own)
    assert run(book, Replace(1, "a", 100, 5)) == [
        Replaced(3, 1, "a", SYM, BUY, 100, 5, False),
        cancelled(3, b, 5, C.STP, price=100),
    ]
    assert l3(book) == [(SELL, 100, 2, "a", 2)]


def test_post_only_replace_that_would_cross_is_rejected_and_unchanged(book: Any) -> None:
    run(book, new(1, "a", BUY, 99, 5, post_only=True), new(2, "b", BUY, 99, 1))
    run(book, new(3, "a", SELL, 101, 5))
    r = Replace(1, "a", 101, 5)
    assert run(book, r) == [rejected(4, CommandKind.REPLACE, r, R.POST_ONLY_WOULD_CROSS)]
    assert l3(book) == [(BUY, 99, 1, "a", 5), (BUY, 99, 2, "b", 1), (SELL, 101, 3, "a", 5)]


def test_post_only_replace_that_does_not_cross_rests_at_back(book: Any) -> None:
    run(book, new(1, "a", BUY, 99, 5, post_only=True), new(2, "b", BUY, 100, 1))
    run(book, new(3, "a", SELL, 101, 5))
    assert run(book, Replace(1, "a", 100, 5)) == [Replaced(4, 1, "a", SYM, BUY, 100, 5, False)]
    assert l3(book)[:2] == [(BUY, 100, 2, "b", 1), (BUY, 100, 1, "a", 5)]


@pytest.mark.parametrize(
    ("price", "qty", "reason"),
    [
        (0, 5, R.INVALID_PRICE),
        (-1, 5, R.INVALID_PRICE),
        (100, 0, R.INVALID_QUANTITY),
        (100, -1, R.INVALID_QUANTITY),
        (0, 0, R.INVALID_PRICE),
    ],
)
def test_replace_with_invalid_price_or_qty_rejected_and_unchanged(
    book: Any, price: int, qty: int, reason: RejectReason
) -> None:
    run(book, new(1, "a", BUY, 100, 5))
    r = Replace(1, "a", price, qty)
    assert run(book, r) == [rejected(2, CommandKind.REPLACE, r, reason)]
    assert l3(book) == [(BUY, 100, 1, "a", 5)]


def test_replace_checks_come_in_the_documented_order(book: Any) -> None:
    assert run(book, Replace(5, "a", 0, 0))[0].reason is R.UNKNOWN_ORDER
    run(book, new(1, "a", BUY, 99, 5, post_only=True), new(2, "b", SELL, 101, 1))
    assert run(book, Replace(1, "b", 0, 0))[0].reason is R.NOT_YOUR_ORDER
    assert run(book, Replace(1, "a", 101, 0))[0].reason is R.INVALID_QUANTITY
    assert run(book, Replace(1, "a", 101, 5))[0].reason is R.POST_ONLY_WOULD_CROSS


# ---------------------------------------------------------------------- STP
def test_stp_none_trades_with_own_account(book: Any) -> None:
    s = new(1, "a", SELL, 100, 2)
    b = new(2, "a", BUY, 100, 2)
    assert run(book, s, b) == [accepted(b, 2), trade(2, 1, s, b, 100, 2, 0, 0)]


def test_stp_applies_only_between_orders_of_the_same_account(book: Any) -> None:
    s = new(1, "x", SELL, 100, 2, stp=StpMode.CANCEL_BOTH)
    b = new(2, "a", BUY, 100, 2, stp=StpMode.CANCEL_BOTH)
    assert run(book, s, b) == [accepted(b, 2), trade(2, 1, s, b, 100, 2, 0, 0)]


def test_stp_mode_is_the_incoming_orders(book: Any) -> None:
    s = new(1, "a", SELL, 100, 2, stp=StpMode.CANCEL_TAKER)
    b = new(2, "a", BUY, 100, 2, stp=StpMode.NONE)
    assert run(book, s, b)[1] == trade(2, 1, s, b, 100, 2, 0, 0)


def test_stp_cancel_taker_cancels_incoming_and_stops(book: Any) -> None:
    other, own, more = (
        new(1, "x", SELL, 100, 1),
        new(2, "a", SELL, 100, 1),
        new(3, "x", SELL, 100, 5),
    )
    b = new(4, "a", BUY, 100, 4, stp=StpMode.CANCEL_TAKER)
    assert run(book, other, own, more, b) == [
        accepted(b, 4),
        trade(4, 1, other, b, 100, 1, 0, 3),
        cancelled(4, b, 3, C.STP),
    ]
    assert l3(book) == [(SELL, 100, 2, "a", 1), (SELL, 100, 3, "x", 5)]


def test_stp_cancel_maker_cancels_resting_and_goes_on(book: Any) -> None:
    own, other = new(1, "a", SELL, 100, 1), new(2, "x", SELL, 101, 5)
    b = new(3, "a", BUY, 101, 4, stp=StpMode.CANCEL_MAKER)
    assert run(book, own, other, b) == [
        accepted(b, 3),
        cancelled(3, own, 1, C.STP),
        trade(3, 1, other, b, 101, 4, 1, 0),
    ]
    assert l3(book) == [(SELL, 101, 2, "x", 1)]


def test_stp_cancel_both_cancels_maker_then_taker(book: Any) -> None:
    own, other = new(1, "a", SELL, 100, 1), new(2, "x", SELL, 100, 5)
    b = new(3, "a", BUY, 100, 4, stp=StpMode.CANCEL_BOTH)
    assert run(book, own, other, b) == [
        accepted(b, 3),
        cancelled(3, own, 1, C.STP),
        cancelled(3, b, 4, C.STP),
    ]
    assert l3(book) == [(SELL, 100, 2, "x", 5)]


def test_stp_cancelled_gtc_does_not_rest(book: Any) -> None:
    own = new(1, "a", SELL, 100, 1)
    b = new(2, "a", BUY, 100, 4, stp=StpMode.CANCEL_TAKER)
    run(book, own, b)
    assert l3(book) == [(SELL, 100, 1, "a", 1)]


def test_stp_decrement_smaller_maker_is_cancelled_and_taker_goes_on(book: Any) -> None:
    own, other = new(1, "a", SELL, 100, 2), new(2, "x", SELL, 100, 5)
    b = new(3, "a", BUY, 100, 6, stp=StpMode.DECREMENT)
    assert run(book, own, other, b) == [
        accepted(b, 3),
        cancelled(3, own, 2, C.STP),
        reduced(3, b, 2, 4),
        trade(3, 1, other, b, 100, 4, 1, 0),
    ]
    assert l3(book) == [(SELL, 100, 2, "x", 1)]


def test_stp_decrement_keeps_makers_place(book: Any) -> None:
    own, other = new(1, "a", SELL, 100, 5), new(2, "x", SELL, 100, 5)
    b = new(3, "a", BUY, 100, 2, stp=StpMode.DECREMENT)
    assert run(book, own, other, b) == [
        accepted(b, 3),
        reduced(3, own, 2, 3),
        cancelled(3, b, 2, C.STP),
    ]
    assert l3(book) == [(SELL, 100, 1, "a", 3), (SELL, 100, 2, "x", 5)]
    b2 = new(4, "y", BUY, 100, 1)
    assert run(book, b2)[1] == trade(4, 1, own, b2, 100, 1, 2, 0)


def test_stp_decrement_equal_quantities_cancels_both(book: Any) -> None:
    own = new(1, "a", SELL, 100, 3)
    b = new(2, "a", BUY, 100, 3, stp=StpMode.DECREMENT)
    assert run(book, own, b) == [
        accepted(b, 2),
        cancelled(2, own, 3, C.STP),
        cancelled(2, b, 3, C.STP),
    ]
    assert l3(book) == []


def test_stp_decrement_remainder_of_gtc_rests(book: Any) -> None:
    own = new(1, "a", SELL, 100, 2)
    b = new(2, "a", BUY, 100, 5, stp=StpMode.DECREMENT)
    assert run(book, own, b) == [accepted(b, 2), cancelled(2, own, 2, C.STP), reduced(2, b, 2, 3)]
    assert l3(book) == [(BUY, 100, 2, "a", 3)]


def test_stp_decrement_remainder_of_ioc_is_cancelled(book: Any) -> None:
    own = new(1, "a", SELL, 100, 2)
    b = new(2, "a", BUY, 100, 5, tif=IOC, stp=StpMode.DECREMENT)
    assert run(book, own, b) == [
        accepted(b, 2),
        cancelled(2, own, 2, C.STP),
        reduced(2, b, 2, 3),
        cancelled(2, b, 3, C.IOC_REMAINDER),
    ]


def test_stp_on_market_order_events_carry_no_price(book: Any) -> None:
    own = new(1, "a", SELL, 100, 2)
    m = market(2, "a", BUY, 5, stp=StpMode.DECREMENT)
    assert run(book, own, m) == [
        accepted(m, 2),
        cancelled(2, own, 2, C.STP),
        reduced(2, m, 2, 3),
        cancelled(2, m, 3, C.MARKET_REMAINDER),
    ]
