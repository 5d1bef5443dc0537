"""The post-trade risk consumer's brain: monitor, limits file, admin requests. No I/O of its own.

    service = RiskService(config_path, send_control)
    service.start()                         # sends the file's limits: SetRiskLimits
    service.on_events(events)               # every batch off the event ring
    service.handle({"op": "state"})         # an admin request (engine.process.admin_socket)
    service.reload()                        # SIGHUP: re-read the file, send SetRiskLimits
    with service.replaying(): ...           # journal replay at start: nothing is sent

Every change of limits goes to the core as a SetRiskLimits control input, so
it is journalled and replay applies the limits that were in force at each
point. A bad file is reported and changes nothing, anywhere.

Admin requests (JSON objects; every answer has ``ok``, and ``error`` when not ok):
- ``{"op": "state"}``: positions and P&L per account and symbol (in ticks,
  and in decimal prices with each symbol's tick size: RiskMonitor.state),
  tripped accounts, the kill switches this service has set, the limits in
  force, the known accounts, and ``seq``: the seq of the last event counted
  (0: none yet);
- ``{"op": "kill", "account": A or null, "on": true|false, "cancel_orders":
  true, "why": "..."}``: a kill switch through the core (null: the global one);
  switching an account's off also re-arms its post-trade limits. An account
  that is neither configured nor ever seen (by the core's directory or in a
  trade) is refused: ``unknown_account`` and ``known_accounts`` in the answer,
  nothing sent. ``answer`` (the admin socket's) also says what the core
  cancelled: see "Cancel counts".
- ``{"op": "reload"}``: as SIGHUP.
- ``{"op": "phase", "symbol": S, "phase": P}``: move a configured symbol to a
  trading phase (VENUE_RULES.md V-SES-1: a halt, a reopening through an auction,
  a close), a SetPhase through the control ring, journalled like the kill switch.
  The answer says it was sent; the core's PhaseChanged on the feed says it took.

Cancel counts. A kill that cancels makes the core run, under the kill's seq,
one MassCancel(reason KILL_SWITCH) per account (for the global switch: per
account holding resting orders), each ending in a MASS_CANCELLED event with
the count of orders it cancelled. Every KillSwitch reaches the core through
this service, in order, and the core answers them in that order, so the n-th
KILL_SWITCH mass cancel of account A on the event ring answers the n-th kill
of A sent from here (``_Ticket``). ``answer`` waits up to ``CONFIRM_WAIT``
seconds for it and reports its count (``cancelled``, ``confirmed: true``),
the core's own number. The global switch's answer sums the events of its seq;
it is complete once an event of a later input arrives, else when the wait
ends (``confirmed: false``: an account's orders cancelled after that are not
counted; no event at all means no account had resting orders, or the core
was slow).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

import msgspec
import numpy as np

from ringmatch.engine.records import layout as L
from ringmatch.engine.records.names import Directory
from ringmatch.engine.records.stream import event_seqs
from ringmatch.engine.schema.commands import ControlCommand, KillSwitch, SetPhase, SetRiskLimits
from ringmatch.engine.schema.enums import CancelReason, TradingPhase
from ringmatch.engine.schema.events import Event, MassCancelled
from ringmatch.risk import limits
from ringmatch.risk.limits import RiskConfig, RiskConfigError
from ringmatch.risk.monitor import RiskMonitor

log = logging.getLogger(__name__)

GLOBAL = "*"  # the global kill switch, in ``kill_switches``
CONFIRM_WAIT = 2.0  # s a kill's answer waits for the core's MASS_CANCELLED (gateway's 5 s)
KILL = CancelReason.KILL_SWITCH
KILL_CODE = L.CANCEL_REASON_CODE[KILL]


class _Ticket:
    """A kill sent with cancel_orders, until the core's MASS_CANCELLED events answer it."""

    __slots__ = ("account", "by_account", "done", "seq", "wake")

    def __init__(self, account: str | None) -> None:
        self.account = account  # None: the global switch
        self.seq = 0  # of its input, once an event of it is seen
        self.by_account: dict[str, int] = {}  # account -> orders its mass cancel cancelled
        self.done = False
        self.wake: Callable[[], None] | None = None  # answer's, while it waits

    def finish(self) -> None:
        self.done = True
        if self.wake is not None:
            self.wake()


class RiskService:
    def __init__(
        self,
        config_path: str | None,
        send_control: Callable[[ControlCommand | SetPhase], None],
        *,
        accounts: Iterable[str] = (),
        tick_sizes: Mapping[str, str] | None = None,
        names: Callable[[], Iterable[str]] = lambda: (),
    ) -> None:
        """``accounts``: the configured ones; ``tick_sizes``: symbol -> decimal string;
        ``names``: the accounts the core has named so far (its directory)."""
        self.config_path = config_path
        self._send = send_control
        config = RiskConfig() if config_path is None else limits.load_toml(config_path)
        self.monitor = RiskMonitor(config, self._kill_from_monitor)
        self.kill_switches: dict[str, str] = {}  # account (or GLOBAL) -> why, as set from here
        self._replaying = False
        self.seq = 0  # of the last event counted
        self.accounts = tuple(accounts)
        self.tick_sizes = {s: Decimal(t) for s, t in (tick_sizes or {}).items()}
        self._names = names
        self._tickets: deque[_Ticket] = deque()  # kills sent with cancel_orders, in order

    @property
    def config(self) -> RiskConfig:
        return self.monitor.config

    def start(self) -> None:
        self._send(SetRiskLimits(limits.encode(self.config)))

    def on_events(self, events: Sequence[Event]) -> None:
        self.monitor.on_events(events)
        if self._tickets:
            for ev in events:
                if type(ev) is MassCancelled and ev.reason is KILL:
                    self._mass_cancelled(ev.account, ev.count, ev.seq)
        if events:  # max: a seq-0 event (never sequenced) may come last
            self.seq = max(self.seq, events[-1].seq)
            self._later_than_global(self.seq)

    def on_records(self, records: np.ndarray, directory: Directory) -> None:
        """``on_events`` for a batch of event records, read as they are."""
        self.monitor.on_records(records, directory)
        if self._tickets:
            hits = np.flatnonzero(
                (records["kind"] == L.MASS_CANCELLED) & (records["reason"] == KILL_CODE)
            )
            for r in records[hits]:
                name = directory.accounts.name(int(r["account"]))
                self._mass_cancelled(name, int(r["qty"]), int(r["seq"]))
        seqs = event_seqs(records)
        if len(seqs):
            self.seq = max(self.seq, int(seqs.max()))
            self._later_than_global(self.seq)

    def _mass_cancelled(self, account: str, count: int, seq: int) -> None:
        """A KILL_SWITCH mass cancel's MASS_CANCELLED: to the ticket it answers."""
        tickets = self._tickets
        for i, ticket in enumerate(tickets):
            if ticket.done:
                continue
            if ticket.account is None:
                if ticket.seq in (0, seq):
                    ticket.seq = seq
                    ticket.by_account[account] = count
                    return
                ticket.finish()  # an event of a later input: that global kill is done
            elif ticket.account == account:
                ticket.by_account[account] = count
                ticket.finish()
                # The core answers in order: a kill before this one still unanswered
                # never reached it (logged by send_control); it gets no count.
                for _ in range(i):
                    tickets.popleft()
                break
        while tickets and tickets[0].done:
            tickets.popleft()

    def _later_than_global(self, seq: int) -> None:
        """Finish the global kills an event of a later input shows to be done."""
        while self._tickets and self._tickets[0].done:
            self._tickets.popleft()
        for ticket in self._tickets:
            if ticket.account is None and ticket.seq and seq > ticket.seq:
                ticket.finish()
        while self._tickets and self._tickets[0].done:
            self._tickets.popleft()

    def _kill_from_monitor(self, cmd: KillSwitch) -> None:
        assert cmd.account is not None
        self.kill_switches[cmd.account] = cmd.why
        if not self._replaying:  # replayed breaches were sent, and journalled, back then
            self._tickets.append(_Ticket(cmd.account))  # nobody waits: kept for the order
            self._send(cmd)

    @contextlib.contextmanager
    def replaying(self) -> Iterator[None]:
        """While rebuilding from the journal: track everything, send nothing."""
        self._replaying = True
        try:
            yield
        finally:
            self._replaying = False

    def note_kill(self, cmd: KillSwitch) -> None:
        """A journalled kill switch (replay): remember it as ``kill`` would have."""
        key = GLOBAL if cmd.account is None else cmd.account
        if cmd.on:
            self.kill_switches[key] = cmd.why or "admin"
        else:
            self.kill_switches.pop(key, None)
            if cmd.account is not None:
                self.monitor.rearm(cmd.account)

    def reload(self) -> str:
        """Re-read the limits file and send them; what happened (raises RiskConfigError)."""
        if self.config_path is None:
            raise RiskConfigError("no configuration file to reload")
        config = limits.load_toml(self.config_path)
        self.monitor.set_config(config)
        self._send(SetRiskLimits(limits.encode(config)))
        log.warning("risk: limits reloaded from %s", self.config_path)
        return f"limits reloaded from {self.config_path}"

    def known_accounts(self) -> list[str]:
        """Configured, named by the core, or holding a position: sorted."""
        return sorted({*self.accounts, *self._names(), *self.monitor.book.positions})

    def kill(
        self, account: str | None, on: bool, cancel_orders: bool = True, why: str = ""
    ) -> _Ticket | None:
        """Send the kill switch; the ticket its MASS_CANCELLED events will answer, if any."""
        key = GLOBAL if account is None else account
        if on:
            self.kill_switches[key] = why or "admin"
        else:
            self.kill_switches.pop(key, None)
            if account is not None:
                self.monitor.rearm(account)
        ticket = None
        if on and cancel_orders and not self._replaying:
            ticket = _Ticket(account)
            self._tickets.append(ticket)
        self._send(KillSwitch(account, on, cancel_orders, why or "admin"))
        return ticket

    def handle(self, request: Any) -> dict[str, Any]:
        """One admin request, answered at once; a bad one gets ``ok: false`` and why.

        A kill's answer here does not wait for the core: ``cancelled`` is null."""
        answer, _ = self._answer(request)
        return answer

    async def answer(self, request: Any, wait: float = CONFIRM_WAIT) -> dict[str, Any]:
        """``handle``, but a kill that cancels waits (up to ``wait`` s, on the running loop)
        for the core's MASS_CANCELLED events and answers their count."""
        answer, ticket = self._answer(request)
        if ticket is None:
            return answer
        woken = asyncio.Event()
        ticket.wake = woken.set
        if not ticket.done:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(woken.wait(), wait)
        ticket.wake = None
        if ticket.account is None and not ticket.done:
            # The wait is over: the global ticket must not take later kills' events.
            ticket.done = True
            answer.update(_counts(ticket), confirmed=False)
            return answer
        if ticket.done:
            answer.update(_counts(ticket), confirmed=True)
        return answer

    def _answer(self, request: Any) -> tuple[dict[str, Any], _Ticket | None]:
        try:
            return self._handle(request)
        except (RiskConfigError, OSError) as exc:
            return {"ok": False, "error": str(exc)}, None

    def _handle(self, request: Any) -> tuple[dict[str, Any], _Ticket | None]:
        if not isinstance(request, dict):
            return {"ok": False, "error": "a request is a JSON object with an op"}, None
        op = request.get("op")
        if op == "state":
            return {
                "ok": True,
                **self.monitor.state(self.tick_sizes),
                "kill_switches": dict(sorted(self.kill_switches.items())),
                "limits": msgspec.to_builtins(self.config),
                "known_accounts": self.known_accounts(),
                "tick_sizes": {s: str(t) for s, t in sorted(self.tick_sizes.items())},
                "seq": self.seq,
            }, None
        if op == "kill":
            account = request.get("account")
            on = request.get("on")
            if not (account is None or (isinstance(account, str) and account)):
                return {"ok": False, "error": "kill: account must be a name or null"}, None
            if not isinstance(on, bool):
                return {"ok": False, "error": "kill: on must be true or false"}, None
            cancel = request.get("cancel_orders", True)
            why = request.get("why", "")
            if not isinstance(cancel, bool) or not isinstance(why, str):
                return {"ok": False, "error": "kill: cancel_orders is a bool, why a string"}, None
            known = self.known_accounts()
            if account is not None and account not in known:
                listed = ", ".join(known) if known else "none"
                return {
                    "ok": False,
                    "error": f"kill: unknown account {account!r}; known accounts: {listed}",
                    "unknown_account": account,
                    "known_accounts": known,
                }, None
            ticket = self.kill(account, on, cancel, why)
            return {
                "ok": True,
                "account": account,
                "on": on,
                "cancel_orders": on and cancel,
                "cancelled": None,  # answer() fills it in from the core's events
                "confirmed": False,
                "why": (why or "admin") if on else "",
            }, ticket
        if op == "reload":
            return {"ok": True, "message": self.reload()}, None
        if op == "phase":
            return self._phase(request.get("symbol"), request.get("phase")), None
        return {"ok": False, "error": f"unknown op {op!r}: state, kill, reload or phase"}, None

    def _phase(self, symbol: object, phase: object) -> dict[str, Any]:
        symbols = sorted(self.tick_sizes)
        if not isinstance(symbol, str) or symbol not in self.tick_sizes:
            listed = ", ".join(symbols) if symbols else "none"
            return {"ok": False, "error": f"phase: unknown symbol {symbol!r}; symbols: {listed}"}
        try:
            member = TradingPhase(phase)
        except ValueError:
            valid = ", ".join(p.value for p in TradingPhase)
            return {"ok": False, "error": f"phase: {phase!r} is not a phase ({valid})"}
        self._send(SetPhase(symbol, member))
        return {"ok": True, "symbol": symbol, "phase": member.value, "message": (
            f"{symbol}: {member.value} sent to the core (journalled; the feed shows the change)"
        )}  # fmt: skip


def _counts(ticket: _Ticket) -> dict[str, Any]:
    return {
        "cancelled": sum(ticket.by_account.values()),
        "cancelled_by_account": dict(sorted(ticket.by_account.items())),
    }
