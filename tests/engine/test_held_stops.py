"""HeldStops against the scan it replaced: the same stops fire, in the same order."""

from __future__ import annotations

import doctest

from hypothesis import given, settings
from hypothesis import strategies as st

from ringmatch.engine.book import held_stops
from ringmatch.engine.book.book import RestingOrder
from ringmatch.engine.book.held_stops import HeldStops
from ringmatch.engine.schema.commands import NewOrder
from ringmatch.engine.schema.enums import OrderType, Side


def stop(oid: int, side: Side, trigger: int) -> RestingOrder:
    c = NewOrder(oid, "a", "X", side, OrderType.STOP, None, 1, trigger_price=trigger)
    return RestingOrder(1, 0, "a", c, trigger=trigger)


def scanned(held: dict[int, RestingOrder], low: int, high: int) -> list[int]:
    """What matching._triggered did before: every held stop, in release order."""
    return [
        oid
        for oid, o in held.items()
        if (o.trigger <= high if o.origin.side is Side.BUY else o.trigger >= low)
    ]


steps = st.lists(
    st.one_of(
        st.tuples(st.just("hold"), st.integers(1, 12), st.sampled_from(Side), st.integers(90, 110)),
        st.tuples(st.just("drop"), st.integers(1, 12)),
        st.tuples(st.just("print"), st.integers(85, 115), st.integers(0, 10)),
    ),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(steps)
def test_the_stops_a_print_fires_are_the_scan_s_in_release_order(ops: list[tuple]) -> None:
    held, model = HeldStops(), {}
    for op in ops:
        if op[0] == "hold":  # a new stop, or a replace that moves one (to the back)
            _, oid, side, trigger = op
            model.pop(oid, None)
            model[oid] = held_order = stop(oid, side, trigger)
            held[oid] = held_order
        elif op[0] == "drop" and op[1] in model:
            del model[op[1]]
            del held[op[1]]
        elif op[0] == "print":
            _, low, width = op
            fired = [o.origin.order_id for o in held.fired(low, low + width)]
            assert fired == scanned(model, low, low + width)
            for oid in fired:  # released: they leave the held set
                del model[oid]
                del held[oid]
        assert list(held) == list(model) and len(held) == len(model)


def test_the_module_s_example_runs() -> None:
    result = doctest.testmod(held_stops)
    assert (result.failed, result.attempted > 0) == (0, True)
