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
- ``{"op": "state"}``: positions and P&L per account and symbol, tripped
  accounts, the kill switches this service has set, the limits in force, and
  ``seq``: the seq of the last event counted (0: none yet);
- ``{"op": "kill", "account": A or null, "on": true|false, "cancel_orders":
  true, "why": "..."}``: a kill switch through the core (null: the global one);
  switching an account's off also re-arms its post-trade limits;
- ``{"op": "reload"}``: as SIGHUP.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import msgspec
import numpy as np

from ringmatch.engine.records.names import Directory
from ringmatch.engine.records.stream import event_seqs
from ringmatch.engine.schema.commands import ControlCommand, KillSwitch, SetRiskLimits
from ringmatch.engine.schema.events import Event
from ringmatch.risk import limits
from ringmatch.risk.limits import RiskConfig, RiskConfigError
from ringmatch.risk.monitor import RiskMonitor

log = logging.getLogger(__name__)

GLOBAL = "*"  # the global kill switch, in ``kill_switches``


class RiskService:
    def __init__(
        self, config_path: str | None, send_control: Callable[[ControlCommand], None]
    ) -> None:
        self.config_path = config_path
        self._send = send_control
        config = RiskConfig() if config_path is None else limits.load_toml(config_path)
        self.monitor = RiskMonitor(config, self._kill_from_monitor)
        self.kill_switches: dict[str, str] = {}  # account (or GLOBAL) -> why, as set from here
        self._replaying = False
        self.seq = 0  # of the last event counted

    @property
    def config(self) -> RiskConfig:
        return self.monitor.config

    def start(self) -> None:
        self._send(SetRiskLimits(limits.encode(self.config)))

    def on_events(self, events: Sequence[Event]) -> None:
        self.monitor.on_events(events)
        if events:  # max: a seq-0 event (never sequenced) may come last
            self.seq = max(self.seq, events[-1].seq)

    def on_records(self, records: np.ndarray, directory: Directory) -> None:
        """``on_events`` for a batch of event records, read as they are."""
        self.monitor.on_records(records, directory)
        seqs = event_seqs(records)
        if len(seqs):
            self.seq = max(self.seq, int(seqs.max()))

    def _kill_from_monitor(self, cmd: KillSwitch) -> None:
        assert cmd.account is not None
        self.kill_switches[cmd.account] = cmd.why
        if not self._replaying:  # replayed breaches were sent, and journalled, back then
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

    def kill(
        self, account: str | None, on: bool, cancel_orders: bool = True, why: str = ""
    ) -> None:
        key = GLOBAL if account is None else account
        if on:
            self.kill_switches[key] = why or "admin"
        else:
            self.kill_switches.pop(key, None)
            if account is not None:
                self.monitor.rearm(account)
        self._send(KillSwitch(account, on, cancel_orders, why or "admin"))

    def handle(self, request: Any) -> dict[str, Any]:
        """One admin request, answered; a bad one gets ``ok: false`` and why."""
        try:
            return self._handle(request)
        except (RiskConfigError, OSError) as exc:
            return {"ok": False, "error": str(exc)}

    def _handle(self, request: Any) -> dict[str, Any]:
        if not isinstance(request, dict):
            return {"ok": False, "error": "a request is a JSON object with an op"}
        op = request.get("op")
        if op == "state":
            return {
                "ok": True,
                **self.monitor.state(),
                "kill_switches": dict(sorted(self.kill_switches.items())),
                "limits": msgspec.to_builtins(self.config),
                "seq": self.seq,
            }
        if op == "kill":
            account = request.get("account")
            on = request.get("on")
            if not (account is None or (isinstance(account, str) and account)):
                return {"ok": False, "error": "kill: account must be a name or null"}
            if not isinstance(on, bool):
                return {"ok": False, "error": "kill: on must be true or false"}
            cancel = request.get("cancel_orders", True)
            why = request.get("why", "")
            if not isinstance(cancel, bool) or not isinstance(why, str):
                return {"ok": False, "error": "kill: cancel_orders is a bool, why a string"}
            self.kill(account, on, cancel, why)
            return {"ok": True}
        if op == "reload":
            return {"ok": True, "message": self.reload()}
        return {"ok": False, "error": f"unknown op {op!r}: state, kill or reload"}
