"""Hand-picked cases the differential tests reach only by luck, and the call's own errors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from ringmatch.engine.core.reference_kernel import ReferenceKernel
from ringmatch.engine.kernel.event_buffer import EventBufferTooSmall
from ringmatch.engine.records import layout as L
from ringmatch.engine.records.names import Directory
from ringmatch.engine.schema.enums import OrderType, RejectReason, TradingPhase
from ringmatch.risk.kernel_limits import limits_table
from ringmatch.risk.limits import RiskConfig
from ringmatch.risk.pretrade import PreTradeRisk
from tests.kernel.differential import assert_same_events, assert_same_state, compiled

INT64_MAX = (1 << 63) - 1
LIMIT = L.ORDER_TYPE_CODE[OrderType.LIMIT]


def new(seq: int, oid: int, account: int, side: int, price: int, qty: int, **more: int) -> Any:
    rec = np.zeros(1, L.INPUT_DTYPE)
    rec[0] = (L.NEW, side, LIMIT, 0, 0, 0, 0, 0, account, 1, oid, 0, price, qty, 0, seq)
    for name, value in more.items():
        rec[0][name] = value
    return rec


def stream(*records: Any) -> np.ndarray:
    defines = Directory(["S1"], ["A1", "A2"]).define_records()
    return np.concatenate([defines, *records], dtype=L.INPUT_DTYPE)


def both(records: np.ndarray) -> tuple[Any, ReferenceKernel, np.ndarray]:
    kernel, reference = compiled(), ReferenceKernel()
    got = kernel.process(records)
    assert_same_events(got, reference.process(records))
    assert_same_state(kernel, reference)
    return kernel, reference, got


def test_prices_far_apart_on_one_side_trade_best_first() -> None:
    # One ask near 100,000, others beyond any window (and at int64's edge); the
    # near one leaves, so the window re-centres on the next far price.
    asks = [(1, 100_000), (2, 100_000 + 10**9), (3, INT64_MAX), (4, 100_000 + 10**9 + 1), (5, 7)]
    records = [new(seq, oid, 1, 2, price, 5) for seq, (oid, price) in enumerate(asks, 1)]
    cancel = np.zeros(1, L.INPUT_DTYPE)
    cancel[0] = (L.CANCEL, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 6)
    more = new(7, 6, 1, 2, 100_000 + 10**9 + 2, 5)
    sweep = new(8, 7, 2, 1, 0, 22, order_type=2, tif=2)  # a market buy takes them in order
    kernel, _, events = both(stream(*records, cancel, more, sweep))
    trades = events[(events["kind"] == L.TRADE) & (events["flags"] == 0)]
    assert trades["order_id"].tolist() == [5, 2, 4, 6, 3]
    assert kernel.l3(1)["order_id"].tolist() == [3]


def test_quantities_near_int64_never_overflow() -> None:
    big = INT64_MAX - 1
    kernel, reference, _ = both(stream(new(1, 1, 1, 2, 100, big), new(2, 2, 1, 2, 100, big)))
    assert kernel.bbo(1).ask_qty == 2 * big  # a level's total is exact past int64
    events = kernel.process(new(3, 3, 2, 1, 100, INT64_MAX))
    assert_same_events(events, reference.process(new(3, 3, 2, 1, 100, INT64_MAX)))
    assert events["leaves"][1:].tolist() == [0, 1, big - 1, 0]  # maker, taker, maker, taker
    assert kernel.l3(1)["qty"].tolist() == [big - 1]


def test_a_batch_stops_before_an_input_that_might_not_fit() -> None:
    kernel = compiled()
    kernel.process(stream(*[new(s, s, 1, 2, 100, 1) for s in range(1, 6)]))
    sweep = new(6, 6, 2, 1, 100, 5)  # may meet 5 makers: 2 + 2 * 5 records
    tail = new(7, 7, 2, 1, 50, 1)
    events = np.zeros(12, L.EVENT_DTYPE)
    assert kernel.process_into(np.concatenate([sweep, tail], dtype=L.INPUT_DTYPE), events) == (
        1,
        11,
    )
    with pytest.raises(EventBufferTooSmall) as small:
        kernel.process_into(tail, np.zeros(1, L.EVENT_DTYPE))
    assert small.value.need == 2  # ACCEPTED, and a cancel at most: the asks are gone
    assert kernel.last_seq == 6


def test_a_seq_not_after_the_last_names_the_record_and_keeps_what_came_before() -> None:
    kernel = compiled()
    records = stream(new(5, 1, 1, 2, 100, 1), new(5, 2, 1, 2, 100, 1))
    with pytest.raises(
        ValueError, match=r"record 7: seq 5 is not after the last sequence number 5"
    ):
        kernel.process(records)
    assert kernel.last_seq == 5
    assert kernel.resting_orders == 1


def venue_input(kind: int, terms: bool = False, **fields: int) -> Any:
    rec = new(9, 9, 1, 1, 100, 1)
    rec[0]["kind"] = kind
    for name, value in fields.items():
        rec[0][name] = value
    if not terms:
        return rec
    rec[0]["flags"] |= L.TERMS
    record = np.zeros(1, L.INPUT_DTYPE)
    t = record.view(L.TERMS_DTYPE)[0]
    t["present"], t["trigger_price"] = L.HAS_TRIGGER, 99
    return np.concatenate([rec, record])


# The venue's inputs the compiled kernel once stopped at with the stage on: after a
# resting sell (id 1), a held STOP buy (id 9, trigger 99) and then each of these.
STAGED_VENUE = {
    "stop": venue_input(L.NEW, order_type=3, price=0, terms=True, order_id=8, seq=10),
    "day": venue_input(L.NEW, tif=4, order_id=8, seq=10),
    "terms": venue_input(L.NEW, terms=True, order_id=8, seq=10),
    "replace-trigger": venue_input(L.REPLACE, terms=True, qty=3, seq=10, flags=L.KEEP_PRICE),
    "replace-keep-price": venue_input(L.REPLACE, flags=L.KEEP_PRICE, qty=2, seq=10),
    "replace-plain": venue_input(L.REPLACE, price=101, qty=1, seq=10),  # of a venue order
    "halt": venue_input(L.SET_PHASE, reason=L.PHASE_CODE[TradingPhase.HALTED], seq=10),
}
CONFIGS = {
    "none": RiskConfig(),
    "open-orders": RiskConfig(max_open_orders=2),
    "notional-band": RiskConfig(max_notional=250, price_band_ticks=3),
    "position": RiskConfig(max_position=2),
}


@pytest.mark.parametrize("config", CONFIGS.values(), ids=CONFIGS.keys())
@pytest.mark.parametrize("record", STAGED_VENUE.values(), ids=STAGED_VENUE.keys())
def test_with_the_stage_on_the_venue_s_orders_are_answered_as_the_reference_does(
    record: Any, config: RiskConfig
) -> None:
    # The compiled stage checks them as PreTradeRisk does (the differential tests
    # compare every answer on drawn streams): here, one of each, under each limit.
    held = venue_input(L.NEW, order_type=3, price=0, terms=True)
    records = stream(new(5, 1, 1, 2, 100, 1), held, record, new(11, 2, 1, 2, 101, 1))
    kernel = compiled()
    kernel.set_risk(True)
    kernel.set_limits(limits_table(config, Directory(["S1"], ["A1", "A2"])))
    reference = ReferenceKernel()
    reference.logic.pretrade = PreTradeRisk(config)
    got = kernel.process(records)
    assert_same_events(got, reference.process(records))
    assert_same_state(kernel, reference)
    if config is CONFIGS["open-orders"]:  # the held stop is open: the order after it is not
        rejected = got[got["kind"] == L.REJECTED]
        assert L.REJECT_REASON_CODE[RejectReason.RISK_MAX_OPEN_ORDERS] in rejected["reason"]


@pytest.mark.parametrize("staged", [False, True])
def test_the_venue_s_orders_clocks_and_phases_run_with_the_stage_on_or_off(staged: bool) -> None:
    # A stop, a clock and a phase move: answered (the differential tests compare
    # every answer with the reference's).
    kernel = compiled()
    kernel.set_risk(staged)
    records = stream(
        new(5, 1, 1, 2, 100, 1),
        venue_input(L.NEW, order_type=3, price=0, terms=True),
        venue_input(L.CLOCK, ts_ns=5, seq=10),
        venue_input(L.SET_PHASE, reason=L.PHASE_CODE[TradingPhase.HALTED], seq=11),
    )
    events = kernel.process(records)
    kinds = events["kind"].tolist()
    # The stop is held; the clock says nothing; the halt is a call phase, which
    # publishes its indicative at once (V-AUC-4): nothing executable.
    assert kinds[-4:] == [L.ACCEPTED, L.ORDER_TERMS, L.PHASE_CHANGED, L.INDICATIVE]
    assert (events[-1]["price"], events[-1]["qty"]) == (0, 0)
    assert kernel.resting_orders == 2


def test_the_arrays_are_checked_once_per_call() -> None:
    kernel = compiled()
    events = np.zeros(4, L.EVENT_DTYPE)
    with pytest.raises(TypeError, match="INPUT_DTYPE"):
        kernel.process_into(np.zeros(2, L.EVENT_DTYPE), events)
    with pytest.raises(ValueError, match="C-contiguous"):
        kernel.process_into(np.zeros(4, L.INPUT_DTYPE)[::2], events)
    events.flags.writeable = False
    with pytest.raises(ValueError, match="writable"):
        kernel.process_into(np.zeros(1, L.INPUT_DTYPE), events)
    assert kernel.process_into(np.zeros(0, L.INPUT_DTYPE), np.zeros(1, L.EVENT_DTYPE)) == (0, 0)
