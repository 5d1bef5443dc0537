"""The web console's process: ``python -m ringmatch.child web WEB.json`` (``serve`` starts it).

    FeedClient (TCP, the feed's port) ──▶ ConsoleView, ConsoleMetrics ◀── risk "state" (admin
                                                 │  ▲                  socket, every RISK_POLL_S)
                                                 │  └─ DATA_DIR/latency-probe/*.hdr (PROBE_SCAN_S)
                                      aiohttp app (the supervisor's listening socket)

Prints ``listening PORT`` once the app accepts connections; SIGTERM/SIGINT stop
it. A feed that closes (or is not there yet) is subscribed to again after
RETRY_S; a risk process that does not answer shows as an error on the page.
Nothing here touches the rings or the core: the console is a subscriber.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import socket
import sys
from decimal import Decimal
from typing import Any

import msgspec
from aiohttp import web

from ringmatch.engine.core.pretrade_hook import StageResolver, no_stages
from ringmatch.engine.process import lifeline
from ringmatch.engine.process.child_config import config_from_argv
from ringmatch.gateway.feed.client import FeedClient, FeedClosed
from ringmatch.gateway.web.app import make_app
from ringmatch.gateway.web.latency import ProbeFiles
from ringmatch.gateway.web.logins import Sessions
from ringmatch.gateway.web.metrics import ConsoleMetrics
from ringmatch.gateway.web.view import ConsoleView

log = logging.getLogger(__name__)
RISK_POLL_S = 0.5
PROBE_SCAN_S = 1.0
RETRY_S = 1.0
LEVELS = 10


class WebAccount(msgspec.Struct, frozen=True, array_like=True):
    name: str
    token: str
    admin: bool = False


class WebProcessConfig(msgspec.Struct, frozen=True, kw_only=True):
    host: str = "127.0.0.1"
    port: int = 0
    listen_fd: int | None = None  # the supervisor's listening socket (None: bind port itself)
    feed_host: str = "127.0.0.1"
    feed_port: int = 7002
    risk_socket: str = ""
    data_dir: str = ""  # where the latency probe writes its histograms ("": not read)
    accounts: list[WebAccount] = []
    tick_sizes: dict[str, str] = {}  # symbol -> tick size, in the configuration's order
    levels: int = LEVELS
    reject_delay_s: float = 0.2  # a wrong login waits this long ([session] logon_reject_delay_s)


async def follow_feed(config: WebProcessConfig, view: ConsoleView, metrics: ConsoleMetrics) -> None:
    symbols = list(config.tick_sizes)
    while True:
        try:
            client = await FeedClient.connect(
                config.feed_host, config.feed_port, symbols, config.levels
            )
        except OSError as exc:
            log.warning("feed %s:%s: %s", config.feed_host, config.feed_port, exc)
            await asyncio.sleep(RETRY_S)
            continue
        view.books = client.books
        view.feed_connected = True
        metrics.feed_connected.set(1)
        try:
            while True:
                msg = await client.next_message()
                view.on_feed(msg)
                metrics.on_feed(msg)
        except (FeedClosed, OSError) as exc:
            log.warning("feed closed: %s", exc)
        finally:
            client.close()
            view.feed_connected = False
            metrics.feed_connected.set(0)
        await asyncio.sleep(RETRY_S)


async def ask_risk(path: str, request: dict[str, Any]) -> dict[str, Any]:
    reader, writer = await asyncio.open_unix_connection(path, limit=1 << 24)
    try:
        writer.write(json.dumps(request).encode() + b"\n")
        await writer.drain()
        answer: dict[str, Any] = json.loads(await reader.readline())
        return answer
    finally:
        writer.close()


async def poll_risk(path: str, view: ConsoleView, metrics: ConsoleMetrics) -> None:
    while True:
        try:
            answer = await asyncio.wait_for(ask_risk(path, {"op": "state"}), 5.0)
        except (OSError, ValueError, TimeoutError) as exc:
            view.on_risk(None, f"risk at {path}: {exc or type(exc).__name__}")
        else:
            view.on_risk(answer)
            if answer.get("ok"):
                metrics.on_risk(answer)
        await asyncio.sleep(RISK_POLL_S)


async def scan_probe(files: ProbeFiles, metrics: ConsoleMetrics) -> None:
    while True:
        if files.scan():
            metrics.on_latency(files.summary())
        await asyncio.sleep(PROBE_SCAN_S)


async def run(config: WebProcessConfig) -> int:
    loop = asyncio.get_running_loop()
    ticks = {s: Decimal(t) for s, t in config.tick_sizes.items()}
    view = ConsoleView(ticks, config.levels)
    if config.data_dir:
        view.latency = ProbeFiles(config.data_dir)
    metrics = ConsoleMetrics(ticks)
    sessions = Sessions({a.name: (a.token, a.admin) for a in config.accounts})
    runner = web.AppRunner(
        make_app(sessions, view, metrics, config.reject_delay_s), access_log=None
    )
    await runner.setup()
    if config.listen_fd is not None:
        sock = socket.socket(fileno=config.listen_fd)
        site: web.BaseSite = web.SockSite(runner, sock)
    else:
        site = web.TCPSite(runner, config.host, config.port)
    await site.start()
    server = site._server
    assert server is not None
    port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
    tasks = [
        asyncio.create_task(follow_feed(config, view, metrics)),
        asyncio.create_task(poll_risk(config.risk_socket, view, metrics)),
    ]
    if view.latency is not None:
        tasks.append(asyncio.create_task(scan_probe(view.latency, metrics)))
    done = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, done.set)
    loop.add_signal_handler(signal.SIGINT, done.set)
    print(f"listening {port}", flush=True)
    try:
        await done.wait()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await runner.cleanup()
    return 0


def main(argv: list[str] | None = None, resolve: StageResolver = no_stages) -> int:
    """The console's process; ``resolve`` is unused (every child's main takes it)."""
    lifeline.attach()  # started by serve: never outlive it
    config = config_from_argv(argv, "ringmatch.gateway.web.process", WebProcessConfig)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s web %(message)s")
    return asyncio.run(run(config))


if __name__ == "__main__":
    sys.exit(main())
