"""Microbenchmarks of the book operations (pytest-benchmark).

    .venv/bin/python -m pytest benchmarks/ --benchmark-only

Not part of the test run (pyproject's testpaths is tests/). Each case starts from a
book of 1,000 resting orders per side over 20 price levels (8 symbols are not
needed for one operation) and times one operation, undoing it outside the timing
where the operation changes the book.
"""

from __future__ import annotations

from typing import Any

import pytest

from ringmatch.engine.book.matching import MatchingEngine
from ringmatch.engine.schema.commands import Cancel, NewOrder, Replace
from ringmatch.engine.schema.enums import OrderType, Side, TimeInForce

MID = 10_000


def seeded_engine() -> MatchingEngine:
    eng = MatchingEngine()
    oid = 0
    for i in range(1000):
        off = 1 + i % 20
        oid += 1
        eng.process(NewOrder(oid, f"a{i % 50}", "AAPL", Side.BUY, OrderType.LIMIT, MID - off, 10))
        oid += 1
        eng.process(NewOrder(oid, f"a{i % 50}", "AAPL", Side.SELL, OrderType.LIMIT, MID + off, 10))
    return eng


@pytest.fixture
def eng() -> MatchingEngine:
    return seeded_engine()


def test_new_passive_limit(benchmark: Any, eng: MatchingEngine) -> None:
    ids = iter(range(1_000_000, 10_000_000))

    def new() -> None:
        eng.process(NewOrder(next(ids), "x", "AAPL", Side.BUY, OrderType.LIMIT, MID - 5, 10))

    benchmark(new)


def test_cancel_resting(benchmark: Any, eng: MatchingEngine) -> None:
    ids = iter(range(1_000_000, 10_000_000))

    def setup() -> tuple[tuple[Cancel], dict[str, Any]]:
        oid = next(ids)
        eng.process(NewOrder(oid, "x", "AAPL", Side.BUY, OrderType.LIMIT, MID - 5, 10))
        return (Cancel(oid, "x"),), {}

    benchmark.pedantic(eng.process, setup=setup, rounds=20_000)


def test_marketable_ioc_one_fill(benchmark: Any, eng: MatchingEngine) -> None:
    ids = iter(range(1_000_000, 10_000_000))

    def setup() -> tuple[tuple[NewOrder], dict[str, Any]]:
        eng.process(NewOrder(next(ids), "m", "AAPL", Side.SELL, OrderType.LIMIT, MID - 50, 10))
        taker = NewOrder(
            next(ids), "t", "AAPL", Side.BUY, OrderType.LIMIT, MID - 50, 10, TimeInForce.IOC
        )
        return (taker,), {}

    benchmark.pedantic(eng.process, setup=setup, rounds=20_000)


def test_market_sweeps_three_levels(benchmark: Any) -> None:
    # Each level holds 50 orders of 10 lots: 1,500 lots take three whole levels.
    def setup() -> tuple[tuple[MatchingEngine, NewOrder], dict[str, Any]]:
        sweep = NewOrder(9_999_999, "t", "AAPL", Side.BUY, OrderType.MARKET, None, 1500)
        return (seeded_engine(), sweep), {}

    benchmark.pedantic(MatchingEngine.process, setup=setup, rounds=100)


def test_replace_keeps_priority(benchmark: Any, eng: MatchingEngine) -> None:
    eng.process(NewOrder(5_000_000, "r", "AAPL", Side.BUY, OrderType.LIMIT, MID - 3, 1_000_000))
    qty = iter(range(999_999, 0, -1))

    def replace() -> None:
        eng.process(Replace(5_000_000, "r", MID - 3, next(qty)))

    benchmark(replace)


def test_bbo_and_depth(benchmark: Any, eng: MatchingEngine) -> None:
    def views() -> None:
        eng.bbo("AAPL")
        eng.depth("AAPL", 5)

    benchmark(views)
