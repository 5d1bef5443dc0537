"""The kernel's compiled pre-trade stage against PreTradeRisk, on streams with limits.

The reference kernel runs ``risk.pretrade.PreTradeRisk`` (the specification)
in its stage chain, and takes SET_RISK_LIMITS as the core does: the msgpack
payload to the stage. The compiled kernel has its stage switched on and its
limits as data (``risk.kernel_limits.limits_table``), driven through
``engine.kernel.control_split.run_with_controls``, which decodes each
SET_RISK_LIMITS payload into a table right before its record. Limits sit near
the drawn prices and quantities, so that every check fires now and then.

The streams hold the venue's orders too (VENUE_RULES.md): stops and stop-limits
(held, triggered by the drawn trades, replaced while held, with no price or a
new trigger), icebergs, DAY and GTD orders (expired by rising timestamps and
CLOCKs), so the compiled stage is held to PreTradeRisk on them: a held stop is
an open order, a STOP's notional is at its band's far edge, an iceberg counts
its whole quantity. So are the venue model tests' streams
(tests/engine/venue_strategies.py), with limits and kill switches among them.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ringmatch.engine.core.reference_kernel import ReferenceKernel
from ringmatch.engine.kernel.control_split import control_starts, run_with_controls
from ringmatch.engine.kernel.event_buffer import EventBufferTooSmall
from ringmatch.engine.records import layout as L
from ringmatch.engine.records.convert import Encoder
from ringmatch.engine.records.names import Directory
from ringmatch.engine.schema.commands import (
    Cancel,
    Clock,
    Input,
    KillSwitch,
    NewOrder,
    Replace,
    SetRiskLimits,
)
from ringmatch.engine.schema.enums import OrderType, RejectReason, Side, StpMode, TimeInForce
from ringmatch.risk import limits
from ringmatch.risk.kernel_limits import limits_table
from ringmatch.risk.limits import AccountLimits, RiskConfig
from ringmatch.risk.pretrade import PreTradeRisk
from tests.engine import venue_strategies
from tests.kernel.differential import (
    assert_same_events,
    assert_same_state,
    compiled,
    examples,
)
from tests.kernel.record_streams import owners, record_streams
from tests.kernel.test_fuzz import fuzzed_records


def account_name(ident: int) -> str:
    # Names whose order is their ids' order (as tests/kernel/record_streams.py makes
    # them): PreTradeRisk takes a global kill switch's accounts by name, the kernel by id.
    return f"a{ident:08d}"


def symbol_name(ident: int) -> str:
    return f"s{ident:05d}"


ACCOUNTS = [account_name(k) for k in (1, 2, 3)]
SYMBOLS = [symbol_name(k) for k in (1, 2)]
MID = 100
LIMIT_RANGES = {
    "max_order_qty": (4, 20),
    "max_notional": (300, 2_000),
    "price_band_ticks": (0, 8),
    "price_band_bps": (0, 900),
    "max_open_orders": (1, 6),
    "max_position": (4, 40),
    # Post-trade: not the kernel's, but they make a LimitSet differ from none.
    "kill_position": (0, 10),
    "max_loss": (0, 10),
}


def directory() -> Directory:
    # The reference kernel names id k account_name(k) / symbol_name(k): the
    # configuration's names must be those for both kernels to see the same ids.
    return Directory(SYMBOLS, ACCOUNTS)


# Bands wide enough that a STOP's far edge is far from its reference.
WIDE = {**LIMIT_RANGES, "price_band_ticks": (4, 40), "price_band_bps": (400, 4_000)}


@st.composite
def limit_values(
    draw: st.DrawFn,
    *,
    open_orders: bool = True,
    always: tuple[str, ...] = (),
    ranges: dict[str, tuple[int, int]] = LIMIT_RANGES,
) -> dict[str, int]:
    out = {}
    for name, (lo, hi) in ranges.items():
        if name == "max_open_orders" and not open_orders:
            continue
        if name in always or draw(st.integers(0, 99)) < 40:
            out[name] = draw(st.integers(lo, hi))
    return out


@st.composite
def configs(
    draw: st.DrawFn,
    new_names: bool = True,
    accounts: tuple[str, ...] | list[str] = ACCOUNTS,
    symbols: tuple[str, ...] | list[str] = SYMBOLS,
    always: tuple[str, ...] = (),
    ranges: dict[str, tuple[int, int]] = LIMIT_RANGES,
) -> RiskConfig:
    """Limits for every account and symbol (``always``: those every account has, as
    defaults), overrides per account and per account x symbol now and then."""
    overrides = []
    for account in accounts:
        if draw(st.booleans()):
            overrides.append(AccountLimits(account=account, **draw(limit_values())))
        for symbol in symbols:
            if draw(st.integers(0, 99)) < 30:
                overrides.append(
                    AccountLimits(
                        account=account, symbol=symbol, **draw(limit_values(open_orders=False))
                    )
                )
    if new_names and draw(st.integers(0, 99)) < 10:
        # A name no directory knows yet: limits_table defines it (as id 4, which
        # these streams never define: no order names it).
        overrides.append(AccountLimits(account="acct-new", symbol="NEW", max_order_qty=1))
    order = draw(st.permutations(range(len(overrides))))
    defaults = draw(limit_values(always=always, ranges=ranges))
    return RiskConfig(**defaults, accounts=[overrides[k] for k in order])


def quantity(draw: st.DrawFn) -> int:
    # Now and then one matching rejects (the stage passes it on).
    return (
        draw(st.sampled_from([0, -1])) if draw(st.integers(0, 99)) < 4 else draw(st.integers(1, 24))
    )


STOP_KINDS = (OrderType.STOP, OrderType.STOP_LIMIT)
RESTING_TIFS = (None, TimeInForce.GTC, TimeInForce.DAY, TimeInForce.GTD)


def venue_order(draw: st.DrawFn, oid: int, account: str, ts: int) -> tuple[NewOrder, OrderType]:
    """A NEW of the venue's: a stop or stop-limit (trigger near the drawn prices), an
    iceberg, a DAY or GTD limit order; now and then one the engine rejects."""
    kind = draw(st.sampled_from(["stop", "stop_limit", "iceberg", "day", "gtd"]))
    qty = quantity(draw)
    price: int | None = draw(st.integers(MID - 12, MID + 12))
    tif = draw(st.sampled_from(RESTING_TIFS))
    trigger = display = expire = None
    otype = OrderType.LIMIT
    if kind in ("stop", "stop_limit"):
        otype = OrderType.STOP if kind == "stop" else OrderType.STOP_LIMIT
        if otype is OrderType.STOP and draw(st.integers(0, 99)) >= 4:
            price = None  # a STOP's: no price (one with a price is MARKET_WITH_PRICE)
        trigger = None if draw(st.integers(0, 99)) < 4 else draw(st.integers(MID - 14, MID + 14))
        if draw(st.integers(0, 99)) < 5:
            tif = TimeInForce.IOC  # STOP_NOT_HELD_TIF, after the stage (a stop is open)
    elif kind == "iceberg":
        display = draw(st.integers(1, max(1, qty)))
    else:
        tif = TimeInForce.DAY if kind == "day" else TimeInForce.GTD
    if tif is TimeInForce.GTD:
        expire = ts + draw(st.integers(-2, 60))  # now and then passed already
    cmd = NewOrder(
        oid,
        account,
        draw(st.sampled_from(SYMBOLS)),
        draw(st.sampled_from([Side.BUY, Side.SELL])),
        otype,
        price,
        qty,
        tif,
        False,
        draw(st.sampled_from([StpMode.NONE, StpMode.NONE, StpMode.DECREMENT])),
        ts,
        0,
        trigger,
        display,
        expire,
    )
    return cmd, otype


@st.composite
def risk_streams(draw: st.DrawFn, max_size: int = 70, venue: int = 30) -> list[Input]:
    """Orders near MID, cancels, replaces, kill switches and limits; ``venue`` percent
    of the NEWs the venue's (venue_order), with replaces of held stops and CLOCKs."""
    out: list[Input] = []
    ids: list[tuple[int, str]] = []
    types: dict[int, OrderType] = {}
    next_id = 1
    ts = 0
    for _ in range(draw(st.integers(1, max_size))):
        roll = draw(st.integers(0, 104))
        account = draw(st.sampled_from(ACCOUNTS))
        if venue:
            ts += draw(st.integers(0, 6))
        if roll < 60 or not ids:
            if draw(st.integers(0, 99)) < venue:
                cmd, types[next_id] = venue_order(draw, next_id, account, ts)
                out.append(cmd)
                ids.append((next_id, account))
                next_id += 1
                continue
            market = draw(st.integers(0, 99)) < 12
            tif = draw(
                st.sampled_from([None, None, TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK])
            )
            if market and tif not in (None, TimeInForce.IOC):
                tif = None
            out.append(
                NewOrder(
                    next_id,
                    account,
                    draw(st.sampled_from(SYMBOLS)),
                    draw(st.sampled_from([Side.BUY, Side.SELL])),
                    OrderType.MARKET if market else OrderType.LIMIT,
                    None if market else draw(st.integers(MID - 12, MID + 12)),
                    quantity(draw),
                    tif,
                    False,
                    draw(st.sampled_from([StpMode.NONE, StpMode.NONE, StpMode.DECREMENT])),
                    ts,
                )
            )
            ids.append((next_id, account))
            next_id += 1
        elif roll < 65:
            oid, owner = draw(st.sampled_from(ids))
            out.append(Cancel(oid, owner if draw(st.integers(0, 9)) else account, ts))
        elif roll < 82:
            oid, owner = draw(st.sampled_from(ids))
            price: int | None = draw(st.integers(MID - 12, MID + 12))
            trigger = None
            otype = types.get(oid, OrderType.LIMIT)
            if otype in STOP_KINDS and draw(st.integers(0, 99)) < 80:
                # A held stop's (if it is still held): a STOP's has no price (KEEP_PRICE);
                # a new trigger now and then.
                if otype is OrderType.STOP:
                    price = None
                if draw(st.booleans()):
                    trigger = draw(st.integers(MID - 14, MID + 14))
            elif venue and draw(st.integers(0, 99)) < 4:
                price = None  # no price on an order that needs one: INVALID_PRICE, after the stage
            out.append(
                Replace(
                    oid,
                    owner if draw(st.integers(0, 9)) else account,
                    price,
                    quantity(draw),
                    ts,
                    0,
                    trigger,
                )
            )
        elif roll < 88:
            out.append(
                KillSwitch(
                    None if draw(st.integers(0, 3)) == 0 else account,
                    draw(st.integers(0, 99)) < 40,
                    draw(st.booleans()),
                    draw(st.sampled_from(["", "desk"])),
                    ts,
                )
            )
        elif roll < 97:
            out.append(SetRiskLimits(limits.encode(draw(configs())), ts))
        elif roll < 100 or not venue:
            out.append(SetRiskLimits(b"\xc1 not msgpack", ts))  # kept: the old limits stay
        else:
            ts += draw(st.integers(0, 40))
            out.append(Clock(ts))  # expires the GTD orders due
    return out


def on_limits_of(names: Directory) -> Any:
    def on_limits(payload: bytes) -> np.ndarray | None:
        try:
            return limits_table(limits.decode(payload), names)
        except limits.RiskConfigError:
            return None  # PreTradeRisk keeps the old limits

    return on_limits


def run_controlled(kernel: Any, batch: np.ndarray, names: Directory, room: int) -> np.ndarray:
    """Every event of ``batch`` through run_with_controls, a buffer of ``room`` records
    grown only when EventBufferTooSmall says it must."""
    buffer = np.zeros(room, L.EVENT_DTYPE)
    parts = [np.zeros(0, L.EVENT_DTYPE)]
    at = 0
    on_limits = on_limits_of(names)
    while at < len(batch):
        try:
            consumed, written = run_with_controls(kernel, batch[at:], buffer, on_limits)
        except EventBufferTooSmall as small:
            buffer = np.zeros(small.need, L.EVENT_DTYPE)
            continue
        parts.append(buffer[:written].copy())
        at += consumed
    return np.concatenate(parts, dtype=L.EVENT_DTYPE)


def names_defined_in(records: np.ndarray) -> Directory:
    """The names a stream's DEFINEs give its ids, as the kernels take them.

    Arbitrary records define arbitrary names (or none): the limits table must be
    made through these, as the wiring makes it through the core's directory.
    Every input but the DEFINEs is blanked with its text (kind 0: skipped, no seq), so that
    no seq rule stops the scout before the last DEFINE.
    """
    scout_records = records.copy()
    starts = owners(records)
    for i, end in zip(starts, [*starts[1:], len(records)], strict=True):
        if records[i]["kind"] in L.INPUT_KINDS and records[i]["kind"] not in L.DEFINES:
            scout_records["kind"][i:end] = 0  # the input and its text records
    names = Directory()
    names.learn(ReferenceKernel().process(scout_records))
    return names


def both(
    config: RiskConfig, records: np.ndarray | None = None
) -> tuple[Any, ReferenceKernel, Directory]:
    names = directory() if records is None else names_defined_in(records)
    kernel = compiled()
    kernel.set_risk(True)
    kernel.set_limits(limits_table(config, names))
    reference = ReferenceKernel()
    reference.logic.pretrade = PreTradeRisk(config)
    return kernel, reference, names


def run(records: np.ndarray, cuts: list[int], config: RiskConfig, room: int) -> None:
    kernel, reference, names = both(config, records)
    bounds = [0, *sorted(set(cuts)), len(records)]
    for start, stop in itertools.pairwise(bounds):
        if start >= stop:
            continue
        batch = records[start:stop]
        try:
            want = reference.process(batch)
        except ValueError as refused:
            # A seq out of order: both refuse it, with the inputs before it applied.
            with pytest.raises(ValueError) as got:
                run_controlled(kernel, batch, names, room)
            assert str(got.value) == str(refused)
            assert_same_state(kernel, reference)
            return
        assert_same_events(run_controlled(kernel, batch, names, room), want)
        assert_same_state(kernel, reference)


@settings(max_examples=examples(150), deadline=None)
@given(st.data())
def test_pretrade_checks_give_the_same_events_and_books(data: st.DataObject) -> None:
    names = directory()
    body = Encoder(names).encode(data.draw(risk_streams()), first_seq=1)
    records = np.concatenate([names.define_records(), body], dtype=L.INPUT_DTYPE)
    starts = owners(records)
    cuts = data.draw(st.lists(st.sampled_from(starts), max_size=6))
    room = data.draw(st.sampled_from([4096, 4096, 3, 9]))
    run(records, cuts, data.draw(configs()), room)


@settings(max_examples=examples(150), deadline=None)
@given(st.data())
def test_stops_under_a_notional_cap_and_a_band_give_the_same_events(data: st.DataObject) -> None:
    # Mostly the venue's orders, under a notional cap and a price band by default:
    # where a STOP's notional (the band's far edge) decides, the held stops' counts,
    # the replaces of held stops with no price.
    # Each symbol trades first, at MID: a reference price from the start.
    names = directory()
    first: list[Input] = []
    for k, symbol in enumerate(SYMBOLS):
        first += [
            NewOrder(1_000 + 2 * k, ACCOUNTS[2], symbol, Side.SELL, OrderType.LIMIT, MID, 1),
            NewOrder(1_001 + 2 * k, ACCOUNTS[1], symbol, Side.BUY, OrderType.LIMIT, MID, 1),
        ]
    stream = first + data.draw(risk_streams(venue=70))
    body = Encoder(names).encode(stream, first_seq=1)
    records = np.concatenate([names.define_records(), body], dtype=L.INPUT_DTYPE)
    band = data.draw(st.sampled_from([("price_band_ticks",), ("price_band_bps",), ()]))
    config = data.draw(configs(always=("max_notional", *band), ranges=WIDE))
    run(records, [], config, 4096)


VENUE_SYMBOLS = sorted(venue_strategies.SYMBOLS)
VENUE_ACCOUNTS = sorted(venue_strategies.ACCOUNTS)  # id order is name order, as above


@st.composite
def venue_risk_streams(draw: st.DrawFn, phase_percent: int = 10) -> list[Input]:
    """The venue model tests' streams (phase changes and auctions too) with limits and
    kill switches among their inputs."""
    stream = draw(venue_strategies.venue_streams(max_size=90, phase_percent=phase_percent))
    out: list[Input] = []
    for cmd in stream:
        roll = draw(st.integers(0, 99))
        if roll < 8:
            config = draw(configs(False, VENUE_ACCOUNTS, VENUE_SYMBOLS))
            out.append(SetRiskLimits(limits.encode(config)))
        elif roll < 11:
            who = draw(st.sampled_from([None, *VENUE_ACCOUNTS]))
            on = draw(st.integers(0, 99)) < 40
            out.append(KillSwitch(who, on, draw(st.booleans())))
        out.append(cmd)
    return out


@settings(max_examples=examples(120), deadline=None)
@given(st.data())
def test_venue_streams_with_limits_give_the_same_events_and_books(data: st.DataObject) -> None:
    names = Directory(VENUE_SYMBOLS, VENUE_ACCOUNTS)
    # A phase move every fifth command: call books, waiting market orders and auction
    # trades under the stage's limits and kill switches.
    body = Encoder(names).encode(data.draw(venue_risk_streams(phase_percent=20)), first_seq=1)
    records = np.concatenate([names.define_records(), body], dtype=L.INPUT_DTYPE)
    starts = owners(records)
    cuts = data.draw(st.lists(st.sampled_from(starts), max_size=6))
    room = data.draw(st.sampled_from([4096, 4096, 3, 9]))
    run(records, cuts, data.draw(configs(False, VENUE_ACCOUNTS, VENUE_SYMBOLS)), room)


def stage_answers(stream: list[Input], config: RiskConfig) -> list[int]:
    """The reject reasons (codes) of ``stream``'s inputs through both kernels, which
    must agree on every event."""
    names = directory()
    records = np.concatenate(
        [names.define_records(), Encoder(names).encode(stream, first_seq=1)], dtype=L.INPUT_DTYPE
    )
    kernel, reference, _ = both(config)
    got = run_controlled(kernel, records, names, 64)
    assert_same_events(got, reference.process(records))
    assert_same_state(kernel, reference)
    rejected: list[int] = got[got["kind"] == L.REJECTED]["reason"].tolist()
    return rejected


def stop(
    oid: int, side: Side, qty: int, trigger: int | None, account: str = ACCOUNTS[0]
) -> NewOrder:
    return NewOrder(
        oid, account, SYMBOLS[0], side, OrderType.STOP, None, qty, trigger_price=trigger
    )


def code(reason: RejectReason) -> int:
    return L.REJECT_REASON_CODE[reason]


def test_a_stop_s_notional_is_at_its_band_s_far_edge_else_the_reference_else_its_trigger() -> None:
    a, b = ACCOUNTS[0], ACCOUNTS[1]
    trade = [
        NewOrder(1, b, SYMBOLS[0], Side.SELL, OrderType.LIMIT, 100, 1),
        NewOrder(2, a, SYMBOLS[0], Side.BUY, OrderType.LIMIT, 100, 1),  # last: 100
    ]
    # Band 5 ticks: a buy stop may fill at 105, a sell stop at 95; cap 1,000.
    banded = RiskConfig(max_notional=1_000, price_band_ticks=5)
    buy, sell = stop(3, Side.BUY, 10, 120), stop(4, Side.SELL, 10, 80)
    assert stage_answers([*trade, buy, sell], banded) == [code(RejectReason.RISK_MAX_NOTIONAL)]
    # No band: at the reference, 100 x 10 is the cap, not past it; 11 is.
    plain = RiskConfig(max_notional=1_000)
    assert stage_answers([*trade, stop(3, Side.BUY, 10, 120)], plain) == []
    assert stage_answers([*trade, stop(3, Side.BUY, 11, 120)], plain) == [
        code(RejectReason.RISK_MAX_NOTIONAL)
    ]
    # No reference (nothing traded, no two-sided book): at its trigger; none, unchecked.
    assert stage_answers([stop(3, Side.BUY, 10, 101)], plain) == [
        code(RejectReason.RISK_MAX_NOTIONAL)
    ]
    assert stage_answers([stop(3, Side.BUY, 10, 100)], plain) == []
    assert stage_answers([stop(3, Side.BUY, 10, None)], plain) == [
        code(RejectReason.INVALID_TRIGGER_PRICE)  # the engine's, after the stage passed it
    ]
    # A held stop's replace with no price is checked the same way, at its new trigger.
    held = [stop(3, Side.BUY, 5, 100), Replace(3, a, None, 10, trigger_price=101)]
    assert stage_answers(held, plain) == [code(RejectReason.RISK_MAX_NOTIONAL)]


def test_held_stops_and_icebergs_count_as_open_orders_and_position() -> None:
    a = ACCOUNTS[0]
    iceberg = NewOrder(
        2, a, SYMBOLS[0], Side.BUY, OrderType.LIMIT, 99, 8, display_qty=2
    )  # counts its whole 8
    orders = [stop(1, Side.BUY, 3, 105), iceberg]
    after = NewOrder(3, a, SYMBOLS[1], Side.BUY, OrderType.LIMIT, 99, 1, TimeInForce.DAY)
    assert stage_answers([*orders, after], RiskConfig(max_open_orders=2)) == [
        code(RejectReason.RISK_MAX_OPEN_ORDERS)
    ]
    more = NewOrder(3, a, SYMBOLS[0], Side.BUY, OrderType.LIMIT, 99, 1)
    assert stage_answers([*orders, more], RiskConfig(max_position=11)) == [
        code(RejectReason.RISK_MAX_POSITION)
    ]
    assert stage_answers([*orders, more], RiskConfig(max_position=12)) == []


@settings(max_examples=examples(60), deadline=None)
@given(record_streams(), configs(new_names=False))
def test_record_streams_with_the_stage_on(records: np.ndarray, config: RiskConfig) -> None:
    # Malformed fields, undefined ids, huge quantities and far prices (int64 at
    # its edges: the 128-bit sums and products) reach the stage too.
    run(records, [], config, 4096)


@settings(max_examples=examples(80), deadline=None)
@given(fuzzed_records(), st.lists(st.integers(0, 200), max_size=4), configs(new_names=False))
def test_arbitrary_records_with_the_stage_on(
    records: np.ndarray, cuts: list[int], config: RiskConfig
) -> None:
    # Cut anywhere, through an owner's text too; kill switches with any flags.
    run(records, [c for c in cuts if c < len(records)], config, 4096)


def test_control_starts_skip_text_records() -> None:
    names = directory()
    fake = b"\x06" + b"\x00" * 63  # a text record whose first byte is SET_RISK_LIMITS
    body = Encoder(names).encode(
        [KillSwitch(None, True, False, fake.decode()), SetRiskLimits(b"\x80")], first_seq=1
    )
    assert [int(body[i]["kind"]) for i in control_starts(body)] == [L.SET_RISK_LIMITS]
    assert len(control_starts(body)) == 1
    # A NEW flagged TERMS owns the record after it, whatever its first byte (a
    # malformed TERMS record: the NEW's INVALID_FIELD), as the kernel walks it.
    flagged = np.zeros(3, L.INPUT_DTYPE)
    flagged["kind"] = [L.NEW, L.SET_RISK_LIMITS, L.SET_RISK_LIMITS]
    flagged["flags"][0] = L.TERMS
    assert control_starts(flagged) == [2]


def test_a_kill_switch_cancels_in_ascending_account_order() -> None:
    names = directory()
    stream: list[Input] = [
        NewOrder(1, ACCOUNTS[2], SYMBOLS[0], Side.BUY, OrderType.LIMIT, 99, 1),
        NewOrder(2, ACCOUNTS[0], SYMBOLS[1], Side.SELL, OrderType.LIMIT, 101, 1),
        KillSwitch(None, True, True),
        NewOrder(3, ACCOUNTS[1], SYMBOLS[0], Side.BUY, OrderType.LIMIT, 99, 1),
        KillSwitch(None, False, False),
        NewOrder(4, ACCOUNTS[1], SYMBOLS[0], Side.BUY, OrderType.LIMIT, 99, 1),
    ]
    records = np.concatenate(
        [names.define_records(), Encoder(names).encode(stream, first_seq=1)], dtype=L.INPUT_DTYPE
    )
    kernel, reference, _ = both(RiskConfig())
    want = reference.process(records)
    got = run_controlled(kernel, records, names, 64)
    assert_same_events(got, want)
    cancelled = got[got["kind"] == L.CANCELLED]
    assert cancelled["account"].tolist() == [1, 3]
    rejected = got[got["kind"] == L.REJECTED]
    assert rejected["reason"].tolist() == [L.REJECT_REASON_CODE[RejectReason.KILL_SWITCH]]


def test_the_stage_off_leaves_kill_switches_their_seq_only() -> None:
    names = directory()
    stream: list[Input] = [
        NewOrder(1, ACCOUNTS[0], SYMBOLS[0], Side.BUY, OrderType.LIMIT, 99, 1),
        KillSwitch(None, True, True),
        NewOrder(2, ACCOUNTS[0], SYMBOLS[0], Side.BUY, OrderType.LIMIT, 99, 1),
    ]
    records = np.concatenate(
        [names.define_records(), Encoder(names).encode(stream, first_seq=1)], dtype=L.INPUT_DTYPE
    )
    kernel = compiled()
    kernel.set_limits(limits_table(RiskConfig(max_order_qty=0), names))
    reference = ReferenceKernel()
    assert_same_events(kernel.process(records), reference.process(records))
    assert kernel.resting_orders == 2


def test_thousands_of_live_orders_grow_the_stage_tables() -> None:
    # The hypothesis streams hold tens of orders; the stage's live-order table
    # grows (and shifts entries back on erase) only with many: the standard
    # workload's mix, limits that fire now and then.
    from ringmatch.benchmarks.workload import standard_workload
    from ringmatch.engine.records.convert import encode_commands

    records = encode_commands(standard_workload(6_000))
    config = RiskConfig(
        max_order_qty=95, max_open_orders=40, max_position=1_500, price_band_ticks=18
    )
    names = Directory(
        [symbol_name(k) for k in range(1, 9)], [account_name(k) for k in range(1, 101)]
    )
    kernel = compiled()
    kernel.set_risk(True)
    kernel.set_limits(limits_table(config, names))
    reference = ReferenceKernel()
    reference.logic.pretrade = PreTradeRisk(config)
    reasons = set()
    for start in range(0, len(records), 1_500):
        batch = records[start : start + 1_500]
        got = run_controlled(kernel, batch, names, 4096)
        assert_same_events(got, reference.process(batch))
        assert_same_state(kernel, reference)
        reasons.update(got[got["kind"] == L.REJECTED]["reason"].tolist())
    assert kernel.resting_orders > 1_000
    assert len(reasons) >= 3
