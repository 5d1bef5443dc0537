"""``ringmatch send ORDERS.csv``: send an order file (the replay CSV format) over TCP.

One session per account named in the file (opened at the account's first row,
its token from ``--config``, the server's own TOML), rows in file order. A NEW
row's ``order_id`` is sent as the client order id; CANCEL and REPLACE rows name
the order by it. With ``--wait-ack`` each row waits for the core's answer before
the next is sent, so the core sequences the rows in file order even across
sessions; without it rows are pipelined (each session in file order).

Every message received after logon goes to ``--reports-out`` as a JSON line
(``account``, ``type`` and the message's fields). The summary on stderr: sent,
accepted, rejected by reason, fills, round-trip latency percentiles (send to
answer). Exit status (README.md, "Exit status"): 0 done, 1 a failure at run
time (no server listening, a refused logon, a session dropped or timed out),
2 bad input or usage (an unreadable order file or configuration, an account
without a token, ``--reports-out`` naming the order file), 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any


def add_subcommands(subparsers: Any) -> None:
    send = subparsers.add_parser(
        "send",
        help="send an order file to a running server",
        description="Send an order file (the replay CSV format) to `ringmatch serve` over TCP.",
    )
    send.add_argument("file", metavar="ORDERS.csv", help="the order file")
    send.add_argument("--host", help="server host (default: the config's server.host)")
    send.add_argument("--port", type=int, help="server port (default: the config's server.port)")
    send.add_argument("--config", metavar="FILE", help="TOML with the accounts' tokens")
    send.add_argument(
        "--wait-ack", action="store_true", help="wait for each row's answer before the next"
    )
    send.add_argument("--reports-out", metavar="R.jsonl", help="write every report, JSON lines")
    send.add_argument(
        "--timeout", type=float, default=10.0, help="seconds to wait for an answer (default 10)"
    )
    send.set_defaults(run=run)


EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def run(args: argparse.Namespace) -> int:
    import asyncio

    from ringmatch.gateway import config as config_module
    from ringmatch.gateway.client.send import SendError, send_file

    if args.reports_out is not None and _same_file(args.reports_out, args.file):
        print(
            f"ringmatch send: --reports-out {args.reports_out} is the order file {args.file}:"
            " it would be overwritten; nothing was sent",
            file=sys.stderr,
        )
        return EXIT_USAGE
    try:
        config = config_module.load(args.config)
    except config_module.ConfigError as exc:
        print(f"ringmatch: {exc}", file=sys.stderr)
        return EXIT_USAGE
    host = args.host or config.server.host
    port = config.server.port if args.port is None else args.port
    try:
        summary = asyncio.run(
            send_file(
                args.file,
                host,
                port,
                config,
                wait_ack=args.wait_ack,
                reports_out=args.reports_out,
                timeout=args.timeout,
            )
        )
    except SendError as exc:
        print(f"ringmatch: {exc}", file=sys.stderr)
        return exc.status
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    print(summary.describe(args.file), file=sys.stderr)
    return EXIT_OK if summary.complete else EXIT_FAILED
