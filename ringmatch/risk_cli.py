"""``ringmatch risk``: ask the running server's risk process, over its admin socket.

    ringmatch risk [--socket PATH | --config FILE]  the state: positions, P&L, kill switches
    ringmatch risk --kill ACCOUNT|'*' [--keep-orders] [--why TEXT]
    ringmatch risk --release ACCOUNT|'*'            switch a kill switch off (re-arms limits)
    ringmatch risk --reload                         re-read the limits (as SIGHUP)
    ... [--json]                                    the raw answer instead of a table

The socket is ``DATA_DIR/risk.sock`` of the server: ``--config`` names the
server's TOML to find it; without either, ``data/risk.sock``, or the built-in
configuration's ``ringmatch-data/risk.sock`` when only that one exists.

The table: one row per account and symbol with its position, average cost,
mark (the last trade price, which marks the position), realised and
unrealised P&L and their total, all with the symbol's tick size applied
(prices in decimals, ``[[symbols]] tick_size``); one ``total`` row per account
puts each sum under its own header. ``--kill`` and ``--release`` say what they
did: the account, and for a kill how many resting orders the core cancelled
(its MASS_CANCELLED count, risk/service.py "Cancel counts").

Exit status (README.md, "Exit status"): 0 done, 1 the server refused (its reason
on stderr) or no server at the socket, 2 usage, a bad configuration or an
unknown account.
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
    act.add_argument(
        "--phase",
        nargs=2,
        metavar=("SYMBOL", "PHASE"),
        help="move SYMBOL to a trading phase (PRE_OPEN, OPENING_AUCTION, CONTINUOUS, "
        "CLOSING_AUCTION, CLOSED, HALTED): a journalled SetPhase",
    )
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
    elif args.phase is not None:
        request = {"op": "phase", "symbol": args.phase[0], "phase": args.phase[1]}
    else:
        request = {"op": "state"}
    try:
        answer = query(args.socket, request, timeout=QUERY_TIMEOUT)
    except (OSError, ValueError) as exc:
        print(f"ringmatch risk: no risk process at {args.socket}: {exc}", file=sys.stderr)
        return 1  # a failure at run time, as send's and feed's "cannot connect"
    if not answer.get("ok"):
        print(f"ringmatch risk: {answer.get('error')}", file=sys.stderr)
        return 2 if "unknown_account" in answer else 1
    if args.json:
        print(json.dumps(answer, indent=2, sort_keys=True))
    elif request["op"] == "state":
        print(format_state(answer))
    elif request["op"] == "kill":
        print(format_kill(answer))
    else:
        print(answer.get("message", "done"))
    return 0


QUERY_TIMEOUT = 10.0  # s: a kill's answer waits up to 2 s for the core's cancels


def _who(account: str | None) -> str:
    return "the global kill switch" if account is None else f"account {account}"


def format_kill(answer: dict[str, Any]) -> str:
    """What a kill or release did, from the risk process's answer."""
    who = _who(answer.get("account"))
    if not answer.get("on"):
        return f"kill switch off for {who}: orders accepted again, post-trade limits re-armed"
    line = f"kill switch on for {who} (why: {answer.get('why') or 'admin'})"
    if not answer.get("cancel_orders"):
        return f"{line}; resting orders kept (--keep-orders)"
    count = answer.get("cancelled")
    if count is None:
        return (
            f"{line}; the core has not confirmed its cancels yet, so the count is "
            "unknown: see `ringmatch risk` and the journal"
        )
    orders = "order" if count == 1 else "orders"
    by = answer.get("cancelled_by_account") or {}
    if answer.get("account") is None:
        accounts = ", ".join(f"{a} {n}" for a, n in by.items()) or "no account had any"
        seen = "" if answer.get("confirmed") else " (counted within the 2 s wait; later ones not)"
        return f"{line}; {count} resting {orders} cancelled by the core: {accounts}{seen}"
    return f"{line}; {count} resting {orders} cancelled by the core (its MASS_CANCELLED count)"


COLUMNS = ("account", "symbol", "position", "avg cost", "mark", "realised", "unrealised", "total")
WIDTHS = (12, 8, 10, 14, 12, 14, 14, 14)


def _row(cells: tuple[object, ...]) -> str:
    left = 2  # account and symbol read left to right, numbers align right
    return " ".join(
        f"{c!s:<{w}}" if i < left else f"{c!s:>{w}}"
        for i, (c, w) in enumerate(zip(cells, WIDTHS, strict=True))
    ).rstrip()


def format_state(state: dict[str, Any]) -> str:
    """The state as a table: prices and P&L in decimals (tick sizes applied)."""
    lines = []
    switches = state.get("kill_switches", {})
    lines.append(
        "kill switches: "
        + (", ".join(f"{a} ({why})" for a, why in switches.items()) if switches else "none")
    )
    ticks = state.get("tick_sizes") or {}
    lines.append(
        "prices and P&L: ticks x tick size ("
        + (", ".join(f"{s} {t}" for s, t in ticks.items()) if ticks else "none configured: ticks")
        + "); mark = the symbol's last trade price; unrealised = position x (mark - avg cost)"
    )
    lines.append(_row(COLUMNS))
    for account, data in state.get("accounts", {}).items():
        for symbol, pos in data["symbols"].items():
            lines.append(
                _row(
                    (
                        account,
                        symbol,
                        pos["position"],
                        pos["avg_cost"] or "-",
                        pos["mark_price"],
                        pos["realised"],
                        pos["unrealised"],
                        pos["total"],
                    )
                )
            )
        totals = data["totals"]
        tripped = f"  TRIPPED: {data['tripped']}" if data.get("tripped") else ""
        row = (account, "total", "", "", "", totals["realised"], totals["unrealised"])
        lines.append(_row((*row, totals["total"])) + tripped)
    return "\n".join(lines)
