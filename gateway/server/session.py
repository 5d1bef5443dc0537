"""One client connection: an asyncio Protocol that only moves bytes in and out.

Everything about the bytes is the sans-IO ``Connection``'s; what a message means
is the worker's. The session adds what needs a clock or a socket: logon, the
heartbeat and idle clocks, the close-after-reject delay, and the outbound bound
that drops a client which stops reading (its reports pile up in the transport's
buffer; once that passes ``max_outbound``, asyncio calls ``pause_writing`` and we
abort the connection, so no other session and never the core waits for it).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from ringmatch.gateway.protocol.connection import (
    NEED_DATA,
    BadMessage,
    Connection,
    ProtocolError,
    Role,
)
from ringmatch.gateway.protocol.messages import (
    Cancel,
    Heartbeat,
    Logon,
    Logout,
    MassCancel,
    NewOrder,
    Replace,
    RiskQuery,
    ServerMessage,
    Sync,
)
from ringmatch.gateway.protocol.session_state import State
from ringmatch.gateway.server.throttle import Throttle

if TYPE_CHECKING:
    from ringmatch.gateway.server.worker import Worker

log = logging.getLogger("ringmatch.gateway")

_REQUESTS = (NewOrder, Cancel, Replace, MassCancel)
# What the throttle counts: messages that cost the core or the risk process. Heartbeat,
# Sync and Logout are not counted (refusing a heartbeat or a goodbye helps nobody).
_THROTTLED = frozenset((*_REQUESTS, RiskQuery))


class Session(asyncio.Protocol):
    __slots__ = (
        "_inbuf",
        "account",
        "account_id",
        "admin",
        "cancel_on_disconnect",
        "conn",
        "last_received",
        "last_sent",
        "peer",
        "session_id",
        "throttle",
        "transport",
        "worker",
    )

    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        # The wire names symbols by id: 1-based positions in the configured list.
        self.conn = Connection(Role.SERVER, worker.config.session.max_frame, worker.symbol_list)
        self.account: str | None = None
        self.account_id = 0  # the core's record id of the account (0: not logged on)
        # Bytes of a request not yet whole, on the compiled path (see data_received).
        self._inbuf = bytearray()
        self.admin = False  # set at logon: the account may send RiskQuery
        self.cancel_on_disconnect = False
        self.session_id = 0  # its number in the worker, given at logon (0: not logged on)
        rate = worker.config.session.max_msgs_per_s
        self.throttle = Throttle(rate) if rate else None
        self.transport: asyncio.Transport | None = None
        self.peer: Any = None
        self.last_received = self.last_sent = time.monotonic()

    # --- asyncio callbacks -------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, only alike.
        self.transport = transport = cast(asyncio.Transport, transport)
        self.peer = transport.get_extra_info("peername")
        settings = self.worker.config.session
        if settings.socket_sndbuf:
            # The kernel's buffer counts towards what a slow reader can hold up too.
            sock = transport.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, settings.socket_sndbuf)
        limit = settings.max_outbound
        transport.set_write_buffer_limits(high=limit, low=limit // 2)
        self.worker.session_opened(self)

    def data_received(self, data: bytes) -> None:
        self.last_received = time.monotonic()
        conn = self.conn
        if conn.state is State.ACTIVE and self.throttle is None:
            self._take(data)
            return
        conn.receive_data(data)
        self._events()

    def _events(self) -> None:
        """Handle every message the protocol has whole."""
        conn = self.conn
        try:
            while (event := conn.next_event()) is not NEED_DATA:
                self._handle(event)
                if self.transport is None or self.transport.is_closing():
                    return
        except ProtocolError as exc:
            self.drop(exc.reason)

    def _take(self, data: bytes) -> None:
        """The compiled path of an active session: runs of requests go straight to records
        (Worker.take_wire); any other message, whole, goes to the protocol one at a time,
        so everything is handled in the order it came. A length that cannot be (< 4 or
        over max_frame) goes to the protocol too, which ends the session."""
        conn = self.conn
        buf = self._inbuf
        buf += conn.take_trailing_data()  # a partial message it held from before logon
        buf += data
        size, at = len(buf), 0
        take_wire, max_frame = self.worker.take_wire, conn.max_frame
        with memoryview(buf) as view:
            while at < size:
                if conn.state is not State.ACTIVE:  # a Logout: the state table judges the rest
                    conn.receive_data(bytes(view[at:]))
                    at = size
                    break
                with view[at:] as rest:
                    at += take_wire(self, rest)
                if size - at < 4:
                    break
                length = view[at] | view[at + 1] << 8
                if 4 <= length <= max_frame and size - at < length:
                    break  # the rest of it is still on its way
                end = at + length if 4 <= length <= max_frame else size
                conn.receive_data(bytes(view[at:end]))
                at = end
                self._events()
                if self.transport is None or self.transport.is_closing():
                    at = size
                    break
        del buf[:at]
        if not buf and conn.state is not State.ACTIVE:
            self._events()

    def write_reports(self, reports: bytes) -> None:
        """Reports in wire form (gateway/wire) from the core's events: straight out."""
        transport = self.transport
        if transport is None or transport.is_closing() or not self.conn.reports_allowed():
            return
        transport.write(reports)
        self.last_sent = time.monotonic()

    def pause_writing(self) -> None:
        # The client is not reading: its buffer passed max_outbound. Waiting would hold
        # its reports (and memory) for ever; drop it, nobody else notices.
        size = self.transport.get_write_buffer_size() if self.transport else 0
        log.warning(
            "%s %s: slow reader, %d bytes unsent: disconnected", self.peer, self.account, size
        )
        self.worker.stats["slow_reader_drops"] += 1
        if self.transport is not None:
            self.transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self.worker.session_closed(self)

    # --- messages ----------------------------------------------------------------------------

    def _handle(self, event: Any) -> None:
        kind = type(event)
        throttle = self.throttle
        if throttle is not None and kind in _THROTTLED and not throttle.allow():
            self.worker.throttled(self, event)
            return
        if kind in _REQUESTS:
            assert self.account is not None  # the state table allows requests only once on
            self.worker.request(self, event)
        elif kind is Heartbeat:
            pass  # last_received is all it is for
        elif kind is Sync:
            self.worker.sync(self, event.seq)
        elif kind is RiskQuery:
            self.worker.risk_query(self, event)
        elif kind is BadMessage:
            self.send(event.reject)
        elif kind is Logon:
            self.worker.logon(self, event)
        elif kind is Logout:
            self.drop("")

    def send(self, message: ServerMessage) -> None:
        self.send_many((message,))

    def send_many(self, messages: Sequence[ServerMessage]) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        conn = self.conn
        sendable = conn.sendable(messages)
        if sendable:
            try:
                data = conn.send_many(sendable)
            except ValueError:  # a message the wire cannot carry: our bug, not the client's
                log.exception(
                    "%s %s: cannot encode %d messages", self.peer, self.account, len(sendable)
                )
                self.drop("server error: a report could not be encoded")
                return
            transport.write(data)
            self.last_sent = time.monotonic()

    def drop(self, reason: str) -> None:
        """Say why (a Logout) and close once the bytes before it are out."""
        if self.transport is None or self.transport.is_closing():
            return
        if reason:
            log.info("%s %s: closing: %s", self.peer, self.account, reason)
        self.send(Logout(reason))
        self.transport.close()

    def close_later(self, delay: float) -> None:
        """Stop reading now, close after ``delay`` (a rejected logon: slows token guessing)."""
        transport = self.transport
        if transport is None:
            return
        transport.pause_reading()
        asyncio.get_running_loop().call_later(delay, transport.close)

    def tick(self, now: float) -> None:
        """The worker's clock: heartbeat when we have been quiet, close when they have."""
        session = self.worker.config.session
        if now - self.last_received > session.timeout_s:
            self.drop(f"timeout: nothing received for {session.timeout_s} s")
        elif self.conn.state is State.ACTIVE and now - self.last_sent >= session.heartbeat_s:
            self.send(Heartbeat())
