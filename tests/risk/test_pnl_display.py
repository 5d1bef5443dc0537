"""P&L in decimal prices: ticks x tick size, against references that share no code with it.

unrealised = position x (mark - average cost)                 (the definition)
realised + unrealised = cash + position x mark                (any accounting agrees)
shown = exact value x tick, rounded half-even at the end       (Decimal, 100 digits)
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from ringmatch.engine.schema.enums import Side
from ringmatch.engine.schema.events import Trade
from ringmatch.risk.limits import RiskConfig
from ringmatch.risk.monitor import RiskMonitor
from ringmatch.risk.positions import Position, in_price, tick_places

TICKS = ["0.01", "0.5", "1", "5", "0.0001", "0.25"]


def reference(value: Fraction, tick: str, places: int) -> str:
    """``value`` ticks in price units, by decimal division at 100 digits."""
    with localcontext() as ctx:
        ctx.prec = 100
        exact = Decimal(value.numerator) * Decimal(tick) / Decimal(value.denominator)
        shown = exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
    text = f"{shown:f}"
    return text[1:] if text.startswith("-") and not shown else text  # no "-0.00"


def test_tick_places_and_a_hand_worked_price() -> None:
    assert [tick_places(Decimal(t)) for t in TICKS] == [2, 1, 0, 0, 4, 2]
    assert in_price(Fraction(10001, 3), Decimal("0.01"), 4) == Decimal("33.3367")
    assert in_price(Fraction(1, 8), Decimal("1"), 2) == Decimal("0.12")  # half-even: 0.125
    assert in_price(Fraction(3, 8), Decimal("1"), 2) == Decimal("0.38")


fills = st.lists(
    st.tuples(st.booleans(), st.integers(1, 100_000), st.integers(1, 1_000)), max_size=30
)


@given(fills, st.integers(1, 100_000), st.sampled_from(TICKS))
def test_unrealised_is_position_times_mark_minus_average_cost(
    steps: list[tuple[bool, int, int]], mark: int, tick: str
) -> None:
    pos = Position()
    cash = 0
    for buy, price, qty in steps:
        pos.fill(buy, price, qty)
        cash += -price * qty if buy else price * qty
    avg = pos.avg_price
    expected = Fraction(0) if avg is None else pos.qty * (mark - avg)
    assert pos.unrealised(mark) == expected
    assert pos.realised + pos.unrealised(mark) == cash + pos.qty * mark
    places = tick_places(Decimal(tick)) + 2
    assert f"{in_price(expected, Decimal(tick), places):f}" == reference(expected, tick, places)


def trade(n: int, taker: str, maker: str, buys: bool, price: int, qty: int, sym: str) -> Trade:
    side = Side.BUY if buys else Side.SELL
    return Trade(n, n, sym, price, qty, 1000 + n, 2000 + n, maker, taker, side, 0, 0)


@given(
    st.lists(
        st.tuples(
            st.booleans(), st.integers(1, 50_000), st.integers(1, 500), st.sampled_from("XY")
        ),
        min_size=1,
        max_size=25,
    ),
    st.sampled_from(TICKS),
    st.sampled_from(TICKS),
)
def test_the_state_shows_each_value_and_total_as_the_reference_does(
    steps: list[tuple[bool, int, int, str]], tick_x: str, tick_y: str
) -> None:
    monitor = RiskMonitor(RiskConfig(), lambda cmd: None)
    cash: dict[str, Fraction] = {}  # a's cash per symbol, in ticks
    for n, (buys, price, qty, sym) in enumerate(steps, 1):
        monitor.on_events([trade(n, "a", "b", buys, price, qty, sym)])
        cash[sym] = cash.get(sym, Fraction(0)) + (-price * qty if buys else price * qty)
    ticks = {"X": Decimal(tick_x), "Y": Decimal(tick_y)}
    state = monitor.state(ticks)["accounts"]["a"]
    total = {"realised": Fraction(0), "unrealised": Fraction(0)}
    for sym, shown in state["symbols"].items():
        pos = monitor.book.get("a", sym)
        mark = monitor.book.last[sym]
        tick = str(ticks[sym])
        money = max(2, tick_places(ticks[sym]))
        unrealised = Fraction(0) if pos.qty == 0 else pos.qty * (mark - pos.avg_price)
        assert shown["mark"] == mark
        assert shown["mark_price"] == reference(Fraction(mark), tick, tick_places(ticks[sym]))
        assert shown["unrealised"] == reference(unrealised, tick, money)
        assert shown["realised"] == reference(pos.realised, tick, money)
        # realised + unrealised: the cash identity, whatever the average did
        assert shown["total"] == reference(cash[sym] + pos.qty * mark, tick, money)
        total["realised"] += pos.realised * Fraction(Decimal(tick))
        total["unrealised"] += unrealised * Fraction(Decimal(tick))
    places = max(2, *(tick_places(ticks[s]) for s in state["symbols"]))
    assert state["totals"] == {
        "realised": reference(total["realised"], "1", places),
        "unrealised": reference(total["unrealised"], "1", places),
        "total": reference(total["realised"] + total["unrealised"], "1", places),
    }
