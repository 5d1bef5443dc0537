"""The trading day's schedule: when each symbol's phase changes (VENUE_RULES.md V-SES-1).

A symbol's schedule is a list of times of day, each with the phase the symbol
enters then, read in an IANA time zone (UTC by default), every day::

    [[symbols]]
    name = "ACME"
    timezone = "America/New_York"
    schedule = [
        { at = "08:00", phase = "PRE_OPEN" },
        { at = "09:28", phase = "OPENING_AUCTION" },
        { at = "09:30", phase = "CONTINUOUS" },
        { at = "15:55", phase = "CLOSING_AUCTION" },
        { at = "16:00", phase = "CLOSED" },
    ]

The core turns each transition into a ``SetPhase`` input when its time comes
(journalled like any input, so replay needs no schedule), and asserts the
scheduled phase once at start. Local times go through ``zoneinfo``: a time that
a daylight-saving change skips is taken in the offset before the change (02:30
on a night that jumps from 02:00 to 03:00 is 03:30), one it repeats happens the
first time (``fold`` 0). Every day is a trading day
(holidays are admin commands). Matching reads no clock: only the core does.

>>> s = SymbolSchedule.parse("ACME", "UTC", [("09:30", "CONTINUOUS"), ("16:00", "CLOSED")])
>>> day = 1_700_000_000 * 10**9  # 2023-11-14 22:13:20 UTC
>>> s.phase_at(day).value
'CLOSED'
>>> when, phase = s.next_after(day)
>>> phase.value, when - day
('CONTINUOUS', 40600000000000)
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ringmatch.engine.schema.commands import SetPhase
from ringmatch.engine.schema.enums import TradingPhase

_TIME = re.compile(r"([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?")
PHASES = ", ".join(p.value for p in TradingPhase)


@dataclass(frozen=True)
class SymbolSchedule:
    """One symbol's transitions: (time of day, phase), sorted, in ``zone``."""

    symbol: str
    zone: zoneinfo.ZoneInfo
    transitions: tuple[tuple[dt.time, TradingPhase], ...]

    @classmethod
    def parse(
        cls, symbol: str, timezone: str, entries: Iterable[tuple[str, str]]
    ) -> SymbolSchedule:
        """From config text; ValueError naming the entry (``schedule[2] at``) and the
        valid values."""
        try:
            zone = zoneinfo.ZoneInfo(timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"timezone = {timezone!r}: not an IANA time zone (e.g. UTC, "
                "America/New_York, Europe/London)"
            ) from None
        out: list[tuple[dt.time, TradingPhase]] = []
        for index, (at, phase) in enumerate(entries):
            m = _TIME.fullmatch(at)
            if m is None:
                raise ValueError(f"schedule[{index}] at = {at!r}: not a time of day HH:MM[:SS]")
            try:
                member = TradingPhase(phase)
            except ValueError:
                raise ValueError(
                    f"schedule[{index}] phase = {phase!r}: not a phase ({PHASES})"
                ) from None
            when = dt.time(int(m[1]), int(m[2]), int(m[3] or 0))
            if any(t == when for t, _ in out):
                raise ValueError(f"schedule[{index}] at = {at!r}: a second transition at then")
            out.append((when, member))
        out.sort(key=lambda t: t[0])
        return cls(symbol, zone, tuple(out))

    def _instants(self, day: dt.date) -> list[tuple[int, TradingPhase]]:
        """The day's transitions as ns since the epoch."""
        return [
            (_ns(dt.datetime.combine(day, t, self.zone)), phase) for t, phase in self.transitions
        ]

    def phase_at(self, ts_ns: int) -> TradingPhase | None:
        """The phase the schedule says for ``ts_ns``: the last transition at or before
        it (yesterday's if none today); None without transitions."""
        if not self.transitions:
            return None
        today = _local_date(ts_ns, self.zone)
        for day in (today, today - dt.timedelta(days=1)):
            past = [phase for when, phase in self._instants(day) if when <= ts_ns]
            if past:
                return past[-1]
        return self.transitions[-1][1]

    def next_after(self, ts_ns: int) -> tuple[int, TradingPhase]:
        """The first transition strictly after ``ts_ns``: (when, phase)."""
        if not self.transitions:
            raise ValueError(f"{self.symbol}: no schedule")
        today = _local_date(ts_ns, self.zone)
        for offset in range(3):
            for when, phase in self._instants(today + dt.timedelta(days=offset)):
                if when > ts_ns:
                    return when, phase
        raise AssertionError("a daily schedule always has a next transition")


class Schedule:
    """Every scheduled symbol's next transition: what the core sends, and when."""

    def __init__(
        self,
        symbols: Sequence[SymbolSchedule],
        now_ns: int,
        reference_prices: Mapping[str, int] | None = None,
    ) -> None:
        self.symbols = [s for s in symbols if s.transitions]
        # Each symbol's configured reference price: every SetPhase the schedule makes
        # carries it (the journal then holds it; V-AUC-2).
        self.reference_prices = dict(reference_prices or {})
        # The next transition of each symbol after ``now_ns`` (start: the current
        # phase is asserted separately, ``phases_at``).
        self._next = {s.symbol: s.next_after(now_ns) for s in self.symbols}
        self._by_name = {s.symbol: s for s in self.symbols}

    def __bool__(self) -> bool:
        return bool(self.symbols)

    def set_phase(self, symbol: str, phase: TradingPhase, ts_ns: int) -> SetPhase:
        """The input that moves ``symbol`` to ``phase`` at ``ts_ns``, its reference with it."""
        return SetPhase(symbol, phase, ts_ns, self.reference_prices.get(symbol))

    def phases_at(self, ts_ns: int) -> list[tuple[str, TradingPhase]]:
        """Each scheduled symbol's phase at ``ts_ns``, in the configuration's order."""
        out = []
        for s in self.symbols:
            phase = s.phase_at(ts_ns)
            if phase is not None:
                out.append((s.symbol, phase))
        return out

    def next_due(self) -> int | None:
        """When the next transition of any symbol is (ns), None without any."""
        return min((when for when, _ in self._next.values()), default=None)

    def due(self, now_ns: int) -> list[tuple[str, TradingPhase]]:
        """The transitions at or before ``now_ns`` not sent yet, in time order (then
        the configuration's); each symbol moves on to its next one. A core that slept
        through several of one symbol's sends only the last."""
        fired: list[tuple[int, int, str, TradingPhase]] = []
        for index, s in enumerate(self.symbols):
            when, phase = self._next[s.symbol]
            if when > now_ns:
                continue
            last = (when, phase)
            while last[0] <= now_ns:
                when, phase = last
                last = s.next_after(when)
            self._next[s.symbol] = last
            fired.append((when, index, s.symbol, phase))
        fired.sort()
        return [(symbol, phase) for _, _, symbol, phase in fired]


def _ns(moment: dt.datetime) -> int:
    delta = moment - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return (delta.days * 86_400 + delta.seconds) * 10**9 + delta.microseconds * 1000


def _local_date(ts_ns: int, zone: zoneinfo.ZoneInfo) -> dt.date:
    return dt.datetime.fromtimestamp(ts_ns // 10**9, zone).date()
