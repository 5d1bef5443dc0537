"""A gateway worker: its sessions, the core link, and the reports between them.

    session bytes ──orders_to_inputs──▶ OrderIntake ──(once per loop turn)──▶ link.submit_records
    link ──event records──▶ ReportRouter ──events_to_slot_bytes──▶ every session of the account

Requests become input records in compiled code, a run of messages per call
(gateway/wire); the records of all sessions are gathered during one turn of
the event loop and submitted as one batch. Event records are routed by their
account field: those of accounts with no session here are skipped unread, the
rest become one buffer of reports per account per batch (one transport write
per session). A throttled session's requests take the protocol's Structs
(each one counted against its rate), then the same records.

Sessions are the core's business too: the worker sends WorkerStarted when it
starts, SessionOpened at each logon and SessionClosed when a logged-on session
ends (however it ends, including the worker's own shutdown), in the same input
stream as the commands. The core counts each account's sessions across every
worker and runs cancel-on-disconnect when the last one ends (ringmatch.engine.core.sessions).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import itertools
import logging
import time
from collections import Counter
from typing import Any

import numpy as np

from ringmatch.engine.schema.commands import (
    GatewayInput,
    SessionClosed,
    SessionOpened,
    WorkerStarted,
)
from ringmatch.engine.schema.enums import RejectReason
from ringmatch.gateway.config import Config
from ringmatch.gateway.protocol.messages import (
    PROTOCOL_VERSIONS,
    Cancel,
    ExecType,
    ExecutionReport,
    Logon,
    LogonAccepted,
    LogonRejected,
    MessageReject,
    NewOrder,
    Replace,
    RiskQuery,
    RiskState,
    ServerMessage,
    SymbolDirectory,
    Synced,
)
from ringmatch.gateway.server.core_link import CoreLink
from ringmatch.gateway.server.latency_probe import LatencyProbe
from ringmatch.gateway.server.order_intake import OrderIntake, wire_symbol_ids
from ringmatch.gateway.server.report_routing import ReportRouter
from ringmatch.gateway.server.session import Session
from ringmatch.gateway.server.translate import Request, to_command
from ringmatch.gateway.wire.wire_choice import conversion

log = logging.getLogger("ringmatch.gateway")

_NO_TOKEN = b"\x00" * 32  # compared against for an unknown account, so timing says nothing
_THROTTLED = RejectReason.THROTTLED.value
_VERSIONS = " or ".join(map(str, PROTOCOL_VERSIONS))


class Worker:
    def __init__(
        self,
        config: Config,
        link: CoreLink,
        risk_socket: str | None = None,
        worker_id: int = 0,
        start_seq: int = 0,
    ) -> None:
        self.config = config
        self.link = link
        # RINGMATCH_LATENCY_PROBE=1: time each order from its frame in to its first report out
        self.probe = LatencyProbe.from_env(config.server.data_dir)
        self.worker_id = worker_id  # k of k in 0..workers-1: its input ring is the core's ring k
        self.risk_socket = risk_socket  # the risk process's admin socket (None: no risk process)
        self.admins = frozenset(a.name for a in config.accounts if a.admin)
        self.symbols = config.symbol_names()
        # The wire's symbol ids: position + 1 in the configured list, sent at every logon.
        self.symbol_list = [s.name for s in config.symbols]
        self.symbol_directory = tuple(
            SymbolDirectory(i, n) for i, n in enumerate(self.symbol_list, 1)
        )
        self.tokens = {a.name: a.token.encode() for a in config.accounts}
        # The core's ids of every configured name: records carry ids, never names.
        self.names = names = link.names(config)
        self.conversion = conversion()  # compiled where it was built (gateway/wire)
        symbol_ids = wire_symbol_ids(names, config)
        self.intake = OrderIntake(names, symbol_ids, self.conversion, config.session.max_frame)
        self.router = ReportRouter(names, symbol_ids, self.conversion)
        self.sessions: set[Session] = set()
        self.stats: Counter[str] = Counter()
        self._session_ids = itertools.count(1)
        self._flush_due = False
        self._closed = False
        # Of the newest event passed on; at start the core's recovered seq (the event
        # ring is new with each serve and carries on after it).
        self.last_seq = start_seq
        self._syncs: list[tuple[int, Session]] = []  # parked until last_seq reaches them
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ticker: asyncio.TimerHandle | None = None

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        if hasattr(self.link, "on_congested"):
            self.link.on_congested = self._congested
        self.link.start(loop, self.on_events)
        # First on the ring: sessions the core still counts for this worker are a past run's.
        self._queue(WorkerStarted(self.worker_id, self.config.server.workers, time.time_ns()))
        self._tick()

    def _tick(self) -> None:
        assert self._loop is not None
        now = time.monotonic()
        for session in list(self.sessions):
            session.tick(now)
        s = self.config.session
        self._ticker = self._loop.call_later(min(s.heartbeat_s, s.timeout_s) / 4, self._tick)

    # --- sessions ----------------------------------------------------------------------------

    def session_opened(self, session: Session) -> None:
        self.sessions.add(session)
        self.stats["connections"] += 1

    def logon(self, session: Session, logon: Logon) -> None:
        expected = self.tokens.get(logon.account)
        # Constant time: the comparison takes as long for a wrong first byte as a wrong last.
        same = hmac.compare_digest(logon.token.encode(), expected or _NO_TOKEN)
        ok = same and expected is not None
        if logon.protocol_version not in PROTOCOL_VERSIONS:
            why = f"protocol version {logon.protocol_version} not supported (use {_VERSIONS})"
        elif not ok:
            why = "unknown account or wrong token"
        else:
            why = ""
        if why:
            self.stats["logons_rejected"] += 1
            session.send(LogonRejected(why))
            session.close_later(self.config.session.logon_reject_delay_s)
            return
        account = logon.account
        session.account = account
        session.admin = account in self.admins
        session.cancel_on_disconnect = cod = logon.cancel_on_disconnect
        session.session_id = sid = next(self._session_ids)
        session.account_id = self.names.accounts.get(account)
        self.router.add(session, session.account_id, session.conn.version)
        # Before any of the session's requests, on the same ring: the core counts it first.
        self._queue(SessionOpened(account, self.worker_id, sid, cod, time.time_ns()))
        s = self.config.session
        directory = self.symbol_directory
        accepted = LogonAccepted(
            account, s.heartbeat_s, s.timeout_s, self.worker_id, sid, len(directory)
        )
        session.send_many([accepted, *directory])  # one write: the session is ACTIVE after it

    def session_closed(self, session: Session) -> None:
        if self.probe is not None:
            self.probe.closed(session)
        self.sessions.discard(session)
        self._syncs = [(seq, s) for seq, s in self._syncs if s is not session]
        account = session.account
        if account is None:
            return
        if not self.router.remove(session, session.account_id, session.conn.version):
            return  # never logged on, or already closed to the core (shutdown)
        # The core decides whether this was the account's last session anywhere.
        self._queue(SessionClosed(account, self.worker_id, session.session_id, time.time_ns()))

    def _congested(self, congested: bool) -> None:
        """The core is behind: stop reading the sessions until it catches up."""
        for session in self.sessions:
            if session.transport is not None and not session.transport.is_closing():
                if congested:
                    session.transport.pause_reading()
                else:
                    session.transport.resume_reading()

    # --- requests to the core ----------------------------------------------------------------

    def request(self, session: Session, request: Request) -> None:
        assert session.account is not None
        command = to_command(request, session.account, self.symbols)
        if type(command) is MessageReject:
            self.stats["requests_rejected"] += 1
            session.send(command)
            return
        assert not isinstance(command, MessageReject)
        if not self._queue(command):  # logged: no record carries it (a config mismatch)
            if not self._closed:
                cid = getattr(request, "client_order_id", 0)
                why = "no input record can carry it (the server's log says why)"
                session.send(MessageReject(type(request).__name__, "message", why, cid))
            return
        if self.probe is not None:
            self.probe.received(session, request)

    def take_wire(self, session: Session, data: memoryview) -> int:
        """The requests at the start of ``data``, from ``session``: records for the core,
        MessageRejects for bad ones; how many bytes they were."""
        if self._closed:
            return 0
        consumed, records, rejects = self.intake.take_wire(
            session.account_id, data, session.conn.codec
        )
        if len(records):
            self._due()
            if self.probe is not None:
                self.probe.received_records(session, records)
        if rejects:
            self.stats["requests_rejected"] += len(rejects)
            session.send_many(rejects)
        return consumed

    def throttled(self, session: Session, request: Any) -> None:
        """Answer a request over the session's rate: rejected here, the core never sees it."""
        self.stats["throttled"] += 1
        kind = type(request)
        answer: ServerMessage
        if kind is RiskQuery:
            rate = self.config.session.max_msgs_per_s
            answer = RiskState(request.request_id, False, f"{_THROTTLED}: over {rate} requests/s")
        elif kind is NewOrder:
            answer = _reject(request.client_order_id, "NEW", request.symbol, request)
        elif kind is Replace:
            answer = _reject(request.client_order_id, "REPLACE", "", request)
        elif kind is Cancel:
            answer = _reject(request.client_order_id, "CANCEL", "", None)
        else:  # MassCancel
            answer = _reject(0, "MASS_CANCEL", request.symbol or "", None)
        session.send(answer)

    def risk_query(self, session: Session, query: RiskQuery) -> None:
        """Ask the risk process for an admin session; the answer comes back as a RiskState."""
        if not session.admin:
            why = f"account {session.account!r} is not an admin account (admin = true in config)"
            session.send(RiskState(query.request_id, False, why))
            return
        if self.risk_socket is None:
            session.send(RiskState(query.request_id, False, "no risk process in this server"))
            return
        request: dict[str, Any] = {"op": query.op}
        if query.op == "kill":
            request.update(
                account=query.account, on=query.on, cancel_orders=query.cancel_orders, why=query.why
            )
        assert self._loop is not None
        # The admin socket is a blocking client: keep it off the loop every session shares.
        future = self._loop.run_in_executor(None, _ask_risk, self.risk_socket, request)
        future.add_done_callback(lambda done: _answer_risk(session, query.request_id, done))

    def _queue(self, command: GatewayInput) -> bool:
        """Records for ``command`` in this turn's batch; False if it cannot have any."""
        if self._closed:
            return False  # the link is closed: what a closing session would say is sent
        self._due()
        return self.intake.add(command)

    def _due(self) -> None:
        if not self._flush_due:
            self._flush_due = True
            assert self._loop is not None
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_due = False
        batch = self.intake.batch()
        if batch is not None:
            self.stats["records"] += len(batch)
            self.link.submit_records(batch)

    # --- events from the core ----------------------------------------------------------------

    def on_events(self, events: np.ndarray) -> None:
        """A batch of the core's event records (EVENT_DTYPE), in core order."""
        max_seq, deliveries = self.router.route(events)
        probe = self.probe
        for sessions, reports in deliveries:
            for session in sessions:
                if probe is not None:
                    # Stamped before the write: once written, the client may read the
                    # reports, and its own clock, before this process runs again.
                    probe.writing_events(session, events)
                session.write_reports(reports)
        if max_seq > self.last_seq:
            self.last_seq = max_seq
            if self._syncs:
                self._release_syncs()

    def sync(self, session: Session, seq: int) -> None:
        """Answer Sync(seq) once every report up to ``seq`` has been written."""
        self._syncs.append((seq, session))
        self._release_syncs()

    def _release_syncs(self) -> None:
        waiting = []
        for seq, session in self._syncs:
            if seq <= self.last_seq:
                session.send(Synced(seq))
            else:
                waiting.append((seq, session))
        self._syncs = waiting

    def close(self) -> Any:
        if self._ticker is not None:
            self._ticker.cancel()
        for session in list(self.sessions):
            session.drop("server shutting down")
        # The sessions' ends reach the core now, in the last batch: connection_lost
        # comes on a later loop turn, after the link is closed.
        for session in list(self.sessions):
            self.session_closed(session)
        self._flush()
        self._closed = True
        self.link.close()


def _reject(
    cid: int, request: str, symbol: str, order: NewOrder | Replace | None
) -> ExecutionReport:
    """A gateway-made REJECTED report (seq 0: no core input was used)."""
    side = order.side if type(order) is NewOrder else None
    price = order.price if order is not None else None
    return ExecutionReport(
        0, ExecType.REJECTED, 0, cid, symbol, side, price, None, 0, 0, 0, 0, _THROTTLED, request
    )


def _ask_risk(path: str, request: dict[str, Any]) -> dict[str, Any]:
    from ringmatch.engine.process.admin_socket import query

    try:
        return query(path, request)
    except (OSError, ValueError) as exc:
        return {"ok": False, "error": f"the risk process did not answer: {exc}"}


def _answer_risk(session: Session, request_id: int, done: asyncio.Future[dict[str, Any]]) -> None:
    with contextlib.suppress(asyncio.CancelledError):
        answer = dict(done.result())
        ok = bool(answer.pop("ok", False))
        error = str(answer.pop("error", ""))
        state = RiskState(request_id, ok, error, answer)
        try:
            session.conn.codec.encode(state)  # one message holds at most 64 KiB (a u16 length)
        except ValueError as exc:
            state = RiskState(request_id, False, f"the risk answer cannot be sent: {exc}")
        session.send(state)
