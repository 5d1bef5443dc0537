"""The order-entry client: an asyncio API, and a blocking one on top of it.

    client = await Client.connect("127.0.0.1", 7001, "alice", "alice-secret")
    client.send(NewOrder(1, "AAPL", Side.BUY, OrderType.LIMIT, 100, 5))   # queued
    answer = await client.request(Cancel(1))          # sent, then its answer awaited
    async for report in client: ...                    # every report, in order
    client.on_report(callback)                         # or a callback per report
    await client.close()

Messages are encoded when sent (a symbol the server does not trade raises
ValueError there, naming it) and those of one turn of the event loop leave in
one write, so a busy client batches without asking. The client heartbeats
when it has been quiet for the server's interval. Symbols are names here:
the connection learnt the server's ids from its SymbolDirectory at logon.

Version 3 of the protocol (``protocol_version=3`` at connect) carries the
venue's fields: stops (``trigger_price``), icebergs (``display_qty``), GTD
(``expire_ts``), a Replace that keeps a held STOP's empty price (``price``
None); its reports add TRIGGERED and REFRESHED. A version-2 session raises
ValueError for a message only version 3 can carry.

``request`` matches the answer to the request: for a NewOrder, the ACCEPTED or
REJECTED report of its client order id (or a MessageReject naming that id);
for a Cancel, its CANCELLED (USER) or REJECTED report; for a Replace, its
REPLACED or REJECTED report; for a MassCancel, the MassCancelDone; for a
RiskQuery, the RiskState of its request id.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Coroutine
from concurrent.futures import Future as ThreadFuture
from typing import Any, TypeVar

from ringmatch.gateway.protocol.connection import (
    DEFAULT_MAX_FRAME,
    NEED_DATA,
    Connection,
    ProtocolError,
    Role,
)
from ringmatch.gateway.protocol.messages import (
    PROTOCOL_VERSION,
    Cancel,
    ClientMessage,
    ExecType,
    ExecutionReport,
    Heartbeat,
    Logon,
    LogonAccepted,
    LogonRejected,
    Logout,
    MassCancel,
    MassCancelDone,
    MessageReject,
    NewOrder,
    Replace,
    RiskQuery,
    RiskState,
    ServerMessage,
    SymbolDirectory,
    Sync,
    Synced,
)
from ringmatch.gateway.protocol.session_state import State

T = TypeVar("T")
Answer = ExecutionReport | MessageReject | MassCancelDone | RiskState
_Key = tuple[str, int]  # (request kind, client order id or risk request id)

_CLOSED = object()


class LogonError(ConnectionError):
    """The server refused the logon (``reason`` says why) or closed before answering."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SessionEnded(ConnectionError):
    """The session is over; ``reason`` is the server's Logout reason, if it gave one."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason or "connection closed")
        self.reason = reason


def _request_key(message: ClientMessage) -> _Key | None:
    kind = type(message)
    if kind is NewOrder or kind is Cancel or kind is Replace:
        return (kind.__name__, message.client_order_id)  # type: ignore[union-attr]
    if kind is MassCancel:
        return ("MassCancel", 0)
    if kind is RiskQuery:
        return ("RiskQuery", message.request_id)  # type: ignore[union-attr]
    return None


def _answer_key(message: ServerMessage) -> _Key | None:
    """The request a report answers, if it is an answer (fills are not)."""
    kind = type(message)
    if kind is ExecutionReport:
        assert isinstance(message, ExecutionReport)
        exec_type = message.exec_type
        if exec_type is ExecType.ACCEPTED:
            return ("NewOrder", message.client_order_id)
        if exec_type is ExecType.REJECTED:
            name = {"NEW": "NewOrder", "CANCEL": "Cancel", "REPLACE": "Replace"}.get(
                message.request, "MassCancel"
            )
            return (name, 0 if name == "MassCancel" else message.client_order_id)
        if exec_type is ExecType.CANCELLED and message.reason == "USER":
            return ("Cancel", message.client_order_id)
        if exec_type is ExecType.REPLACED:
            return ("Replace", message.client_order_id)
        return None
    if kind is MessageReject:
        assert isinstance(message, MessageReject)
        if message.message == "MassCancel":
            return ("MassCancel", 0)
        return (message.message, message.client_order_id)
    if kind is MassCancelDone:
        assert isinstance(message, MassCancelDone)
        return ("MassCancel", 0) if message.reason == "MASS_CANCEL" else None
    if kind is RiskState:
        assert isinstance(message, RiskState)
        return ("RiskQuery", message.request_id)
    return None


class _ClientProtocol(asyncio.Protocol):
    def __init__(self, client: Client) -> None:
        self.client = client

    def data_received(self, data: bytes) -> None:
        self.client._data(data)

    def pause_writing(self) -> None:
        self.client._can_write.clear()

    def resume_writing(self) -> None:
        self.client._can_write.set()

    def connection_lost(self, exc: Exception | None) -> None:
        self.client._lost()


class Client:
    """One logged-on session. Create with ``await Client.connect(...)``."""

    def __init__(self, account: str, max_frame: int = DEFAULT_MAX_FRAME) -> None:
        self.account = account
        self.conn = Connection(Role.CLIENT, max_frame)
        self.transport: asyncio.Transport | None = None
        self.closed_reason: str | None = None
        self.heartbeat_s = 1.0
        self.logon: LogonAccepted | None = None  # the server's answer to our Logon
        self._loop = asyncio.get_running_loop()
        self._outgoing = bytearray()  # encoded, waiting for the end of this loop turn
        self._reports: asyncio.Queue[Any] = asyncio.Queue()
        self._callbacks: list[Callable[[ServerMessage], None]] = []
        self._waiters: dict[_Key, deque[asyncio.Future[Answer]]] = {}
        self._logon: asyncio.Future[ServerMessage] = self._loop.create_future()
        self._last_sent = time.monotonic()
        self._heartbeat: asyncio.TimerHandle | None = None
        self._closed = asyncio.Event()
        self._syncs: deque[asyncio.Future[Synced]] = deque()
        self._can_write = asyncio.Event()
        self._can_write.set()
        self.last_seq = 0
        """The core sequence number of the newest report received."""

    @classmethod
    async def connect(
        cls,
        host: str,
        port: int,
        account: str,
        token: str,
        cancel_on_disconnect: bool = False,
        max_frame: int = DEFAULT_MAX_FRAME,
        timeout: float = 10.0,
        protocol_version: int = PROTOCOL_VERSION,
    ) -> Client:
        """Connect and log on, speaking ``protocol_version`` (2 or 3); LogonError if the
        server refuses."""
        client = cls(account, max_frame)
        loop = asyncio.get_running_loop()
        transport, _ = await asyncio.wait_for(
            loop.create_connection(lambda: _ClientProtocol(client), host, port), timeout
        )
        client.transport = transport
        logon = Logon(account, token, protocol_version, cancel_on_disconnect)
        transport.write(client.conn.send(logon))
        answer = await asyncio.wait_for(client._logon, timeout)  # after the symbol directory
        if type(answer) is not LogonAccepted:
            transport.close()
            raise LogonError(getattr(answer, "reason", "") or "closed before answering")
        assert isinstance(answer, LogonAccepted)
        client.logon = answer  # names the session in the server: its worker and number
        client.heartbeat_s = answer.heartbeat_s
        client._heartbeat = loop.call_later(client.heartbeat_s / 2, client._beat)
        return client

    # --- sending -----------------------------------------------------------------------------

    def send(self, message: ClientMessage) -> None:
        """Encode and queue ``message``; everything queued in this loop turn leaves in one
        write. ValueError if it cannot be encoded (a symbol the server does not trade)."""
        if self.closed_reason is not None:
            raise SessionEnded(self.closed_reason)
        data = self.conn.send(message)
        if not self._outgoing:
            self._loop.call_soon(self._flush)
        self._outgoing += data

    def _flush(self) -> None:
        batch, self._outgoing = self._outgoing, bytearray()
        if batch and self.transport is not None and not self.transport.is_closing():
            self.transport.write(bytes(batch))
            self._last_sent = time.monotonic()

    def expect(self, message: ClientMessage) -> asyncio.Future[Answer]:
        """A future for the answer to ``message`` (to send next); see the module doc."""
        key = _request_key(message)
        if key is None:
            raise ValueError(f"{type(message).__name__} gets no answer")
        future: asyncio.Future[Answer] = self._loop.create_future()
        self._waiters.setdefault(key, deque()).append(future)
        return future

    async def request(self, message: ClientMessage, timeout: float | None = 10.0) -> Answer:
        """Send ``message`` and wait for its answer."""
        future = self.expect(message)
        self.send(message)
        return await asyncio.wait_for(future, timeout)

    async def sync(self, seq: int | None = None, timeout: float | None = 10.0) -> None:
        """Return once every report for the core's inputs up to ``seq`` has been received.

        ``seq`` defaults to the newest this client has seen; pass another session's
        ``last_seq`` to catch up with what it saw (reports of one input can reach
        several sessions: both sides of a trade).
        """
        future: asyncio.Future[Synced] = self._loop.create_future()
        self._syncs.append(future)
        self.send(Sync(self.last_seq if seq is None else seq))
        await asyncio.wait_for(future, timeout)

    async def drain(self) -> None:
        """Wait while the socket's send buffer is over its high-water mark."""
        self._flush()
        await self._can_write.wait()
        if self.closed_reason is not None:
            raise SessionEnded(self.closed_reason)

    def _beat(self) -> None:
        if self.closed_reason is not None:
            return
        quiet = time.monotonic() - self._last_sent >= self.heartbeat_s / 2
        if quiet and self.conn.can_send(Heartbeat()):  # not once we have said Logout
            self.send(Heartbeat())
        self._heartbeat = self._loop.call_later(self.heartbeat_s / 2, self._beat)

    # --- receiving ---------------------------------------------------------------------------

    def on_report(self, callback: Callable[[ServerMessage], None]) -> None:
        """Call ``callback`` with every message from the server after logon."""
        self._callbacks.append(callback)

    def __aiter__(self) -> AsyncIterator[ServerMessage]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[ServerMessage]:
        while True:
            item = await self._reports.get()
            if item is _CLOSED:
                self._reports.put_nowait(_CLOSED)  # for any other iterator
                return
            yield item

    async def next_report(self, timeout: float | None = 10.0) -> ServerMessage:
        """The next message from the server; SessionEnded once there are no more."""
        item = await asyncio.wait_for(self._reports.get(), timeout)
        if item is _CLOSED:
            self._reports.put_nowait(_CLOSED)
            raise SessionEnded(self.closed_reason or "")
        return item  # type: ignore[no-any-return]

    def _data(self, data: bytes) -> None:
        conn = self.conn
        conn.receive_data(data)
        try:
            while (event := conn.next_event()) is not NEED_DATA:
                self._dispatch(event)
        except ProtocolError as exc:
            self._close(f"protocol error from server: {exc.reason}")

    def _dispatch(self, message: Any) -> None:
        kind = type(message)
        if kind is LogonAccepted or kind is SymbolDirectory:
            if kind is LogonAccepted:
                self.logon = message
            # Logged on once the directory is whole: then every symbol can be named.
            if self.conn.state is State.ACTIVE and not self._logon.done():
                self._logon.set_result(self.logon)  # type: ignore[arg-type]
            return
        if kind is LogonRejected:
            if not self._logon.done():
                self._logon.set_result(message)
            return
        if kind is Heartbeat:
            return
        if kind is Synced:
            if self._syncs:
                self._syncs.popleft().set_result(message)
            return
        seq = getattr(message, "seq", 0)
        if seq > self.last_seq:
            self.last_seq = seq
        if kind is Logout:
            self._close(message.reason)
            return
        key = _answer_key(message)
        if key is not None:
            waiting = self._waiters.get(key)
            if waiting:
                future = waiting.popleft()
                if not waiting:
                    del self._waiters[key]
                if not future.done():
                    future.set_result(message)
        for callback in self._callbacks:
            callback(message)
        self._reports.put_nowait(message)

    def _lost(self) -> None:
        self._close(self.closed_reason or "")

    def _close(self, reason: str) -> None:
        if self.closed_reason is not None:
            return
        self.closed_reason = reason
        if self._heartbeat is not None:
            self._heartbeat.cancel()
        if not self._logon.done():
            self._logon.set_result(Logout(reason))
        for waiting in self._waiters.values():
            for future in waiting:
                if not future.done():
                    future.set_exception(SessionEnded(reason))
        self._waiters.clear()
        for sync in self._syncs:
            if not sync.done():
                sync.set_exception(SessionEnded(reason))
        self._syncs.clear()
        self._can_write.set()
        self._reports.put_nowait(_CLOSED)
        self._closed.set()
        if self.transport is not None:
            self.transport.close()

    async def wait_closed(self, timeout: float | None = 10.0) -> str:
        """Wait until the server ends the session; its reason."""
        await asyncio.wait_for(self._closed.wait(), timeout)
        assert self.closed_reason is not None
        return self.closed_reason

    async def close(self, logout: bool = True) -> None:
        """Log out (and wait briefly for the server's Logout), then close."""
        if self.closed_reason is None and logout and self.conn.can_send(Logout()):
            self.send(Logout())
            self._flush()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._closed.wait(), 2.0)
        self._close(self.closed_reason or "closed by client")


class BlockingClient:
    """The same client for code without an event loop: a loop runs in a helper thread.

    with BlockingClient.connect(host, port, "alice", token) as client:
        client.send(order); answer = client.request(Cancel(1)); report = client.next_report()
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, thread: threading.Thread) -> None:
        self._loop = loop
        self._thread = thread
        self.client: Client | None = None

    @classmethod
    def connect(
        cls, host: str, port: int, account: str, token: str, **kwargs: Any
    ) -> BlockingClient:
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="ringmatch-client", daemon=True)
        thread.start()
        self = cls(loop, thread)
        try:
            self.client = self._call(Client.connect(host, port, account, token, **kwargs))
        except BaseException:
            self._stop()
            raise
        return self

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        future: ThreadFuture[T] = asyncio.run_coroutine_threadsafe(coro, self._loop)
        return future.result()

    def _client(self) -> Client:
        assert self.client is not None
        return self.client

    def send(self, message: ClientMessage) -> None:
        """Queue ``message``; ValueError here (not on the loop) if it cannot be encoded."""
        client = self._client()
        client.conn.codec.encode(message)  # the directory is fixed after logon: safe to read
        self._loop.call_soon_threadsafe(client.send, message)

    def request(self, message: ClientMessage, timeout: float | None = 10.0) -> Answer:
        return self._call(self._client().request(message, timeout))

    def next_report(self, timeout: float | None = 10.0) -> ServerMessage:
        return self._call(self._client().next_report(timeout))

    def on_report(self, callback: Callable[[ServerMessage], None]) -> None:
        """``callback`` runs on the client's helper thread."""
        self._loop.call_soon_threadsafe(self._client().on_report, callback)

    def close(self) -> None:
        if self.client is not None:
            self._call(self.client.close())
        self._stop()

    def _stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    def __enter__(self) -> BlockingClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
