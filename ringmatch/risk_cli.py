"""``ringmatch risk``: ask the running server's risk process, over its admin socket.

    ringmatch risk [--socket PATH | --config FILE]  the state: positions, P&L, kill switches
    ringmatch risk --kill ACCOUNT|'*' [--keep-orders] [--why TEXT]
    ringmatch risk --release ACCOUNT|'*'            switch a kill switch off (re-arms limits)
    ringmatch risk --reload                         re-read the limits (as SIGHUP)
    ... [--json]                                    the raw answer instead of a table

The socket is ``DATA_DIR/risk.sock`` of the server: ``--config`` names the
server's TOML to find it; without either, ``data/risk.sock``, or the built-in
configuration's ``ringmatch-data/risk.sock`` when only that one exists.

Exit status (README.md, "Exit status"): 0 done, 1 the server refused (its reason
on stderr) or no server at the socket, 2 usage or a bad configuration.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from ringmatch.engine.process.admin_socket import query

DEFAULT_SOCKET = "data/risk.sock"
BUILT_IN_SOCKET = (
    "ringmatch-data/risk.sock"  # serve with no --config (ringmatch.gateway.config.DEFAULT)
)


def add_subcommands(commands: Any) -> None:
    p = commands.add_parser(
        "risk",
        help="show or change the running server's risk state",
        description="Ask the running server's risk process (its admin socket).",
    )
    where = p.add_mutually_exclusive_group()
    where.add_argument("--socket", help=f"the admin socket (default {DEFAULT_SOCKET})")
    where.add_argument("--config", metavar="FILE", help="the server's TOML: its data_dir's socket")
    act = p.add_mutually_exclusive_group()
    act.add_argument("--kill", metavar="ACCOUNT", help="switch a kill switch on ('*': global)")
    act.add_argument("--release", metavar="ACCOUNT", help="switch a kill switch off")
    act.add_argument("--reload", action="store_true", help="re-read the limits from the file")
    p.add_argument("--keep-orders", action="store_true", help="with --kill: do not cancel")
    p.add_argument("--why", default="", help="with --kill: the reason, logged and journalled")
    p.add_argument("--json", action="store_true", help="print the raw JSON answer")
    p.set_defaults(run=run)


def _account(name: str) -> str | None:
    return None if name == "*" else name


def _socket(args: argparse.Namespace) -> str:
    if args.socket:
        return str(args.socket)
    if args.config:
        from ringmatch.system_config import load

        return os.path.join(load(args.config).server.data_dir, "risk.sock")
    if not os.path.exists(DEFAULT_SOCKET) and os.path.exists(BUILT_IN_SOCKET):
        return BUILT_IN_SOCKET
    return DEFAULT_SOCKET


def run(args: argparse.Namespace) -> int:
    from ringmatch.system_config import ConfigError

    try:
        args.socket = _socket(args)
    except ConfigError as exc:
        print(f"ringmatch risk: {exc}", file=sys.stderr)
        return 2
    if args.kill is not None:
        request: dict[str, Any] = {
            "op": "kill",
            "account": _account(args.kill),
            "on": True,
            "cancel_orders": not args.keep_orders,
            "why": args.why,
        }
    elif args.release is not None:
        request = {"op": "kill", "account": _account(args.release), "on": False}
    elif args.reload:
        request = {"op": "reload"}
    else:
        request = {"op": "state"}
    try:
        answer = query(args.socket, request)
    except (OSError, ValueError) as exc:
        print(f"ringmatch risk: no risk process at {args.socket}: {exc}", file=sys.stderr)
        return 1  # a failure at run time, as send's and feed's "cannot connect"
    if not answer.get("ok"):
        print(f"ringmatch risk: {answer.get('error')}", file=sys.stderr)
        return 1
    if args.json or request["op"] != "state":
        print(json.dumps(answer, indent=2, sort_keys=True))
    else:
        print(format_state(answer))
    return 0


def format_state(state: dict[str, Any]) -> str:
    lines = []
    switches = state.get("kill_switches", {})
    lines.append(
        "kill switches: "
        + (", ".join(f"{a} ({why})" for a, why in switches.items()) if switches else "none")
    )
    lines.append(f"{'account':<12} {'symbol':<8} {'position':>10} {'avg':>12} {'realised':>12}")
    for account, data in state.get("accounts", {}).items():
        for symbol, pos in data["symbols"].items():
            avg = "-" if pos["avg_price"] is None else f"{pos['avg_price']:.2f}"
            lines.append(
                f"{account:<12} {symbol:<8} {pos['position']:>10} {avg:>12} "
                f"{pos['realised_pnl']:>12.2f}"
            )
        tripped = f"  TRIPPED: {data['tripped']}" if data.get("tripped") else ""
        lines.append(f"{account:<12} {'total':<8} {'':>10} {'':>12} {data['pnl']:>12.2f}{tripped}")
    return "\n".join(lines)
