"""A gateway worker process: a uvloop event loop serving order entry on a shared port.

Under ``serve`` every worker accepts on the one listening socket the supervisor
bound (handed down as a file descriptor), so the port is this server's alone
and connections spread across the workers; each has its own link to the core.
Started alone (tests, ``serve --in-process``) a worker binds the port itself.
SIGTERM and SIGINT close the listener, tell every session why (a Logout), hand
the last commands to the core and stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
from collections.abc import Callable

from ringmatch.gateway.config import Config
from ringmatch.gateway.server.core_link import CoreLink
from ringmatch.gateway.server.session import Session
from ringmatch.gateway.server.worker import Worker

log = logging.getLogger("ringmatch.gateway")


def listener(host: str, port: int, listen_fd: int | None = None) -> socket.socket:
    """The listening socket: the one handed down as ``listen_fd``, or a new one bound to
    ``host:port`` (port 0: a free one; read it with getsockname), never SO_REUSEPORT:
    a port taken by another server must fail to bind, not be shared with it."""
    if listen_fd is not None:
        os.set_inheritable(listen_fd, False)  # ours alone: no process we start may hold it
        return socket.socket(fileno=listen_fd)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


async def serve(
    config: Config,
    link: CoreLink,
    port: int,
    stop: asyncio.Event,
    ready: Callable[[int], None] | None = None,
    risk_socket: str | None = None,
    worker_id: int = 0,
    listen_fd: int | None = None,
    start_seq: int = 0,
) -> Worker:
    """Serve until ``stop`` is set; ``ready(port)`` once listening."""
    loop = asyncio.get_running_loop()
    worker = Worker(config, link, risk_socket, worker_id, start_seq)
    worker.start(loop)
    sock = listener(config.server.host, port, listen_fd)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    server = await loop.create_server(lambda: Session(worker), sock=sock, backlog=1024)
    if ready is not None:
        ready(sock.getsockname()[1])
    try:
        await stop.wait()
    finally:
        server.close()
        worker.close()
        with contextlib.suppress(asyncio.TimeoutError):
            # Let the goodbyes (Logouts) drain, briefly.
            await asyncio.wait_for(server.wait_closed(), 1.0)
    return worker


def run(
    config: Config,
    link_factory: Callable[[], CoreLink],
    port: int,
    ready: Callable[[int], None] | None = None,
    risk_socket: str | None = None,
    worker_id: int = 0,
    listen_fd: int | None = None,
    start_seq: int = 0,
) -> int:
    """A worker process's main: uvloop, signals, serve until told to stop. Exit status."""
    import uvloop

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await serve(
            config, link_factory(), port, stop, ready, risk_socket, worker_id, listen_fd, start_seq
        )

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(name)s: %(message)s")
    uvloop.run(main())
    return 0
