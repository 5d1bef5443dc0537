"""A gateway worker process: a uvloop event loop serving order entry on a shared port.

Every worker listens on the same host and port with SO_REUSEPORT, so the kernel
spreads connections across them; each has its own link to the core. SIGTERM
and SIGINT close the listener, tell every session why (a Logout), hand the last
commands to the core and stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import sys
from collections.abc import Callable

from gateway.config import Config
from gateway.core_link import CoreLink
from gateway.session import Session
from gateway.translate import ReportBook
from gateway.worker import Worker

log = logging.getLogger("ringmatch.gateway")


def listener(host: str, port: int) -> socket.socket:
    """A socket bound with SO_REUSEPORT (port 0: a free one; read it with getsockname)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
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
    book: ReportBook | None = None,
) -> Worker:
    """Serve until ``stop`` is set; ``ready(port)`` once listening."""
    loop = asyncio.get_running_loop()
    worker = Worker(config, link, risk_socket, worker_id, book)
    worker.start(loop)
    sock = listener(config.server.host, port)
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
    book: ReportBook | None = None,
) -> int:
    """A worker process's main: uvloop, signals, serve until told to stop. Exit status."""
    import uvloop

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await serve(config, link_factory(), port, stop, ready, risk_socket, worker_id, book)

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(name)s: %(message)s")
    uvloop.run(main())
    return 0
