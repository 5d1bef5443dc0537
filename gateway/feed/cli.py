"""``ringmatch feed``: subscribe to the market-data feed, show the book and trades live.

    ringmatch feed [--host H] [--port P] [--symbol S]... [--levels N] [--out F.jsonl]
                   [--count N] [--config ringmatch.toml]

On a terminal the view is redrawn in place (at most 20 times a second); piped,
each message is printed as a JSON line instead. ``--out`` writes every message
as a JSON line to a file as well. ``--count`` stops after N messages (scripts,
tests). Exit status (README.md, "Exit status"): 0 done, 1 a failure at run
time (no server listening, cut off by the server), 2 bad usage or input (no
``--symbol``, a bad configuration, an ``--out`` that cannot be written),
130 interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import IO, Any

import msgspec
import uvloop

from ringmatch.gateway.feed.client import FeedClient, FeedClosed, SubscriberBook
from ringmatch.gateway.feed.protocol import ServerMessage, TradePrint

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
REDRAW_S = 0.05
TRADES_SHOWN = 10


def _levels(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 1 <= value <= 100:
        raise argparse.ArgumentTypeError(f"must be 1..100, got {value}")
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
    p.add_argument("--config", metavar="FILE", help="the server's TOML (for host and port)")
    p.set_defaults(run=run)


def message_json(msg: ServerMessage) -> str:
    out: dict[str, Any] = {"type": type(msg).__struct_config__.tag}
    out.update(msgspec.to_builtins(msgspec.structs.asdict(msg)))
    return json.dumps(out)


def render(books: dict[str, SubscriberBook], trades: list[TradePrint]) -> str:
    lines = []
    for symbol, book in books.items():
        bids, asks = book.depth()
        state = "stale, waiting for a snapshot" if book.stale else f"seq {book.seq}"
        lines.append(f"{symbol}  last {book.last_price}  ({state})")
        lines.append(f"  {'bid qty':>10} {'bid':>10} | {'ask':<10} {'ask qty':<10}")
        for i in range(max(len(bids), len(asks))):
            b = f"{bids[i][1]:>10} {bids[i][0]:>10}" if i < len(bids) else " " * 21
            a = f"{asks[i][0]:<10} {asks[i][1]:<10}" if i < len(asks) else ""
            lines.append(f"  {b} | {a}")
        lines.append("")
    lines.append("trades:")
    lines += [f"  {t.symbol} {t.qty} @ {t.price} ({t.taker_side})" for t in trades]
    return "\n".join(lines)


async def follow(args: argparse.Namespace, host: str, port: int, out: IO[str] | None) -> int:
    try:
        client = await FeedClient.connect(host, port, args.symbols, args.levels)
    except OSError as exc:
        print(f"ringmatch feed: cannot connect to {host}:{port}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    tty = sys.stdout.isatty()
    trades: list[TradePrint] = []
    drawn = 0.0
    seen = 0
    try:
        while args.count is None or seen < args.count:
            msg = await client.next_message()
            seen += 1
            line = message_json(msg)
            if out is not None:
                out.write(line + "\n")
            if isinstance(msg, TradePrint):
                trades = [msg, *trades][:TRADES_SHOWN]
            if not tty:
                print(line, flush=True)
            elif time.monotonic() - drawn >= REDRAW_S:
                drawn = time.monotonic()
                sys.stdout.write("\x1b[H\x1b[2J" + render(client.books, trades) + "\n")
                sys.stdout.flush()
    except FeedClosed as exc:
        print(f"ringmatch feed: {exc}", file=sys.stderr)
        return EXIT_FAILED if client.cut_off else EXIT_OK
    finally:
        client.close()
    return 0


def run(args: argparse.Namespace) -> int:
    if not args.symbols:
        print("ringmatch feed: name at least one --symbol", file=sys.stderr)
        return EXIT_USAGE
    host, port = args.host, args.port
    if args.config:
        from ringmatch.gateway.config import ConfigError, load

        try:
            server = load(args.config).server
        except ConfigError as exc:
            print(f"ringmatch feed: {exc}", file=sys.stderr)
            return EXIT_USAGE
        host = host or server.host
        port = port or server.feed_port
    host, port = host or "127.0.0.1", port or 7002
    try:
        out = open(args.out, "w") if args.out else None  # noqa: SIM115 - closed below
    except OSError as exc:
        print(f"ringmatch feed: cannot write {args.out}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            return runner.run(follow(args, host, port, out))
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    finally:
        if out is not None:
            out.close()
