"""The market-data feed server: TCP subscribers, snapshot then incrementals (docs/FEED.md).

    server = FeedServer(max_queued=1 << 20)
    host, port = await server.start("127.0.0.1", 7002)
    server.publish(events)          # on the loop, for every batch off the event ring

Each batch goes through the one ``MarketData``; each (symbol, depth) channel's
messages are framed once and written to every subscriber of that channel. A
subscriber whose unsent bytes would pass ``max_queued`` (it is not reading) is
sent ``CutOff`` with the reason and dropped: writing never waits for anyone, so
the core and the other subscribers are never slowed.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Sequence
from typing import cast

import numpy as np

from ringmatch.engine.records.names import Directory
from ringmatch.engine.schema.events import Event
from ringmatch.gateway.feed.marketdata import MAX_LEVELS, MarketData
from ringmatch.gateway.feed.protocol import (
    ClientMessage,
    CutOff,
    FeedError,
    FeedMessage,
    FeedProtocol,
    FeedProtocolError,
    Snapshot,
    SnapshotRequest,
    Subscribe,
    frame,
)

log = logging.getLogger(__name__)

MAX_SYMBOLS = 1000
CLOSE_GRACE_S = 1.0  # a cut-off subscriber gets this long to read its CutOff


class Subscriber(asyncio.Protocol):
    def __init__(self, server: FeedServer) -> None:
        self.server = server
        self.protocol = FeedProtocol(ClientMessage)  # type: ignore[arg-type]
        self.transport: asyncio.Transport | None = None
        self.levels = 0
        self.symbols: list[str] = []
        self.closed = False
        self.peer = "?"

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        sock = transport.get_extra_info("socket")
        if self.server.sndbuf is not None and sock is not None:
            # Bound the kernel's share too, or it hides megabytes of backlog from max_queued.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self.server.sndbuf)
        self.peer = str(transport.get_extra_info("peername"))

    def data_received(self, data: bytes) -> None:
        self.protocol.receive_data(data)
        try:
            while (msg := self.protocol.next_message()) is not None:
                self._handle(msg)  # type: ignore[arg-type]
        except FeedProtocolError as exc:
            self.cut_off(f"bad request: {exc}")

    def _handle(self, msg: ClientMessage) -> None:
        if type(msg) is Subscribe:
            if self.symbols:
                self.send(frame(FeedError("already subscribed")))
            elif not 1 <= msg.levels <= MAX_LEVELS:
                self.send(frame(FeedError(f"levels must be 1..{MAX_LEVELS}, got {msg.levels}")))
            elif not 1 <= len(msg.symbols) <= MAX_SYMBOLS or not all(msg.symbols):
                self.send(frame(FeedError(f"symbols: 1..{MAX_SYMBOLS} non-empty names")))
            else:
                self.levels = msg.levels
                self.symbols = sorted(set(msg.symbols))
                for symbol in self.symbols:
                    self.server.subscribe(self, symbol)
        elif type(msg) is SnapshotRequest:
            if msg.symbol in self.symbols:
                self.send(frame(self.server.market.snapshot(msg.symbol, self.levels)))
            else:
                self.send(frame(FeedError(f"not subscribed to {msg.symbol!r}")))

    def send(self, data: bytes) -> None:
        t = self.transport
        if self.closed or t is None:
            return
        queued = t.get_write_buffer_size()
        if queued + len(data) > self.server.max_queued:
            self.cut_off(f"too slow: {queued} bytes unread, limit {self.server.max_queued}")
            return
        t.write(data)

    def cut_off(self, reason: str) -> None:
        if self.closed or self.transport is None:
            return
        log.warning("feed: cutting off %s: %s", self.peer, reason)
        self.server.cut_offs += 1
        t = self.transport
        t.write(frame(CutOff(reason)))
        self._drop()
        t.close()
        asyncio.get_running_loop().call_later(CLOSE_GRACE_S, t.abort)

    def _drop(self) -> None:
        self.closed = True
        self.server.unsubscribe(self)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed:
            self._drop()


class FeedServer:
    def __init__(
        self,
        market: MarketData | None = None,
        max_queued: int = 1 << 20,
        sndbuf: int | None = 256 * 1024,
    ) -> None:
        self.market = market if market is not None else MarketData()
        self.max_queued = max_queued
        self.sndbuf = sndbuf
        self.subscribers: dict[tuple[str, int], set[Subscriber]] = {}
        self.cut_offs = 0
        self._server: asyncio.Server | None = None

    async def start(self, host: str, port: int, listen_fd: int | None = None) -> tuple[str, int]:
        """Listen on ``host:port``, or accept on the listening socket ``listen_fd``."""
        loop = asyncio.get_running_loop()
        if listen_fd is not None:
            os.set_inheritable(listen_fd, False)  # ours alone: no process we start may hold it
            sock = socket.socket(fileno=listen_fd)
            self._server = await loop.create_server(lambda: Subscriber(self), sock=sock)
        else:
            self._server = await loop.create_server(lambda: Subscriber(self), host, port)
        sock = self._server.sockets[0].getsockname()
        return sock[0], sock[1]

    def subscribe(self, sub: Subscriber, symbol: str) -> None:
        key = (symbol, sub.levels)
        self.subscribers.setdefault(key, set()).add(sub)
        sub.send(frame(self.market.snapshot(symbol, sub.levels)))

    def unsubscribe(self, sub: Subscriber) -> None:
        for symbol in sub.symbols:
            subs = self.subscribers.get((symbol, sub.levels))
            if subs is not None:
                subs.discard(sub)

    def publish(self, events: Sequence[Event]) -> int:
        """Apply a batch of events and send what changed; the number of frames sent."""
        return self._send(self.market.on_events(events))

    def _send(self, changes: dict[tuple[str, int], list[FeedMessage]]) -> int:
        sent = 0
        for key, msgs in changes.items():
            subs = self.subscribers.get(key)
            if not subs:
                continue
            data = b"".join([frame(m) for m in msgs])
            for sub in list(subs):
                sub.send(data)
            sent += len(msgs) * len(subs)
        return sent

    def publish_records(self, records: np.ndarray, directory: Directory) -> int:
        """``publish`` for a batch of event records, read as they are (MarketData.on_records)."""
        return self._send(self.market.on_records(records, directory))

    def resync(self, snapshots: Sequence[Snapshot]) -> None:
        """After the books were rebuilt: every subscriber gets its channels' fresh snapshots."""
        for snap in snapshots:
            data = frame(snap)
            for sub in list(self.subscribers.get((snap.symbol, snap.levels), ())):
                sub.send(data)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            for subs in self.subscribers.values():
                for sub in list(subs):
                    if sub.transport is not None:
                        sub.transport.abort()
            await self._server.wait_closed()
