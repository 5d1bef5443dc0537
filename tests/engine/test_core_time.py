"""Time in the core (VENUE_RULES.md V-TIME-1): the core stamps each batch with its
clock, sends a Clock input when an expiry is due and nothing else comes, and sends
the schedule's transitions as SetPhase inputs, all journalled, so that recovery
reproduces every expiry and every phase without a clock.

The clock is the test's (``Core(clock=...)``): no sleeping, no wall time.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from ringmatch.engine.core.loop import Core
from ringmatch.engine.core.pipeline import PipelineRings, create_rings
from ringmatch.engine.core.recovery import recover_core
from ringmatch.engine.core.schedule import Schedule, SymbolSchedule
from ringmatch.engine.core.sequence import LocalSequence
from ringmatch.engine.core.stage_chain import CoreLogic
from ringmatch.engine.journal.log import JournalReader, JournalWriter
from ringmatch.engine.records.convert import Encoder
from ringmatch.engine.records.inputs import decode_inputs
from ringmatch.engine.records.names import Directory
from ringmatch.engine.rings.fan_in import FanIn
from ringmatch.engine.rings.spsc_ring import RingSpec, SpscRing
from ringmatch.engine.schema.commands import Clock, NewOrder, SetPhase
from ringmatch.engine.schema.enums import (
    CancelReason,
    OrderType,
    Side,
    TimeInForce,
    TradingPhase,
)
from ringmatch.engine.schema.events import Cancelled, PhaseChanged
from ringmatch.gateway.config import ConfigError, load, schedule_entries
from tests.engine.ring_records import EventTaker, put

NAMES = Directory(["X"], ["a"])
T0 = 1_700_000_000 * 10**9  # 2023-11-14 22:13:20 UTC


class FakeClock:
    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def rings() -> Iterator[PipelineRings]:
    r = create_rings("t" + uuid.uuid4().hex[:10], 1, [True], input_capacity=64)
    yield r
    r.close()


def make_core(
    rings: PipelineRings, data: Path, clock: FakeClock, run: object = None, **kw: object
) -> Core:
    sources = FanIn(
        [
            SpscRing.attach(RingSpec(rings.inputs[0].spec.name)),
            SpscRing.attach(RingSpec(rings.control.spec.name)),
        ]
    )
    core = Core(
        sources,
        LocalSequence(),
        JournalWriter(data),
        CoreLogic() if run is None else run,  # type: ignore[arg-type]
        rings.events,
        str(data),
        control_ring=1,
        snapshot_on_exit=False,
        clock=clock,
        **kw,  # type: ignore[arg-type]
    )
    core.define_names(NAMES.symbols.names(), NAMES.accounts.names())
    return core


def gtd(oid: int, expire_ts: int) -> NewOrder:
    return NewOrder(
        oid, "a", "X", Side.BUY, OrderType.LIMIT, 100, 5, tif=TimeInForce.GTD, expire_ts=expire_ts
    )


def test_each_batch_carries_the_core_s_time_never_going_back(
    rings: PipelineRings, tmp_path: Path
) -> None:
    clock = FakeClock(T0)
    gateway = rings.inputs[0].producer()
    core = make_core(rings, tmp_path, clock)
    put(gateway, [gtd(1, T0 + 10**9), gtd(2, T0 + 10**9)], NAMES)
    assert core.step(timeout=5.0) == 2
    clock.now = T0 - 5  # the wall clock stepped back (NTP): the core's time does not
    put(gateway, [gtd(3, T0 + 10**9)], NAMES)
    assert core.step(timeout=5.0) == 1
    core.close()
    got = [(seq, inp.ts_ns) for seq, inp in JournalReader(tmp_path)]  # type: ignore[attr-defined]
    assert got == [(1, T0), (2, T0), (3, T0)]
    gateway.close()


def test_an_idle_core_sends_a_clock_when_an_expiry_is_due_and_replay_agrees(
    rings: PipelineRings, tmp_path: Path
) -> None:
    clock = FakeClock(T0)
    gateway = rings.inputs[0].producer()
    take = EventTaker(rings.events.reader(0), NAMES)
    core = make_core(rings, tmp_path, clock)
    put(gateway, [gtd(1, T0 + 2 * 10**9), gtd(2, T0 + 3 * 10**9)], NAMES)
    assert core.step(timeout=5.0) == 2
    take()
    # Idle, before the first expiry: nothing to send, and the wait is cut to it.
    assert core.step(timeout=0) == 0
    assert core._until_due(60.0) == pytest.approx(2.0)
    clock.now = T0 + 2 * 10**9
    assert core.step(timeout=0) == 1  # the Clock
    assert take() == [
        Cancelled(3, 1, "a", "X", Side.BUY, 100, 5, CancelReason.EXPIRED),
    ]
    assert core.step(timeout=0) == 0  # once: the next expiry is not due
    clock.now = T0 + 10 * 10**9
    assert core.step(timeout=0) == 1
    assert [e.order_id for e in take() if isinstance(e, Cancelled)] == [2]
    assert core.step(timeout=0) == 0  # nothing left to expire: no Clock
    core.close()
    journal = list(JournalReader(tmp_path))
    assert [(seq, inp) for seq, inp in journal][2:] == [
        (3, Clock(T0 + 2 * 10**9)),
        (4, Clock(T0 + 10 * 10**9)),
    ]
    # Recovery from the journal alone (no clock) ends with both expired.
    logic, last_seq = recover_core(str(tmp_path))
    assert last_seq == 4
    assert logic.engine.l3("X") == []
    assert logic.engine.next_expiry() is None
    gateway.close()


def test_an_input_that_arrives_after_an_expiry_runs_it_itself(
    rings: PipelineRings, tmp_path: Path
) -> None:
    """No Clock is journalled when an input of the same turn carries the time."""
    clock = FakeClock(T0)
    gateway = rings.inputs[0].producer()
    take = EventTaker(rings.events.reader(0), NAMES)
    core = make_core(rings, tmp_path, clock)
    put(gateway, [gtd(1, T0 + 10**9)], NAMES)
    core.step(timeout=5.0)
    take()
    clock.now = T0 + 5 * 10**9
    put(gateway, [gtd(2, T0 + 9 * 10**9)], NAMES)
    assert core.step(timeout=5.0) == 1
    events = take()
    assert isinstance(events[0], Cancelled) and events[0].order_id == 1
    core.close()
    kinds = [type(inp).__name__ for _, inp in JournalReader(tmp_path)]
    assert kinds == ["NewOrder", "NewOrder"]
    gateway.close()


def test_the_schedule_s_transitions_are_sent_when_due(rings: PipelineRings, tmp_path: Path) -> None:
    clock = FakeClock(T0)  # 22:13:20 UTC
    take = EventTaker(rings.events.reader(0), NAMES)
    day = SymbolSchedule.parse(
        "X", "UTC", [("22:14", "CLOSING_AUCTION"), ("22:15", "CLOSED"), ("08:00", "PRE_OPEN")]
    )
    core = make_core(rings, tmp_path, clock, schedule=Schedule([day], T0))
    assert core._until_due(None) == pytest.approx(40.0)
    assert core.step(timeout=0) == 0
    clock.now = T0 + 41 * 10**9
    assert core.step(timeout=0) == 1
    events = take()
    assert events[0] == PhaseChanged(1, "X", TradingPhase.CLOSING_AUCTION, TradingPhase.CONTINUOUS)
    assert [type(e).__name__ for e in events[1:]] == ["Indicative"]  # a call phase
    # Asleep through 22:15 and 08:00: only the last one is sent.
    clock.now = T0 + 12 * 3600 * 10**9
    assert core.step(timeout=0) == 1
    assert [type(e) for e in take()][:1] == [PhaseChanged]
    core.close()
    got = [(inp.symbol, inp.phase) for _, inp in JournalReader(tmp_path)]  # type: ignore[attr-defined]
    assert got == [("X", TradingPhase.CLOSING_AUCTION), ("X", TradingPhase.PRE_OPEN)]


def test_phase_at_and_next_after_across_midnight_and_dst() -> None:
    s = SymbolSchedule.parse(
        "X", "America/New_York", [("09:30", "CONTINUOUS"), ("16:00", "CLOSED")]
    )
    ny = dt.datetime(2024, 3, 11, 12, 0, tzinfo=dt.UTC)  # 08:00 EDT, the day after DST began
    ts = int(ny.timestamp()) * 10**9
    assert s.phase_at(ts) is TradingPhase.CLOSED  # yesterday's 16:00
    when, phase = s.next_after(ts)
    assert phase is TradingPhase.CONTINUOUS
    assert dt.datetime.fromtimestamp(when / 1e9, dt.UTC) == dt.datetime(
        2024, 3, 11, 13, 30, tzinfo=dt.UTC
    )
    assert s.phase_at(when) is TradingPhase.CONTINUOUS
    assert s.phase_at(when - 1) is TradingPhase.CLOSED


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ('timezone = "Mars/Olympus"', "timezone = 'Mars/Olympus': not an IANA time zone"),
        (
            'schedule = [{ at = "9:30", phase = "CONTINUOUS" }]',
            "schedule[0] at = '9:30': not a time of day HH:MM[:SS]",
        ),
        (
            'schedule = [{ at = "09:30", phase = "LUNCH" }]',
            "schedule[0] phase = 'LUNCH': not a phase (PRE_OPEN, OPENING_AUCTION, CONTINUOUS,",
        ),
        (
            'schedule = [{ at = "09:30", phase = "CLOSED" }, { at = "09:30", phase = "HALTED" }]',
            "schedule[1] at = '09:30': a second transition at then",
        ),
        ('schedule = [{ at = "09:30" }]', "phase"),
        (
            'schedule = [{ at = "09:30", phase = "CONTINUOUS" }]\nreference_price = 0',
            "reference_price = 0: not a price in ticks > 0",
        ),
        (
            "reference_price = 10000",
            "reference_price: the symbol has no schedule, and the reference price rides",
        ),
        ('reference_price = "100.5"', "reference_price"),
    ],
)
def test_a_bad_schedule_is_a_config_error_naming_the_key(
    tmp_path: Path, entry: str, message: str
) -> None:
    path = tmp_path / "ringmatch.toml"
    path.write_text(f'[[symbols]]\nname = "X"\n{entry}\n')
    with pytest.raises(ConfigError) as err:
        load(path)
    assert str(path) in str(err.value)
    assert message in str(err.value)
    assert "symbols" in str(err.value)


def test_a_good_schedule_loads_as_the_core_takes_it(tmp_path: Path) -> None:
    path = tmp_path / "ringmatch.toml"
    path.write_text(
        '[[symbols]]\nname = "X"\ntimezone = "Europe/London"\n'
        'schedule = [{ at = "16:30", phase = "CLOSED" },\n'
        '  { at = "08:00:30", phase = "CONTINUOUS" }]\n'
    )
    symbol = load(path).symbols[0]
    assert schedule_entries(symbol) == [("16:30", "CLOSED"), ("08:00:30", "CONTINUOUS")]
    parsed = SymbolSchedule.parse(symbol.name, symbol.timezone, schedule_entries(symbol))
    assert [(t.isoformat(), p.value) for t, p in parsed.transitions] == [
        ("08:00:30", "CONTINUOUS"),
        ("16:30:00", "CLOSED"),
    ]


def test_every_scheduled_set_phase_carries_the_configured_reference_price(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ringmatch.toml"
    path.write_text(
        '[[symbols]]\nname = "X"\nreference_price = 10050\n'
        'schedule = [{ at = "09:28", phase = "OPENING_AUCTION" }, '
        '{ at = "09:30", phase = "CONTINUOUS" }]\n'
        '[[symbols]]\nname = "Y"\nschedule = [{ at = "09:30", phase = "CONTINUOUS" }]\n'
    )
    config = load(path)
    assert [s.reference_price for s in config.symbols] == [10050, None]
    schedule = Schedule(
        [SymbolSchedule.parse(s.name, s.timezone, schedule_entries(s)) for s in config.symbols],
        T0,
        {s.name: s.reference_price for s in config.symbols if s.reference_price is not None},
    )
    assert schedule.set_phase("X", TradingPhase.OPENING_AUCTION, 5) == SetPhase(
        "X", TradingPhase.OPENING_AUCTION, 5, 10050
    )
    assert schedule.set_phase("Y", TradingPhase.CONTINUOUS, 5).reference_price is None
    # Through records and the journal the reference rides on the SET_PHASE's price.
    records = Encoder(Directory(["X"], [])).encode(
        [schedule.set_phase("X", TradingPhase.HALTED, 5)]
    )
    assert [inp for _, inp in decode_inputs(records, Directory(["X"], []))] == [
        SetPhase("X", TradingPhase.HALTED, 5, 10050)
    ]


def test_a_schedule_is_parsed_at_start_and_a_bad_time_refuses_it(tmp_path: Path) -> None:
    from ringmatch.engine.core.pipeline import CoreConfig, StartRefused, _schedule

    config = CoreConfig(
        data_dir=str(tmp_path),
        input_rings=[],
        event_ring="e",
        schedules=[("X", "UTC", [("09:30", "CONTINUOUS")])],
    )
    schedule = _schedule(config)
    assert schedule is not None and schedule.next_due() is not None
    bad = msgspec.structs.replace(config, schedules=[("X", "UTC", [("25:00", "CLOSED")])])
    with pytest.raises(StartRefused, match=r"\[\[symbols\]\] 'X': schedule\[0\] at = '25:00'"):
        _schedule(bad)


def test_an_admin_set_phase_comes_on_the_control_ring_only(
    rings: PipelineRings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from ringmatch.engine.schema.commands import SetPhase

    clock = FakeClock(T0)
    take = EventTaker(rings.events.reader(0), NAMES)
    gateway, control = rings.inputs[0].producer(), rings.control.producer()
    core = make_core(rings, tmp_path, clock)
    put(gateway, [SetPhase("X", TradingPhase.HALTED)], NAMES)
    assert core.step(timeout=5.0) == 1
    assert take() == []
    assert "dropped a control input from a gateway" in caplog.text
    put(control, [SetPhase("X", TradingPhase.HALTED)], NAMES)
    assert core.step(timeout=5.0) == 1
    assert take()[0] == PhaseChanged(1, "X", TradingPhase.HALTED, TradingPhase.CONTINUOUS)
    core.close()
    assert [(seq, inp) for seq, inp in JournalReader(tmp_path)] == [
        (1, SetPhase("X", TradingPhase.HALTED, T0))
    ]
    gateway.close()
    control.close()


@pytest.mark.parametrize("staged", [False, True])
def test_a_set_phase_for_the_compiled_kernel_is_journalled_and_run(
    rings: PipelineRings, tmp_path: Path, caplog: pytest.LogCaptureFixture, staged: bool
) -> None:
    # With its pre-trade stage on or off, as for the reference kernel.
    from ringmatch.engine.core import kernel_choice
    from ringmatch.engine.core.journal_run import JournalRun
    from ringmatch.engine.schema.commands import SetPhase
    from tests.conftest import need

    module = kernel_choice.compiled_module()
    need(module is not None, "the compiled kernel was not built")
    assert module is not None
    kernel = module.Kernel()
    kernel.set_risk(staged)
    take = EventTaker(rings.events.reader(0), NAMES)
    gateway, control = rings.inputs[0].producer(), rings.control.producer()
    core = make_core(rings, tmp_path, FakeClock(T0), JournalRun(kernel, Directory(), str(tmp_path)))
    put(control, [SetPhase("X", TradingPhase.HALTED)], NAMES)
    assert core.step(timeout=5.0) == 1
    put(gateway, [NewOrder(1, "a", "X", Side.BUY, OrderType.LIMIT, 100, 5)], NAMES)
    assert core.step(timeout=5.0) == 1
    events = [type(e).__name__ for e in take()]
    core.close()
    assert "dropped" not in caplog.text
    # Halted: the call phase publishes its indicative (nothing executable), and the
    # order rests in the call book, which leaves it so: no second one.
    assert events == ["PhaseChanged", "Indicative", "Accepted"]
    assert [type(inp).__name__ for _, inp in JournalReader(tmp_path)] == ["SetPhase", "NewOrder"]
    gateway.close()
    control.close()


def test_with_the_compiled_stage_on_a_venue_order_is_journalled_and_checked(
    rings: PipelineRings, tmp_path: Path
) -> None:
    # The compiled kernel's pre-trade stage checks the venue's orders as PreTradeRisk
    # does: a GTD order is journalled, run, and counts as an open order (so the
    # plain order after it is past the limit of two), exactly as the reference kernel
    # with PreTradeRisk answers the journalled stream.
    from ringmatch.engine.core import kernel_choice
    from ringmatch.engine.core.journal_run import JournalRun
    from ringmatch.engine.core.reference_kernel import ReferenceKernel
    from ringmatch.engine.records.convert import decode_events
    from ringmatch.engine.schema.enums import RejectReason
    from ringmatch.engine.schema.events import Accepted, Rejected
    from ringmatch.risk.kernel_limits import limits_table
    from ringmatch.risk.limits import RiskConfig
    from ringmatch.risk.pretrade import PreTradeRisk
    from tests.conftest import need

    module = kernel_choice.compiled_module()
    need(module is not None, "the compiled kernel was not built")
    assert module is not None
    config = RiskConfig(max_open_orders=2)
    kernel = module.Kernel()
    kernel.set_risk(True)
    kernel.set_limits(limits_table(config, NAMES))
    take = EventTaker(rings.events.reader(0), NAMES)
    gateway = rings.inputs[0].producer()
    core = make_core(rings, tmp_path, FakeClock(T0), JournalRun(kernel, Directory(), str(tmp_path)))
    plain = [NewOrder(k, "a", "X", Side.BUY, OrderType.LIMIT, 100, 5) for k in (1, 3)]
    put(gateway, [plain[0], gtd(2, T0 + 10**9), plain[1]], NAMES)
    taken = core.step(timeout=5.0)  # one turn may take all three, or fewer
    for _ in range(2):
        if taken < 3:
            taken += core.step(timeout=5.0)
    assert taken == 3
    events = take()
    assert [(type(e).__name__, e.order_id) for e in events] == [
        ("Accepted", 1),
        ("Accepted", 2),
        ("Rejected", 3),
    ]
    assert isinstance(events[1], Accepted) and events[1].tif is TimeInForce.GTD
    assert isinstance(events[2], Rejected)
    assert events[2].reason is RejectReason.RISK_MAX_OPEN_ORDERS
    core.close()
    assert [inp.order_id for _, inp in JournalReader(tmp_path)] == [1, 2, 3]  # type: ignore[attr-defined]
    reference = ReferenceKernel()
    reference.logic.pretrade = PreTradeRisk(config)
    journalled = [b.records for b in JournalReader(tmp_path).record_batches()]
    want = [reference.process(records) for records in journalled]
    assert [e for part in want for e in decode_events(part, Directory(["X"], ["a"]))] == events
    gateway.close()
