"""``ringmatch feed``: subscribe to the market-data feed, show the book and trades live.

    ringmatch feed [--host H] [--port P] [--symbol S]... [--levels N] [--out F.jsonl]
                   [--count N] [--once] [--tick-size T] [--config ringmatch.toml]

On a terminal the view (ringmatch.gateway.feed.display: prices in decimals from
each symbol's ``tick_size``, spread, mid, the last trades with the time they
came) is drawn with rich's Live display, redrawn on messages and on a timer, so
it is never more than display.REFRESH_S behind the feed; piped, each message is
printed as a JSON line instead. ``--once`` prints the view once, as text, when
every symbol's snapshot is in (with ``--count``: after N messages), and exits.
``--out`` writes every message as a JSON line to a file as well, a line at a
time. ``--count`` stops after N messages (scripts, tests). Exit status
(README.md, "Exit status"): 0 done, 1 a failure at run time (no server
listening, cut off by the server), 2 bad usage or input (no ``--symbol``, a
bad configuration, an ``--out`` that cannot be written), 130 interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import decimal
import json
import sys
from decimal import Decimal
from typing import IO, TYPE_CHECKING, Any

import msgspec
import uvloop

from ringmatch.gateway.feed.client import FeedClient, FeedClosed
from ringmatch.gateway.feed.protocol import ServerMessage, TradePrint

if TYPE_CHECKING:
    from ringmatch.gateway.feed.display import Screen

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def _levels(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 1 <= value <= 100:
        raise argparse.ArgumentTypeError(f"must be 1..100, got {value}")
    return value


def _tick_size(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except decimal.InvalidOperation:
        raise argparse.ArgumentTypeError(f"not a decimal number: {text!r}") from None
    if not (value.is_finite() and value > 0):
        raise argparse.ArgumentTypeError(f"must be a decimal > 0, got {text}")
    return value


def add_subcommands(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "feed",
        help="watch the market-data feed of a running server",
        description="Subscribe to the feed: a snapshot per symbol, then live updates.",
    )
    p.add_argument("--host", help="feed host (default: the config's server.host, or 127.0.0.1)")
    p.add_argument("--port", type=int, help="feed port (default: server.feed_port, or 7002)")
    p.add_argument(
        "--symbol", action="append", dest="symbols", metavar="S", help="a symbol (repeatable)"
    )
    p.add_argument("--levels", type=_levels, default=5, help="depth, 1..100 (default 5)")
    p.add_argument("--out", metavar="F.jsonl", help="write every message as a JSON line")
    p.add_argument("--count", type=int, metavar="N", help="stop after N messages")
    p.add_argument(
        "--once", action="store_true", help="print the view once (after --count N messages), exit"
    )
    p.add_argument(
        "--tick-size",
        type=_tick_size,
        metavar="T",
        help="every symbol's tick, a decimal (default: the config's [[symbols]] tick_size)",
    )
    p.add_argument("--config", metavar="FILE", help="the server's TOML (host, port and tick sizes)")
    p.set_defaults(run=run)


def message_json(msg: ServerMessage) -> str:
    out: dict[str, Any] = {"type": type(msg).__struct_config__.tag}
    out.update(msgspec.to_builtins(msgspec.structs.asdict(msg)))
    return json.dumps(out)


async def _redraw_every(screen: Screen, interval: float) -> None:
    """The timer: whatever changed since the last draw is drawn every ``interval`` s."""
    while True:
        await asyncio.sleep(interval)
        screen.tick()


async def follow(
    args: argparse.Namespace,
    host: str,
    port: int,
    out: IO[str] | None,
    tick_sizes: dict[str, Decimal],
) -> int:
    # The view (and rich) only here: every ``ringmatch`` command imports this module.
    from ringmatch.gateway.feed.display import REFRESH_S, FeedView, Screen, snapshot_text

    try:
        client = await FeedClient.connect(host, port, args.symbols, args.levels)
    except OSError as exc:
        print(f"ringmatch feed: cannot connect to {host}:{port}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    view = FeedView(client.books, tick_sizes)
    screen: Screen | None = None
    timer: asyncio.Task[None] | None = None
    if not args.once and sys.stdout.isatty():
        from rich.live import Live

        live = Live(auto_refresh=False, redirect_stdout=False, redirect_stderr=False)
        live.start()
        screen = Screen(view, live)
        timer = asyncio.create_task(_redraw_every(screen, REFRESH_S))
    seen = 0
    status = EXIT_OK
    try:
        while args.count is None or seen < args.count:
            if args.once and args.count is None and not any(b.stale for b in client.books.values()):
                break  # every snapshot is in
            msg = await client.next_message()
            seen += 1
            line = message_json(msg)
            if out is not None:
                out.write(line + "\n")
            if isinstance(msg, TradePrint):
                view.on_trade(msg)
            if screen is not None:
                screen.changed()
            elif not args.once:
                print(line, flush=True)
    except FeedClosed as exc:
        print(f"ringmatch feed: {exc}", file=sys.stderr)
        status = EXIT_FAILED if client.cut_off else EXIT_OK
    finally:
        if timer is not None:
            timer.cancel()
        if screen is not None:
            screen.tick()  # the last state stays on the screen
            screen.live.stop()
        client.close()
    if args.once and status == EXIT_OK:
        sys.stdout.write(snapshot_text(view))
        sys.stdout.flush()
    return status


def _tick_sizes(args: argparse.Namespace, symbols: dict[str, str]) -> dict[str, Decimal]:
    """Each symbol's tick: ``--tick-size``, else the configuration's, else 1 (ticks)."""
    if args.tick_size is not None:
        return {s: args.tick_size for s in args.symbols}
    return {s: Decimal(symbols[s]) for s in args.symbols if s in symbols}


def run(args: argparse.Namespace) -> int:
    if not args.symbols:
        print("ringmatch feed: name at least one --symbol", file=sys.stderr)
        return EXIT_USAGE
    host, port = args.host, args.port
    configured: dict[str, str] = {}
    if args.config:
        from ringmatch.gateway.config import ConfigError, load

        try:
            config = load(args.config)
        except ConfigError as exc:
            print(f"ringmatch feed: {exc}", file=sys.stderr)
            return EXIT_USAGE
        host = host or config.server.host
        port = port or config.server.feed_port
        configured = {s.name: s.tick_size for s in config.symbols}
    host, port = host or "127.0.0.1", port or 7002
    try:
        # Line-buffered: a reader of the file (tail -f, a pipe) sees each message as it comes.
        out = open(args.out, "w", buffering=1) if args.out else None  # noqa: SIM115 - closed below
    except OSError as exc:
        print(f"ringmatch feed: cannot write {args.out}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            return runner.run(follow(args, host, port, out, _tick_sizes(args, configured)))
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    finally:
        if out is not None:
            out.close()
