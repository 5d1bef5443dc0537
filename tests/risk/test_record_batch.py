"""RiskMonitor.on_records against on_events: the same positions, P&L, last prices and trips.

Event records come from running random command streams (tests/engine/strategies.py,
made journalable) through the reference kernel; the old consumer reads them decoded
(``decode_events``), the new one reads the records in random batches, so batch
boundaries must not change anything.
"""

from __future__ import annotations

import itertools
import random

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from ringmatch.engine.core.reference_kernel import ReferenceKernel
from ringmatch.engine.records import layout as L
from ringmatch.engine.records.convert import Encoder, decode_events
from ringmatch.engine.records.names import Directory
from ringmatch.engine.schema.commands import Command, KillSwitch, NewOrder
from ringmatch.engine.schema.enums import OrderType, Side
from ringmatch.risk.limits import AccountLimits, RiskConfig
from ringmatch.risk.monitor import RiskMonitor
from tests.engine.strategies import ACCOUNTS, SYMBOLS, command_streams, journalable, random_stream


def event_records(cmds: list[Command]) -> np.ndarray:
    """The event records of ``cmds`` run through the reference kernel (names defined inline)."""
    inputs = Encoder(Directory()).encode(journalable(cmds), first_seq=1)
    return ReferenceKernel().process(inputs)


def random_batches(draw: st.DrawFn, events: np.ndarray) -> list[np.ndarray]:
    """``events`` cut at random places (a cut may split a trade's two records)."""
    n = len(events)
    cuts = sorted(draw(st.lists(st.integers(0, n), max_size=8)))
    edges = [0, *cuts, n]
    return [events[a:b] for a, b in itertools.pairwise(edges)]


def whole_trades(events: np.ndarray, rng: random.Random, mean: int) -> list[np.ndarray]:
    """Batches of about ``mean`` records, never between a trade's two records."""
    out, start = [], 0
    while start < len(events):
        end = min(len(events), start + rng.randint(1, 2 * mean))
        while (
            end < len(events) and events["kind"][end] == L.TRADE and events["flags"][end] & L.TAKER
        ):
            end += 1
        out.append(events[start:end])
        start = end
    return out


configs = st.builds(
    RiskConfig,
    kill_position=st.none() | st.integers(0, 12),
    max_loss=st.none() | st.integers(0, 30),
    accounts=st.lists(
        st.builds(
            AccountLimits,
            account=st.sampled_from(ACCOUNTS),
            symbol=st.none() | st.sampled_from(SYMBOLS),
            kill_position=st.none() | st.integers(0, 12),
            max_loss=st.none() | st.integers(0, 30),
        ),
        max_size=3,
        unique_by=lambda o: (o.account, o.symbol),
    ),
)


def full_state(m: RiskMonitor) -> object:
    exact = {
        (a, s): (p.qty, p.cost, p.realised)
        for a, mine in m.book.positions.items()
        for s, p in mine.items()
    }
    return exact, dict(m.book.last), dict(m.tripped), m.state()


def both(config: RiskConfig) -> tuple[RiskMonitor, list[KillSwitch], RiskMonitor, list[KillSwitch]]:
    old_sent: list[KillSwitch] = []
    new_sent: list[KillSwitch] = []
    return (
        RiskMonitor(config, old_sent.append),
        old_sent,
        RiskMonitor(config, new_sent.append),
        new_sent,
    )


@st.composite
def whole_runs(draw: st.DrawFn) -> tuple[list[RiskConfig], list[np.ndarray], list[int]]:
    events = event_records(draw(command_streams(120)))
    batches = random_batches(draw, events)
    rearm_after = draw(st.lists(st.integers(0, len(batches)), max_size=2))
    return [draw(configs), draw(configs)], batches, rearm_after


@settings(max_examples=150, deadline=None)
@given(whole_runs())
def test_batches_of_records_give_what_the_events_give(
    run: tuple[list[RiskConfig], list[np.ndarray], list[int]],
) -> None:
    (config, later), batches, rearm_after = run
    old, old_sent, new, new_sent = both(config)
    old_names, new_names = Directory(), Directory()
    # the old reader decodes whole trades: decode the joined stream, cut where the batches are
    pending = np.zeros(0, L.EVENT_DTYPE)
    for i, batch in enumerate(batches):
        new.on_records(batch, new_names)
        joined = np.concatenate([pending, batch], dtype=L.EVENT_DTYPE)
        # a trailing maker record waits for its taker in the next batch
        cut = len(joined)
        if cut and joined["kind"][-1] == L.TRADE and not joined["flags"][-1] & L.TAKER:
            cut -= 1
        old.on_events(decode_events(joined[:cut], old_names))
        pending = joined[cut:]
        if i in rearm_after:
            for account in sorted(old.tripped):
                old.rearm(account)
                new.rearm(account)
            old.set_config(later)  # the limits change (a SetRiskLimits) with the rearm
            new.set_config(later)
        assert new_sent == old_sent
        assert full_state(new) == full_state(old)


def test_a_flip_through_flat_and_a_loss_trip_in_one_batch() -> None:
    lim, buy, sell = OrderType.LIMIT, Side.BUY, Side.SELL
    cmds: list[Command] = [
        NewOrder(1, "a", "X", buy, lim, 100, 3),
        NewOrder(2, "b", "X", sell, lim, 100, 3),  # a long 3 @100
        NewOrder(3, "a", "X", sell, lim, 104, 5),
        NewOrder(4, "c", "X", buy, lim, 104, 5),  # a short 2 @104, realised 12
        NewOrder(5, "d", "X", sell, lim, 90, 1),
        NewOrder(6, "b", "X", buy, lim, 90, 1),  # mark 90: b (short 3 @100, buys 1) gains
        NewOrder(7, "c", "X", sell, lim, 130, 1),
        NewOrder(8, "d", "X", buy, lim, 130, 1),  # mark 130: a loses
    ]
    events = event_records(cmds)
    config = RiskConfig(max_loss=40, kill_position=4)
    old, old_sent, new, new_sent = both(config)
    old.on_events(decode_events(events, Directory()))
    new.on_records(events, Directory())
    assert [k.why for k in new_sent] == [k.why for k in old_sent]
    assert len(new_sent) >= 2
    assert full_state(new) == full_state(old)
    a = new.book.get("a", "X")
    assert (a.qty, a.avg_price, a.realised) == (-2, 104, 12)


def test_long_seeded_stream_in_batches_of_whole_trades() -> None:
    rng = random.Random(13)
    events = event_records(random_stream(rng, 3000))
    assert (events["kind"] == L.TRADE).sum() > 500
    for config in (RiskConfig(kill_position=6), RiskConfig(max_loss=25, kill_position=9)):
        old, old_sent, new, new_sent = both(config)
        old.on_events(decode_events(events, Directory()))
        names = Directory()
        for batch in whole_trades(events, rng, 40):
            new.on_records(batch, names)
        assert new_sent == old_sent
        assert full_state(new) == full_state(old)


def test_records_of_another_dtype_are_refused() -> None:
    monitor = RiskMonitor(RiskConfig(), lambda k: None)
    try:
        monitor.on_records(np.zeros(2, L.INPUT_DTYPE), Directory())
    except TypeError as exc:
        assert "records: dtype must be EVENT_DTYPE" in str(exc)
    else:
        raise AssertionError("no TypeError")
