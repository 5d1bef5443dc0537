"""Positions and P&L: a hand-worked example, a unit-by-unit model, and the kill on breach."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from ringmatch.engine.schema.commands import KillSwitch, NewOrder
from ringmatch.engine.schema.enums import OrderType, Side
from ringmatch.engine.schema.events import Trade
from ringmatch.risk.limits import AccountLimits, RiskConfig
from ringmatch.risk.monitor import RiskMonitor
from ringmatch.risk.positions import Position, PositionBook
from tests.risk.driver import Driver

BUY, SELL = Side.BUY, Side.SELL


def trade(n: int, taker: str, maker: str, taker_side: Side, price: int, qty: int) -> Trade:
    return Trade(n, n, "X", price, qty, 1000 + n, 2000 + n, maker, taker, taker_side, 0, 0)


def test_hand_worked_example() -> None:
    book = PositionBook()
    steps = [  # (a's side, price, qty) -> (position, average, realised), worked by hand
        (BUY, 100, 10, 10, 100, 0),
        (BUY, 110, 10, 20, 105, 0),  # (1000 + 1100) / 20
        (SELL, 120, 15, 5, 105, 225),  # 15 x (120 - 105)
        (SELL, 100, 10, -5, 100, 200),  # closes 5 x (100 - 105) = -25, opens 5 short at 100
        (BUY, 90, 5, 0, None, 250),  # 5 x (100 - 90)
    ]
    for n, (side, price, qty, pos, avg, realised) in enumerate(steps, 1):
        book.on_trade(trade(n, "a", "b", side, price, qty))
        p = book.get("a", "X")
        assert (p.qty, p.avg_price, p.realised) == (pos, avg, realised), n
        q = book.get("b", "X")  # the other side of every trade mirrors the position
        assert q.qty == -pos
    assert book.pnl("a") == 250


def test_unrealised_marks_at_the_last_trade() -> None:
    book = PositionBook()
    book.on_trade(trade(1, "a", "b", BUY, 100, 10))
    book.on_trade(trade(2, "c", "d", BUY, 93, 1))
    assert book.pnl("a") == -70 and book.pnl("b") == 70
    assert book.holders("X") == ["a", "b", "c", "d"]


def test_a_trade_with_oneself_changes_nothing() -> None:
    book = PositionBook()
    book.on_trade(trade(1, "a", "a", BUY, 100, 10))
    assert book.get("a", "X").qty == 0 and book.pnl("a") == 0


class UnitModel:
    """Average cost one lot at a time: every lot either adds to the position or closes one."""

    def __init__(self) -> None:
        self.qty = 0
        self.cost = Fraction(0)
        self.realised = Fraction(0)

    def fill(self, buy: bool, price: int, qty: int) -> None:
        for _ in range(qty):
            step = 1 if buy else -1
            if self.qty == 0 or (self.qty > 0) == buy:
                self.cost += price
            else:
                avg = self.cost / abs(self.qty)
                self.realised += (price - avg) if self.qty > 0 else (avg - price)
                self.cost -= avg
            self.qty += step


@given(st.lists(st.tuples(st.booleans(), st.integers(1, 500), st.integers(1, 20)), max_size=60))
def test_against_the_unit_model(fills: list[tuple[bool, int, int]]) -> None:
    pos, model = Position(), UnitModel()
    cash = 0
    for buy, price, qty in fills:
        pos.fill(buy, price, qty)
        model.fill(buy, price, qty)
        cash += -price * qty if buy else price * qty
        assert (pos.qty, pos.cost, pos.realised) == (model.qty, model.cost, model.realised)
        # total P&L is cash plus the position marked at any price
        assert pos.realised + pos.unrealised(price) == cash + pos.qty * price


def test_a_breach_switches_the_kill_switch_on_once() -> None:
    sent: list[KillSwitch] = []
    config = RiskConfig(max_loss=50, accounts=[AccountLimits(account="b", kill_position=5)])
    monitor = RiskMonitor(config, sent.append)
    monitor.on_events([trade(1, "a", "b", BUY, 100, 4)])  # b short 4: within 5
    assert sent == []
    monitor.on_events([trade(2, "a", "b", BUY, 100, 2)])  # b short 6
    assert [(k.account, k.on, k.cancel_orders) for k in sent] == [("b", True, True)]
    assert "position -6 in X beyond kill_position 5" in sent[0].why
    # a's loss: long 6 at 100, marked down to 91 by someone else's trade: -54
    monitor.on_events([trade(3, "c", "d", BUY, 91, 1)])
    assert [k.account for k in sent] == ["b", "a"]
    assert "loss 54.00 beyond max_loss 50" in sent[1].why
    monitor.on_events([trade(4, "c", "d", BUY, 80, 1)])
    assert len(sent) == 2  # once per account until rearmed
    state = monitor.state()
    assert state["accounts"]["a"]["symbols"]["X"]["position"] == 6
    assert state["accounts"]["b"]["tripped"].startswith("position")


def test_breach_kill_reaches_the_core_and_cancels_the_account() -> None:
    """The monitor's KillSwitch, put through the core, cancels and blocks the account."""
    d = Driver()
    inbox: list[KillSwitch] = []
    config = RiskConfig(accounts=[AccountLimits(account="a", kill_position=5)])
    monitor = RiskMonitor(config, inbox.append)
    lim, buy, sell = OrderType.LIMIT, Side.BUY, Side.SELL
    d.send(NewOrder(1, "a", "X", buy, lim, 90, 3))
    d.send(NewOrder(2, "b", "X", sell, lim, 100, 10))
    monitor.on_events(d.send(NewOrder(3, "a", "X", buy, lim, 100, 6)))
    assert [k.account for k in inbox] == ["a"]
    d.send(inbox[0])
    assert d.engine.order(1) is None
    rejected = d.send(NewOrder(4, "a", "X", buy, lim, 90, 1))
    assert rejected[0].reason.value == "KILL_SWITCH"  # type: ignore[union-attr]
