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
answer). Exit status: 0 done, 1 a session failed (refused logon, dropped,
timed out), 2 bad input or usage.
"""

from __future__ import annotations

import argparse
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


def run(args: argparse.Namespace) -> int:
    import asyncio

    from ringmatch.gateway import config as config_module
    from ringmatch.gateway.client.send import SendError, send_file

    try:
        config = config_module.load(args.config)
    except config_module.ConfigError as exc:
        print(f"ringmatch: {exc}", file=sys.stderr)
        return 2
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
    print(summary.describe(args.file), file=sys.stderr)
    return 0 if summary.complete else 1
