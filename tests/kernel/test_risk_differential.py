"""The kernel's compiled pre-trade stage against PreTradeRisk, on streams with limits.

The reference kernel runs ``risk.pretrade.PreTradeRisk`` (the specification)
in its stage chain, and takes SET_RISK_LIMITS as the core does: the msgpack
payload to the stage. The compiled kernel has its stage switched on and its
limits as data (``risk.kernel_limits.limits_table``), driven through
``engine.kernel.control_split.run_with_controls``, which decodes each
SET_RISK_LIMITS payload into a table right before its record. Limits sit near
the drawn prices and quantities, so that every check fires now and then.
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
from tests.kernel.differential import (
    assert_refuses_venue,
    assert_same_events,
    assert_same_state,
    compiled,
    examples,
    split_venue,
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


@st.composite
def limit_values(draw: st.DrawFn, *, open_orders: bool = True) -> dict[str, int]:
    out = {}
    for name, (lo, hi) in LIMIT_RANGES.items():
        if name == "max_open_orders" and not open_orders:
            continue
        if draw(st.integers(0, 99)) < 40:
            out[name] = draw(st.integers(lo, hi))
    return out


@st.composite
def configs(draw: st.DrawFn, new_names: bool = True) -> RiskConfig:
    overrides = []
    for account in ACCOUNTS:
        if draw(st.booleans()):
            overrides.append(AccountLimits(account=account, **draw(limit_values())))
        for symbol in SYMBOLS:
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
    return RiskConfig(**draw(limit_values()), accounts=[overrides[k] for k in order])


def quantity(draw: st.DrawFn) -> int:
    # Now and then one matching rejects (the stage passes it on).
    return (
        draw(st.sampled_from([0, -1])) if draw(st.integers(0, 99)) < 4 else draw(st.integers(1, 24))
    )


@st.composite
def risk_streams(draw: st.DrawFn, max_size: int = 70) -> list[Input]:
    out: list[Input] = []
    ids: list[tuple[int, str]] = []
    next_id = 1
    for _ in range(draw(st.integers(1, max_size))):
        roll = draw(st.integers(0, 99))
        account = draw(st.sampled_from(ACCOUNTS))
        if roll < 60 or not ids:
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
                )
            )
            ids.append((next_id, account))
            next_id += 1
        elif roll < 65:
            oid, owner = draw(st.sampled_from(ids))
            out.append(Cancel(oid, owner if draw(st.integers(0, 9)) else account))
        elif roll < 82:
            oid, owner = draw(st.sampled_from(ids))
            out.append(
                Replace(
                    oid,
                    owner if draw(st.integers(0, 9)) else account,
                    draw(st.integers(MID - 12, MID + 12)),
                    quantity(draw),
                )
            )
        elif roll < 88:
            out.append(
                KillSwitch(
                    None if draw(st.integers(0, 3)) == 0 else account,
                    draw(st.integers(0, 99)) < 40,
                    draw(st.booleans()),
                    draw(st.sampled_from(["", "desk"])),
                )
            )
        elif roll < 97:
            out.append(SetRiskLimits(limits.encode(draw(configs()))))
        else:
            out.append(SetRiskLimits(b"\xc1 not msgpack"))  # kept: the old limits stay
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
        batch, rest = split_venue(records[start:stop], staged=True)
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
        if rest is not None:
            assert_refuses_venue(kernel, reference, rest)
            return


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
