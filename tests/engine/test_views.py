"""bbo, depth, l3, order and symbols on hand-built books, for the engine and the model."""

from __future__ import annotations

from typing import Any

import pytest

from ringmatch.engine.book.matching import MatchingEngine
from ringmatch.engine.schema.commands import Cancel, NewOrder, Replace
from ringmatch.engine.schema.enums import OrderType, Side, StpMode
from ringmatch.engine.schema.views import BBO, BookOrder, Depth
from tests.engine.reference_book import ReferenceBook

BUY, SELL = Side.BUY, Side.SELL
SYM = "XYZ"


@pytest.fixture(params=["engine", "reference"])
def book(request: pytest.FixtureRequest) -> Any:
    return MatchingEngine() if request.param == "engine" else ReferenceBook()


def limit(
    order_id: int, account: str, side: Side, price: int, qty: int, symbol: str = SYM
) -> NewOrder:
    return NewOrder(order_id, account, symbol, side, OrderType.LIMIT, price, qty)


def fill(book: Any) -> None:
    """Bids 100 x (1: 2, 2: 3), 99 x (3: 4); asks 101 x (4: 1), 103 x (5: 5, 6: 6)."""
    for cmd in (
        limit(3, "a", BUY, 99, 4),
        limit(1, "a", BUY, 100, 2),
        limit(5, "b", SELL, 103, 5),
        limit(2, "b", BUY, 100, 3),
        limit(4, "a", SELL, 101, 1),
        limit(6, "c", SELL, 103, 6),
    ):
        book.process(cmd)


@pytest.mark.parametrize("symbol", ["NOPE", ""])
def test_unknown_symbol_gives_empty_views(book: Any, symbol: str) -> None:
    fill(book)
    assert book.bbo(symbol) == BBO(None, 0, None, 0)
    assert book.depth(symbol, 5) == Depth([], [])
    assert book.l3(symbol) == []


def test_bbo_is_best_price_with_total_quantity_at_it(book: Any) -> None:
    fill(book)
    assert book.bbo(SYM) == BBO(100, 5, 101, 1)


def test_bbo_with_one_side_empty(book: Any) -> None:
    book.process(limit(1, "a", SELL, 105, 7))
    book.process(limit(2, "a", SELL, 105, 1))
    assert book.bbo(SYM) == BBO(None, 0, 105, 8)
    book.process(Cancel(1, "a"))
    book.process(Cancel(2, "a"))
    book.process(limit(3, "a", BUY, 95, 2))
    assert book.bbo(SYM) == BBO(95, 2, None, 0)


def test_depth_is_aggregated_best_first_and_cut_at_levels(book: Any) -> None:
    fill(book)
    assert book.depth(SYM, 10) == Depth([(100, 5), (99, 4)], [(101, 1), (103, 11)])
    assert book.depth(SYM, 2) == Depth([(100, 5), (99, 4)], [(101, 1), (103, 11)])
    assert book.depth(SYM, 1) == Depth([(100, 5)], [(101, 1)])


@pytest.mark.parametrize("levels", [0, -1])
def test_depth_of_no_levels_is_empty(book: Any, levels: int) -> None:
    # The contract does not say; our reading: a count, never a slice index.
    fill(book)
    assert book.depth(SYM, levels) == Depth([], [])


def test_l3_lists_bids_best_first_then_asks_best_first_in_queue_order(book: Any) -> None:
    fill(book)
    assert book.l3(SYM) == [
        BookOrder(SYM, BUY, 100, 1, "a", 2),
        BookOrder(SYM, BUY, 100, 2, "b", 3),
        BookOrder(SYM, BUY, 99, 3, "a", 4),
        BookOrder(SYM, SELL, 101, 4, "a", 1),
        BookOrder(SYM, SELL, 103, 5, "b", 5),
        BookOrder(SYM, SELL, 103, 6, "c", 6),
    ]


def test_views_follow_trades_cancels_and_replaces(book: Any) -> None:
    fill(book)
    book.process(limit(7, "d", SELL, 100, 3))  # takes 1 fully and 1 lot of 2
    book.process(Cancel(6, "c"))
    book.process(Replace(3, "a", 99, 1))  # keeps its place, smaller
    book.process(Replace(4, "a", 102, 1))  # moves away
    assert book.bbo(SYM) == BBO(100, 2, 102, 1)
    assert book.depth(SYM, 5) == Depth([(100, 2), (99, 1)], [(102, 1), (103, 5)])
    assert [(o.order_id, o.qty) for o in book.l3(SYM)] == [(2, 2), (3, 1), (4, 1), (5, 5)]


def test_views_reflect_stp_decrement_in_place(book: Any) -> None:
    book.process(limit(1, "a", SELL, 100, 5))
    book.process(limit(2, "b", SELL, 100, 5))
    dec = NewOrder(3, "a", SYM, BUY, OrderType.LIMIT, 100, 2, stp=StpMode.DECREMENT)
    book.process(dec)
    assert book.bbo(SYM) == BBO(None, 0, 100, 8)
    assert [(o.order_id, o.qty) for o in book.l3(SYM)] == [(1, 3), (2, 5)]


def test_order_finds_resting_orders_only(book: Any) -> None:
    fill(book)
    assert book.order(5) == BookOrder(SYM, SELL, 103, 5, "b", 5)
    book.process(limit(7, "d", SELL, 100, 2))  # fills order 1
    book.process(Cancel(5, "b"))
    assert book.order(1) is None
    assert book.order(5) is None
    assert book.order(999) is None
    assert book.order(2) == BookOrder(SYM, BUY, 100, 2, "b", 3)


def test_books_are_per_symbol(book: Any) -> None:
    book.process(limit(1, "a", SELL, 100, 5, symbol="AAA"))
    book.process(limit(2, "b", BUY, 100, 5, symbol="BBB"))  # does not cross AAA
    assert book.bbo("AAA") == BBO(None, 0, 100, 5)
    assert book.bbo("BBB") == BBO(100, 5, None, 0)
    assert book.symbols() == ["AAA", "BBB"]


def test_symbols_are_sorted_by_name(book: Any) -> None:
    for i, symbol in enumerate(["MSFT", "AAPL", "GOOG"], start=1):
        book.process(limit(i, "a", BUY, 100, 1, symbol=symbol))
    assert book.symbols() == ["AAPL", "GOOG", "MSFT"]


def test_a_rejected_order_creates_no_book(book: Any) -> None:
    book.process(limit(1, "a", BUY, 100, 0, symbol="ZZZ"))
    book.process(limit(2, "a", BUY, 0, 1, symbol="ZZZ"))
    assert book.symbols() == []
    assert book.l3("ZZZ") == []
