"""The order-entry messages, as Python sees them: one frozen Struct per message type.

On the wire each is a fixed little-endian layout (versions 2 and 3, chosen at
Logon: the codec is ringmatch.gateway.protocol.message_codec, the bytes are
docs/PROTOCOL.md; version 3 adds the venue's fields to NewOrder and Replace). Here they keep
the names a program wants: symbols are names (the wire's symbol ids are the
connection's business), enums are the shared schema's members
(ringmatch.engine.schema.enums), a price that is not there is None (0 on the
wire). Client to server types are 1..9, server to client 11..18; Heartbeat (6)
and Logout (7) go both ways. Prices are integer ticks and quantities integer
lots; there is no account field on an order: the session's account (from its
Logon) is used.
"""

from __future__ import annotations

import enum
from typing import Any

import msgspec

from ringmatch.engine.schema.enums import OrderType, Side, StpMode, TimeInForce

PROTOCOL_VERSION = 2
"""The version a Logon asks for unless told otherwise (what every client spoke before 3)."""
VENUE_VERSION = 3
"""The first version whose NewOrder and Replace carry the venue's fields (stops, icebergs, GTD)."""
PROTOCOL_VERSIONS = (PROTOCOL_VERSION, VENUE_VERSION)
"""Every version a session can speak; the Logon's ``protocol_version`` picks one."""


class _Message(msgspec.Struct, frozen=True, gc=False, tag_field="type"):
    """Base: the tag is the wire's message type; scalars only (never in a cycle)."""


# --- client to server ----------------------------------------------------------------------


class Logon(_Message, frozen=True, tag=1):
    """The first message of every session: who is calling, and how to treat a drop.

    ``protocol_version`` (one of ``PROTOCOL_VERSIONS``) is the version the session
    will speak, from the server's answer on."""

    account: str
    token: str
    protocol_version: int = PROTOCOL_VERSION
    cancel_on_disconnect: bool = False


class NewOrder(_Message, frozen=True, tag=2):
    """Enter an order. ``price`` None for a market order or a STOP; ``tif`` None for the
    default. The venue's fields (None: not set) need a version-3 session:
    ``trigger_price`` for STOP and STOP_LIMIT, ``display_qty`` for an iceberg,
    ``expire_ts`` (ns since the epoch) for GTD."""

    client_order_id: int
    symbol: str
    side: Side
    order_type: OrderType
    price: int | None
    qty: int
    tif: TimeInForce | None = None
    post_only: bool = False
    stp: StpMode = StpMode.NONE
    trigger_price: int | None = None
    display_qty: int | None = None
    expire_ts: int | None = None


class Cancel(_Message, frozen=True, tag=3):
    """Cancel the session account's order that was entered as ``client_order_id``."""

    client_order_id: int


class Replace(_Message, frozen=True, tag=4):
    """New price and remaining quantity for the account's order ``client_order_id``.

    Version 3 only: ``price`` None keeps the price as it is (a held STOP has none),
    ``trigger_price`` a held stop's new trigger (None: unchanged).
    """

    client_order_id: int
    price: int | None
    qty: int
    trigger_price: int | None = None


class MassCancel(_Message, frozen=True, tag=5):
    """Cancel every resting order of the session's account (of ``symbol`` only, if given)."""

    symbol: str | None = None


class Heartbeat(_Message, frozen=True, tag=6):
    """Sent by either side when it has said nothing for a heartbeat interval."""


class Logout(_Message, frozen=True, tag=7):
    """Either side is closing the session; ``reason`` says why (empty: a plain goodbye)."""

    reason: str = ""


class Sync(_Message, frozen=True, tag=8):
    """Ask for a Synced once every report of the core's inputs up to ``seq`` has been sent.

    A barrier: reports for one account can come over several sessions (and
    workers), so "nothing more will come for seq <= N" needs asking.
    """

    seq: int


class RiskQuery(_Message, frozen=True, tag=9):
    """An admin account's request to the risk process; answered by a RiskState.

    ``op`` (one of ``RISK_OPS``): "state" (positions, P&L, kill switches, limits), "kill" (switch
    ``account``'s kill switch, or the global one when None, ``on`` or off;
    ``cancel_orders``: also cancel its resting orders), or "reload" (re-read the
    limits from the configuration file). ``request_id`` comes back in the answer.
    """

    request_id: int
    op: str = "state"
    account: str | None = None
    on: bool = True
    cancel_orders: bool = True
    why: str = ""


RISK_OPS = ("state", "kill", "reload")  # RiskQuery.op; on the wire its code is index + 1


# --- server to client ----------------------------------------------------------------------


class LogonAccepted(_Message, frozen=True, tag=11):
    """The session is open: heartbeat every ``heartbeat_s``; silent past ``timeout_s``: closed.

    ``worker`` and ``session`` name the session in the server (its gateway worker,
    and its number there): the journal's SessionOpened/SessionClosed carry both.
    ``symbol_count`` SymbolDirectory messages follow it before the session is ACTIVE.
    """

    account: str
    heartbeat_s: float
    timeout_s: float
    worker: int = 0
    session: int = 0
    symbol_count: int = 0


class SymbolDirectory(_Message, frozen=True, tag=18):
    """One symbol the server trades: on the wire orders name it by ``symbol_id``.

    The id is the symbol's 1-based position in the server's ``[[symbols]]`` list;
    the server sends the whole directory right after LogonAccepted.
    """

    symbol_id: int
    name: str


class LogonRejected(_Message, frozen=True, tag=12):
    """The logon failed (bad account or token, wrong version); the server closes after it."""

    reason: str


class ExecType(enum.Enum):
    ACCEPTED = "ACCEPTED"
    REJECTED = "REJECTED"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELLED = "CANCELLED"
    REPLACED = "REPLACED"
    KILLED = "KILLED"  # a fill-or-kill order that could not fill whole
    REDUCED = "REDUCED"  # self-trade prevention (DECREMENT) took quantity off; it lives on
    # Version 3 only: what the venue's rules did to an order (a v2 session is not told).
    TRIGGERED = "TRIGGERED"  # a held stop was released into the book
    REFRESHED = "REFRESHED"  # an iceberg showed a new slice, at the back of its price level


class ExecutionReport(_Message, frozen=True, tag=13):
    """What happened to one of the account's orders (or requests).

    ``order_id`` is the core's id (0 when a request was rejected before the order
    had one). ``reason`` is the RejectReason (REJECTED) or CancelReason
    (CANCELLED, KILLED, REDUCED) value, else empty; ``request`` says which
    request a REJECTED answers: NEW, CANCEL, REPLACE or MASS_CANCEL. ``last_*``
    and ``trade_id`` are set on fills only. ``seq`` is the core's sequence number
    of the input that caused it.
    """

    seq: int
    exec_type: ExecType
    order_id: int
    client_order_id: int
    symbol: str
    side: Side | None
    price: int | None
    last_price: int | None
    last_qty: int
    cum_qty: int
    leaves_qty: int
    trade_id: int
    reason: str = ""
    request: str = ""


class MessageReject(_Message, frozen=True, tag=14):
    """A message that could not be processed: which message and field, and why.

    ``client_order_id`` is the one the rejected message carried, when it could be
    read (0 otherwise); ``message`` is its type name ("" when not even that).
    """

    message: str
    field: str
    reason: str
    client_order_id: int = 0


class MassCancelDone(_Message, frozen=True, tag=15):
    """A mass cancel of the account's orders is done: ``count`` were cancelled."""

    seq: int
    symbol: str | None
    count: int
    reason: str


class Synced(_Message, frozen=True, tag=16):
    """The answer to Sync: every report for inputs up to ``seq`` went out before this."""

    seq: int


class RiskState(_Message, frozen=True, tag=17):
    """The answer to RiskQuery ``request_id``: ``ok``, else ``error`` says why.

    ``state`` is the risk process's answer as a map (for "state": ``accounts``,
    ``last_prices``, ``kill_switches``, ``limits``; see docs/PROTOCOL.md). It nests
    only maps, lists and scalars, never a cycle, so gc=False stays safe.
    """

    request_id: int
    ok: bool
    error: str = ""
    state: dict[str, Any] = {}


ClientMessage = (
    Logon | NewOrder | Cancel | Replace | MassCancel | Heartbeat | Logout | Sync | RiskQuery
)
ServerMessage = (
    LogonAccepted
    | SymbolDirectory
    | LogonRejected
    | ExecutionReport
    | MessageReject
    | MassCancelDone
    | Synced
    | RiskState
    | Heartbeat
    | Logout
)
Message = ClientMessage | ServerMessage

CLIENT_TYPES: dict[int, type[msgspec.Struct]] = {
    t.__struct_config__.tag: t  # type: ignore[misc]
    for t in (Logon, NewOrder, Cancel, Replace, MassCancel, Heartbeat, Logout, Sync, RiskQuery)
}
SERVER_TYPES: dict[int, type[msgspec.Struct]] = {
    t.__struct_config__.tag: t  # type: ignore[misc]
    for t in (
        LogonAccepted,
        SymbolDirectory,
        LogonRejected,
        ExecutionReport,
        MessageReject,
        MassCancelDone,
        Synced,
        RiskState,
        Heartbeat,
        Logout,
    )
}
