"""``ringmatch serve [--config F] [--workers N] [--port P] [--feed-port P] [--web-port P]
[--skip-seq SEQ]``.

The server.
``--print-config [toml|json]`` prints the configuration it would run with (every
default filled in, the options above applied, account tokens masked) to stdout
and exits 0 without starting anything (2: the configuration is bad).
Prints what it chose (the configuration, the embedded default when no file is
given; stderr), ``ringmatch: listening on HOST:PORT (order entry), feed on
HOST:PORT`` once both sockets are bound (stderr: the ports chosen for port 0),
then ``ringmatch: market data on HOST:PORT`` and ``ringmatch: order entry on
HOST:PORT`` (stdout; with a web console, ``ringmatch: web console on
http://HOST:PORT`` before the last; the last line once everything accepts
connections: tests and scripts wait for it), and runs until SIGTERM or SIGINT.
A part of the server that cannot start (a port in use, a data directory that
cannot be created, a child that fails: ringmatch.child) is one line on stderr
naming it and why, and the server stops what it started (exit status 1). SIGHUP reloads the
risk limits from the file. Exit status: 0 stopped cleanly, 1 a process of the
server failed (or the data directory or a port is another server's), 2 bad
configuration or usage.

``--skip-seq SEQ`` (repeatable): start although the journalled input at SEQ
cannot be applied (the one that halted the core, which then refuses to start
and names it); the core journals the skip, so later starts and replays skip
it without the flag (docs/PIPELINE.md, "Halts").
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ringmatch.arg_types import whole_number_at_least_1


def add_subcommands(subparsers: Any) -> None:
    serve = subparsers.add_parser(
        "serve",
        help="run the core and the order-entry gateway",
        description="Run the matching core and N gateway workers serving order entry over TCP.",
    )
    serve.add_argument("--config", metavar="F", help="the TOML configuration (default: built in)")
    serve.add_argument(
        "--workers", type=whole_number_at_least_1, metavar="N", help="gateway worker processes"
    )
    serve.add_argument("--port", type=int, metavar="P", help="order-entry port (0: any free one)")
    serve.add_argument(
        "--feed-port", type=int, metavar="P", help="market-data port (0: any free one)"
    )
    serve.add_argument(
        "--web-port",
        type=int,
        metavar="P",
        help="serve the read-only web console on this HTTP port (0: any free one; "
        "default: [web] port, else no console)",
    )
    serve.add_argument(
        "--lock-wait",
        type=float,
        default=10.0,
        metavar="S",
        help="seconds to wait for another server's lock on the data directory (default 10)",
    )
    serve.add_argument(
        "--skip-seq",
        type=whole_number_at_least_1,
        action="append",
        metavar="SEQ",
        help="do not apply the journalled input at SEQ, the one that halted the core "
        "(repeatable; journalled, so needed once)",
    )
    serve.add_argument(
        "--print-config",
        nargs="?",
        const="toml",
        choices=("toml", "json"),
        metavar="toml|json",
        help="print the configuration in force (defaults filled in, tokens masked; "
        "default toml) and exit without starting",
    )
    serve.add_argument(
        "--in-process",
        action="store_true",
        help="one process, the engine inside the gateway worker (no journal; for tests)",
    )
    serve.set_defaults(run=run)


def _say(message: str) -> None:
    print(f"ringmatch: {message}", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    import msgspec

    from ringmatch import system_config as config_module
    from ringmatch.gateway.config import describe

    try:
        config = config_module.load(args.config)
    except config_module.ConfigError as exc:
        _say(str(exc))
        return 2
    server = config.server
    overrides: dict[str, Any] = {}
    if args.workers is not None:
        overrides["workers"] = args.workers
    if args.port is not None:
        overrides["port"] = args.port
    if args.feed_port is not None:
        overrides["feed_port"] = args.feed_port
    if args.skip_seq:
        overrides["skip_seqs"] = sorted(set(args.skip_seq))
    if overrides:
        config = msgspec.structs.replace(
            config, server=msgspec.structs.replace(server, **overrides)
        )
    if args.web_port is not None:
        if not 0 <= args.web_port <= 65535:
            _say(f"--web-port {args.web_port}: must be a TCP port, 0..65535 (0: any free port)")
            return 2
        config = msgspec.structs.replace(
            config, web=msgspec.structs.replace(config.web, port=args.web_port)
        )
    if args.print_config:
        from ringmatch.gateway.config import render

        sys.stdout.write(render(config, as_json=args.print_config == "json"))
        return 0
    if args.config is None:
        _say("no --config given: using the built-in demo configuration")
    _say(describe(config, show_tokens=args.config is None))
    if args.in_process:
        return _run_in_process(config)
    from ringmatch.supervisor import run_pipeline

    return run_pipeline(config, args.config, args.lock_wait)


def _run_in_process(config: Any) -> int:
    from ringmatch.gateway.server.core_link import LocalCore
    from ringmatch.gateway.server.worker_loop import run as run_worker
    from ringmatch.supervisor import announce

    if config.server.workers != 1:
        _say("--in-process runs exactly one worker")
        return 2
    if config.web.port is not None:
        _say("--in-process runs no web console: leave out --web-port and [web] port")
        return 2
    host = config.server.host

    def ready(port: int) -> None:
        _say(f"listening on {host}:{port} (order entry), no feed (--in-process)")
        announce(host, port)

    try:
        return run_worker(config, LocalCore, config.server.port, ready)
    except OSError as exc:  # the port (in use, or an address not of this host)
        from ringmatch.child import failure_reason

        why = failure_reason(exc)
        _say(f"order entry could not start: port {host}:{config.server.port}: {why}")
        return 1
