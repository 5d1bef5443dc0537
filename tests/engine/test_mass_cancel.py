"""MassCancel: every resting order of one account (optionally one symbol), nothing else."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ringmatch.engine.book.matching import MatchingEngine
from ringmatch.engine.schema.commands import MassCancel, NewOrder
from ringmatch.engine.schema.enums import CancelReason, OrderType, Side
from ringmatch.engine.schema.events import Cancelled, MassCancelled
from tests.engine.strategies import ACCOUNTS, SYMBOLS, command_streams


def limit(oid: int, account: str, symbol: str, side: Side, price: int, qty: int) -> NewOrder:
    return NewOrder(oid, account, symbol, side, OrderType.LIMIT, price, qty)


def test_mass_cancel_takes_the_accounts_orders_in_book_entry_order() -> None:
    eng = MatchingEngine()
    eng.process_batch(
        [
            limit(1, "a", "X", Side.BUY, 99, 5),
            limit(2, "b", "X", Side.BUY, 99, 5),
            limit(3, "a", "Y", Side.SELL, 105, 7),
            limit(4, "a", "X", Side.SELL, 101, 2),
        ]
    )
    events = eng.process(MassCancel("a", reason=CancelReason.DISCONNECT))
    assert [(e.order_id, e.qty, e.reason) for e in events if isinstance(e, Cancelled)] == [
        (1, 5, CancelReason.DISCONNECT),
        (3, 7, CancelReason.DISCONNECT),
        (4, 2, CancelReason.DISCONNECT),
    ]
    assert events[-1] == MassCancelled(5, "a", None, 3, CancelReason.DISCONNECT)
    assert [o.order_id for s in eng.symbols() for o in eng.l3(s)] == [2]


def test_mass_cancel_of_one_symbol_leaves_the_others() -> None:
    eng = MatchingEngine()
    eng.process_batch([limit(1, "a", "X", Side.BUY, 99, 5), limit(2, "a", "Y", Side.BUY, 99, 5)])
    events = eng.process(MassCancel("a", "Y"))
    assert [type(e) for e in events] == [Cancelled, MassCancelled]
    assert events[-1].count == 1  # type: ignore[union-attr]
    assert eng.order(1) is not None and eng.order(2) is None


def test_mass_cancel_with_nothing_resting_reports_zero() -> None:
    eng = MatchingEngine()
    assert eng.process(MassCancel("nobody")) == [
        MassCancelled(1, "nobody", None, 0, CancelReason.MASS_CANCEL)
    ]


@settings(max_examples=100, deadline=None)
@given(command_streams(), st.sampled_from(ACCOUNTS), st.sampled_from((None, *SYMBOLS)))
def test_mass_cancel_equals_one_cancel_per_order(stream, account, symbol) -> None:
    eng = MatchingEngine()
    eng.process_batch(stream)
    before = {s: eng.l3(s) for s in eng.symbols()}
    events = eng.process(MassCancel(account, symbol))
    cancelled = {e.order_id for e in events if isinstance(e, Cancelled)}
    for orders in before.values():
        for o in orders:
            hit = o.account == account and (symbol is None or o.symbol == symbol)
            assert (o.order_id in cancelled) == hit
            assert (eng.order(o.order_id) is None) == hit
