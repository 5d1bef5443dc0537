"""The server's configuration: a TOML file decoded with msgspec, unknown keys rejected by name.

    [server]   host, port (order entry), feed_port (market data), data_dir, workers,
               topology = "compact" | "processes" (default: compact for one worker),
               wait = "block" | "spin-then-block" | "busy-spin", spin_us,
               reader_wake_ms, reader_wake_records (how risk and the feed batch their reads)
    [cpus]     core, workers, risk, feed: the CPUs each role's processes are pinned to
    [journal]  fsync = "batch" | "interval" | "never", overlap (fsync "batch": sync a
               batch on a thread while the next one is matched; default false)
    [session]  heartbeat_s, timeout_s, logon_reject_delay_s, max_frame, max_outbound,
               socket_sndbuf, max_msgs_per_s (requests per second per session; 0: no throttle)
    [feed]     max_queued (bytes unread before a subscriber is cut off), redis_url, redis_maxlen
    [web]      port (the web console's HTTP port; not set: no console), host
    [risk]     the limits (risk/limits.py): kept as a table here, checked by the wiring
               (ringmatch.system_config.load), since the gateway does not import risk
    [[accounts]] name, token, admin (may read and change the risk state over the protocol)
    [[symbols]]  name, tick_size (a decimal string, for display only: the wire carries ticks),
               timezone (IANA, default "UTC"), schedule (a list of { at = "HH:MM",
               phase = "CONTINUOUS" }: the trading day, ringmatch.engine.core.schedule)
               and reference_price (ticks: its auctions' tie-break until it trades,
               V-AUC-2; carried by every scheduled SetPhase, so journalled)

Every table and key but the accounts' and symbols' own fields has a default;
with no file at all, ``DEFAULT`` is used (and ``serve`` prints it).
examples/ringmatch.toml holds every key, each with its default and values;
``ringmatch serve --print-config`` prints the configuration in force (``render``).
A relative path in a file (``PATH_KEYS``) is taken from the file's directory.
Errors name the file, the table and the key as written in TOML
(``[journal] fsync``, ``[[accounts]] #2 name``), and an enum's valid values.
``ringmatch send`` reads the same file for the accounts' tokens.
"""

from __future__ import annotations

import decimal
import json
import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

import msgspec

from ringmatch.engine.core.schedule import SymbolSchedule

MAX_NAME = (
    64  # bytes of an account or symbol name (records.layout.MAX_NAME: what a NAME event holds)
)


class ConfigError(ValueError):
    """A configuration that cannot be used; the message names the file and the key."""


class _Table(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    pass


class Server(_Table, frozen=True):
    host: str = "127.0.0.1"
    port: int = 7001
    feed_port: int = 7002
    data_dir: str = "data"
    workers: int = 1
    # Journalled inputs the core must not apply: ``serve --skip-seq`` sets it.
    skip_seqs: list[int] = []
    # "compact": the one gateway worker's event loop and the core in one process (two
    # fewer cross-process wake-ups per order); "processes": a process per role. None:
    # compact for one worker, processes for more (``Server.chosen_topology``).
    topology: Literal["compact", "processes"] | None = None
    # How a process with nothing to do waits on its rings (docs in README,
    # "Configuration"): "block" sleeps on a doorbell at once (shared machines);
    # "spin-then-block" spins spin_us first; "busy-spin" never sleeps (a dedicated core each).
    wait: Literal["block", "spin-then-block", "busy-spin"] = "block"
    spin_us: int = 50
    # Risk and the feed read the event ring in bites: they wake at most every
    # reader_wake_ms, or as soon as reader_wake_records records wait (0 ms: at every event).
    reader_wake_ms: float = 1.0
    reader_wake_records: int = 1024

    def chosen_topology(self) -> Literal["compact", "processes"]:
        if self.topology is not None:
            return self.topology
        return "compact" if self.workers == 1 else "processes"


class Journal(_Table, frozen=True):
    fsync: Literal["batch", "interval", "never"] = "batch"
    # fsync "batch": each batch's fdatasync runs on a thread while the core matches
    # (ringmatch.engine.journal.group_commit); its events still wait for it. False
    # (the default): the sync is inline, before the batch is matched, which measured
    # faster on this 2-vCPU machine (benchmarks/README.md: the hand-off to the sync
    # thread and back costs two cross-CPU wake-ups, more than the matching it hides).
    overlap: bool = False


class Cpus(_Table, frozen=True):
    """CPUs (os.sched_setaffinity) per role; empty: wherever the scheduler likes.
    Under the compact topology the core's list pins the one process of core and worker."""

    core: list[int] = []
    workers: list[int] = []
    risk: list[int] = []
    feed: list[int] = []


class SessionSettings(_Table, frozen=True):
    heartbeat_s: float = 1.0  # each side sends a Heartbeat after this long without sending
    timeout_s: float = 5.0  # a session that sends nothing for this long is closed
    logon_reject_delay_s: float = 0.2  # a wrong token waits this long before the close
    max_frame: int = 64 * 1024  # bytes of one frame body
    max_outbound: int = 4 * 1024 * 1024  # bytes queued for a slow reader before it is dropped
    socket_sndbuf: int = 0  # SO_SNDBUF of each session's socket; 0: the kernel's autotuning
    # Requests (orders, cancels, replaces, mass cancels, risk queries) per second per
    # session, a token bucket with a second's worth of burst; the excess is rejected
    # THROTTLED. 0: no throttle (the default: a benchmark client must not be capped).
    max_msgs_per_s: int = 0


class Feed(_Table, frozen=True):
    max_queued: int = 1 << 20  # bytes unread by one subscriber before it is cut off
    redis_url: str | None = None  # also publish to Redis Streams (one stream per symbol)
    redis_maxlen: int = 100_000  # entries kept per stream (XADD MAXLEN ~)


class Web(_Table, frozen=True):
    """The read-only web console (ringmatch.gateway.web): off unless ``port`` is set."""

    port: int | None = None  # 0: any free port
    host: str = "127.0.0.1"


class Account(_Table, frozen=True):
    name: str
    token: str
    admin: bool = False  # its sessions may send RiskQuery (docs/PROTOCOL.md)


class Transition(_Table, frozen=True):
    at: str  # a time of day, HH:MM or HH:MM:SS, in the symbol's time zone
    phase: str  # a TradingPhase: the phase the symbol enters at ``at``


class Symbol(_Table, frozen=True):
    name: str
    tick_size: str = "0.01"
    timezone: str = "UTC"
    schedule: list[Transition] = []  # empty: CONTINUOUS all day (VENUE_RULES.md V-SES-1)
    reference_price: int | None = None  # ticks; None: the last trade only (V-AUC-2)


class Config(_Table, frozen=True):
    server: Server = Server()
    journal: Journal = Journal()
    cpus: Cpus = Cpus()
    session: SessionSettings = SessionSettings()
    feed: Feed = Feed()
    web: Web = Web()
    accounts: list[Account] = []
    symbols: list[Symbol] = []
    risk: dict[str, Any] = {}  # the risk room's own table, checked by ringmatch.risk.limits

    def token_of(self, account: str) -> str | None:
        for entry in self.accounts:
            if entry.name == account:
                return entry.token
        return None

    def symbol_names(self) -> frozenset[str]:
        return frozenset(s.name for s in self.symbols)


_DEMO_ACCOUNTS = (
    "alice",
    "bob",
    "carol",
    "dave",
    "erin",
    "frank",
    "grace",
    "heidi",
    "ivan",
    "judy",
)
DEFAULT = Config(
    server=Server(data_dir="ringmatch-data"),
    # The accounts and symbols of examples/orders.csv, so that it can be sent as it is;
    # "admin" may read the risk state over the protocol.
    accounts=[
        *(Account(name, f"{name}-secret") for name in _DEMO_ACCOUNTS),
        Account("admin", "admin-secret", admin=True),
    ],
    symbols=[Symbol("ACME"), Symbol("BOLT"), Symbol("AAPL"), Symbol("BTC-USD", "0.5")],
    # Generous demo limits: they show the risk stage working without getting in the way.
    risk={"max_order_qty": 1_000_000, "max_open_orders": 100_000},
)


def _check(config: Config, where: str) -> Config:
    def bad(message: str) -> ConfigError:
        return ConfigError(f"{where}: {message}")

    server, session = config.server, config.session
    for key in ("port", "feed_port"):
        value = getattr(server, key)
        if not 0 <= value <= 65535:
            raise bad(f"[server] {key} = {value}: must be a TCP port, 0..65535 (0: any free port)")
    if config.web.port is not None and not 0 <= config.web.port <= 65535:
        raise bad(
            f"[web] port = {config.web.port}: must be a TCP port, 0..65535 (0: any free port)"
        )
    if server.workers < 1:
        raise bad(f"[server] workers = {server.workers}: must be >= 1")
    if server.topology == "compact" and server.workers != 1:
        raise bad(
            f'[server] topology = "compact" runs exactly one worker, not workers = '
            f'{server.workers}: set topology = "processes" (or leave it out)'
        )
    if server.spin_us < 0:
        raise bad(f"[server] spin_us = {server.spin_us}: must be >= 0")
    if server.reader_wake_ms < 0:
        raise bad(
            f"[server] reader_wake_ms = {server.reader_wake_ms}: must be >= 0 (0: every event)"
        )
    if server.reader_wake_records < 1:
        raise bad(f"[server] reader_wake_records = {server.reader_wake_records}: must be >= 1")
    try:
        usable = os.sched_getaffinity(0)
    except (AttributeError, OSError):
        usable = set()
    for role in ("core", "workers", "risk", "feed"):
        for index, cpu in enumerate(getattr(config.cpus, role)):
            if cpu < 0 or (usable and cpu not in usable):
                raise bad(
                    f"[cpus] {role}[{index}] = {cpu}: not a CPU this process may use "
                    f"({', '.join(map(str, sorted(usable)))})"
                )
    for key in ("heartbeat_s", "timeout_s", "logon_reject_delay_s"):
        if not getattr(session, key) > 0:
            raise bad(f"[session] {key} = {getattr(session, key)}: must be > 0")
    for key in ("max_frame", "max_outbound"):
        if getattr(session, key) < 64:
            raise bad(f"[session] {key} = {getattr(session, key)}: must be >= 64 bytes")
    if session.max_msgs_per_s < 0:
        raise bad(f"[session] max_msgs_per_s = {session.max_msgs_per_s}: must be >= 0 (0: off)")
    if config.feed.max_queued < 1024:
        raise bad(f"[feed] max_queued = {config.feed.max_queued}: must be >= 1024 bytes")
    if config.feed.redis_maxlen < 1:
        raise bad(f"[feed] redis_maxlen = {config.feed.redis_maxlen}: must be >= 1")
    for kind, names in (
        ("accounts", [a.name for a in config.accounts]),
        ("symbols", [s.name for s in config.symbols]),
    ):
        for index, name in enumerate(names):
            if not name:
                raise bad(f"{place([kind, index], 'name')}: empty")
            if len(name.encode()) > MAX_NAME:
                # Names ride in every ring record, whose slots are a fixed size.
                raise bad(f"{place([kind, index], 'name')}: longer than {MAX_NAME} bytes")
            if name in names[:index]:
                raise bad(f"{place([kind, index], 'name')}: {name!r} appears twice")
    for index, symbol in enumerate(config.symbols):
        try:
            tick = decimal.Decimal(symbol.tick_size)
        except decimal.InvalidOperation:
            tick = decimal.Decimal(0)
        if not tick.is_finite() or tick <= 0:
            raise bad(
                f"{place(['symbols', index], 'tick_size')} = {symbol.tick_size!r}: "
                "not a decimal > 0"
            )
        try:
            SymbolSchedule.parse(symbol.name, symbol.timezone, schedule_entries(symbol))
        except ValueError as exc:
            raise bad(f"{place(['symbols', index])} {exc}") from None
        if symbol.reference_price is not None and symbol.reference_price <= 0:
            raise bad(
                f"{place(['symbols', index], 'reference_price')} = {symbol.reference_price}: "
                "not a price in ticks > 0"
            )
        if symbol.reference_price is not None and not symbol.schedule:
            raise bad(
                f"{place(['symbols', index], 'reference_price')}: the symbol has no "
                "schedule, and the reference price rides on its scheduled transitions"
            )
    return config


def schedule_entries(symbol: Symbol) -> list[tuple[str, str]]:
    """A symbol's schedule as (at, phase) pairs, as the core takes it."""
    return [(t.at, t.phase) for t in symbol.schedule]


# Keys holding a path: a relative one in a file is taken from the file's directory.
PATH_KEYS = (("server", "data_dir"),)


def load(path: str | Path | None) -> Config:
    """The configuration in ``path`` (DEFAULT when None); ConfigError naming what is wrong.

    Relative paths in the file (``PATH_KEYS``) come back absolute, from the file's
    directory, so the same file means the same directories from any current one."""
    if path is None:
        return DEFAULT
    where = str(path)
    try:
        with open(path, "rb") as stream:
            table = tomllib.load(stream)
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: not valid TOML: {exc}") from None
    try:
        config = msgspec.convert(table, Config)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"{where}: {explain(str(exc), Config)}") from None
    return _anchor_paths(_check(config, where), os.path.dirname(os.path.abspath(path)))


def _anchor_paths(config: Config, base: str) -> Config:
    for table_name, key in PATH_KEYS:
        table = getattr(config, table_name)
        value = getattr(table, key)
        if not os.path.isabs(value):
            table = msgspec.structs.replace(
                table, **{key: os.path.abspath(os.path.join(base, value))}
            )
            config = msgspec.structs.replace(config, **{table_name: table})
    return config


_PATH_PART = re.compile(r"\.?([^.\[\]`]+)|\[(\d+)\]")


def place(table: list[str | int], key: str = "") -> str:
    """A table (its path into the file) and a key in it, as the TOML writes them:
    ``[journal] fsync``, ``[server]``, ``[[accounts]] #2 name`` (the second
    ``[[accounts]]`` table), ``[cpus] core[0]``; a key at the top: the key alone."""
    dotted = ".".join(str(s) for s in table if isinstance(s, str))
    if not table:
        header = ""
    elif isinstance(table[-1], int):
        header = f"[[{dotted}]] #{table[-1] + 1}"
    else:
        header = f"[{dotted}]"
    return f"{header} {key}" if header and key else header or key


def explain(message: str, root: Any, prefix: tuple[str, ...] = ()) -> str:
    """msgspec's ``Invalid enum value 'x' - at `$.journal.fsync``` (decoding into
    ``root``, a table found at ``prefix`` in the file) as ``[journal] fsync: 'x' is
    not one of 'batch', 'interval', 'never'``: the table and key as the file writes
    them, an enum's values, an unknown key's table's keys."""
    text, _, at = message.partition(" - at `$")
    path: list[str | int] = [int(i) if i else name for name, i in _PATH_PART.findall(at)]
    info = _info_at(msgspec.inspect.type_info(root), path)
    full: list[str | int] = [*prefix, *path]
    if isinstance(info, msgspec.inspect.StructType):
        where = place(full)  # the table itself: an unknown or missing key
        unknown = re.fullmatch(r"Object contains unknown field `(.*)`", text)
        missing = re.fullmatch(r"Object missing required field `(.*)`", text)
        if unknown:
            known = ", ".join(f.encode_name for f in info.fields)
            if full and isinstance(full[-1], int):  # any of an array of tables
                kind = f"[[{'.'.join(str(s) for s in full if isinstance(s, str))}]]"
            else:
                kind = where or "the top level"
            return f"{place(full, unknown.group(1))}: unknown key; {kind} takes {known}"
        if missing:
            text = f"the required key {missing.group(1)} is missing"
        return f"{where}: {text}" if where else text
    names = [i for i, s in enumerate(full) if isinstance(s, str)]
    if not names:
        return text
    table, key = full[: names[-1]], full[names[-1] :]
    where = place(table, "".join(f"[{s}]" if isinstance(s, int) else s for s in key))
    enum = re.fullmatch(r"Invalid enum value (.*)", text)
    if enum and isinstance(info, msgspec.inspect.LiteralType):
        values = ", ".join(repr(v) for v in info.values)
        return f"{where}: {enum.group(1)} is not one of {values}"
    return f"{where}: {text}"


def _info_at(info: Any, path: list[str | int]) -> Any:
    """The msgspec.inspect type at ``path`` below ``info`` (None: not found);
    an optional type (``X | None``) stands for its X."""
    for segment in [*path, None]:
        if isinstance(info, msgspec.inspect.UnionType):
            others = [t for t in info.types if not isinstance(t, msgspec.inspect.NoneType)]
            info = others[0] if len(others) == 1 else info
        if segment is None:
            return info
        if isinstance(segment, int):
            info = getattr(info, "item_type", None)
        elif isinstance(info, msgspec.inspect.StructType):
            fields = {f.encode_name: f.type for f in info.fields}
            info = fields.get(segment)
        else:
            return None
    return info


def render(config: Config, as_json: bool = False) -> str:
    """``config`` in full, every default filled in, as TOML (a file ``load`` reads back
    to the same configuration) or JSON; account tokens masked."""
    masked = msgspec.structs.replace(
        config, accounts=[msgspec.structs.replace(a, token="***") for a in config.accounts]
    )
    data = msgspec.to_builtins(masked)
    if as_json:
        return msgspec.json.format(msgspec.json.encode(data), indent=2).decode() + "\n"
    import tomli_w

    # TOML has no null: a key whose value is None is left out (its default applies).
    head = ['# The configuration in force (account tokens masked as "***").']
    for name, table in data.items():
        for key, value in list(table.items()) if isinstance(table, dict) else ():
            if value is None:
                del table[key]
                head.append(f"# [{name}] {key}: not set" + _unset_means(config, name, key))
    for index, symbol in enumerate(data.get("symbols", [])):  # an array of tables' too
        for key, value in list(symbol.items()):
            if value is None:
                del symbol[key]
                head.append(f"# [[symbols]] {index} {key}: not set")
    head.append("# [risk]: a limit not shown is no limit (ringmatch.risk.limits).")
    head.append("")
    return "\n".join(head) + "\n" + tomli_w.dumps(data)


def _unset_means(config: Config, table: str, key: str) -> str:
    if (table, key) == ("server", "topology"):
        return f", so {config.server.chosen_topology()!r} for workers = {config.server.workers}"
    if (table, key) == ("web", "port"):
        return ", so no web console (serve --web-port P turns it on)"
    return ""


def describe(config: Config, show_tokens: bool = False) -> str:
    """What the server will use (printed by ``serve`` at start); tokens only if asked."""
    server = config.server
    lines = [
        # Not "listening": nothing is bound yet (serve says so once it is, with the ports).
        f"host {server.host}, order-entry port {_port(server.port)}, "
        f"feed port {_port(server.feed_port)}",
        f"data directory {Path(server.data_dir).resolve()}, journal fsync {config.journal.fsync}"
        + (" (overlapped)" if config.journal.fsync == "batch" and config.journal.overlap else ""),
        f"topology {server.chosen_topology()}, wait {server.wait}; "
        f"workers {server.workers}; heartbeat {config.session.heartbeat_s} s, "
        f"timeout {config.session.timeout_s} s; throttle "
        + (
            f"{config.session.max_msgs_per_s} requests/s"
            if config.session.max_msgs_per_s
            else "off"
        ),
        "risk limits: " + _risk_summary(config.risk),
        "accounts: "
        + ", ".join(
            (f"{a.name} (token {a.token!r})" if show_tokens else a.name)
            + (" [admin]" if a.admin else "")
            for a in config.accounts
        ),
        "symbols: " + ", ".join(f"{s.name} (tick {s.tick_size})" for s in config.symbols),
        "web console: "
        + (
            "off ([web] port or --web-port turns it on)"
            if config.web.port is None
            else f"on {config.web.host}:{config.web.port} (0: any free port)"
        ),
    ]
    return "\n".join(lines)


def _port(port: int) -> str:
    return f"{port}" if port else "0 (any free one)"


def _risk_summary(table: dict[str, Any]) -> str:
    scalars = [f"{k} = {v}" for k, v in table.items() if k != "accounts"]
    overrides = len(table.get("accounts", []))
    if overrides:
        scalars.append(f"{overrides} account override(s)")
    return ", ".join(scalars) or "none"


def risk_toml(table: dict[str, Any]) -> str:
    """The embedded default's ``[risk]`` table as TOML (the risk process reads a file)."""
    lines = ["[risk]"]
    lines += [f"{k} = {v}" for k, v in table.items() if k != "accounts"]
    for override in table.get("accounts", []):
        lines.append("[[risk.accounts]]")
        lines += [f"{k} = {json.dumps(v)}" for k, v in override.items()]
    return "\n".join(lines) + "\n"
