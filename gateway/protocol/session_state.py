"""The session state machine, as data: which message may be sent in which state.

One table serves both ends. Each end applies it to what it sends and to what it
receives, so a client and a server that agree on the bytes agree on the state::

    AWAIT_LOGON ──Logon▶ LOGON_PENDING ──LogonAccepted▶ DIRECTORY ──SymbolDirectory x n▶ ACTIVE
                              │                                                      │
                              │                  LOGGING_OUT ◀──Logout (client)──────┤
                              │                       │                              │
                              └──LogonRejected──▶ CLOSED ◀──────Logout (server)──────┘

A server-sent Logout closes the session from any state (that is how the server
says why it drops a connection). Anything received in CLOSED is ignored: it was
sent before the peer learnt the session was over.

DIRECTORY is the one move the table cannot hold alone, since it counts:
LogonAccepted says how many SymbolDirectory messages follow (``symbol_count``;
0 goes straight to ACTIVE) and the last of them makes the session ACTIVE. The
table says where each leads once the count is done; the Connection keeps the
count. A client sends nothing in DIRECTORY: it has not yet the ids to name a
symbol with.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Mapping

from ringmatch.gateway.protocol.messages import (
    Cancel,
    ExecutionReport,
    Heartbeat,
    Logon,
    LogonAccepted,
    LogonRejected,
    Logout,
    MassCancel,
    MassCancelDone,
    MessageReject,
    NewOrder,
    Replace,
    RiskQuery,
    RiskState,
    SymbolDirectory,
    Sync,
    Synced,
)


class State(enum.Enum):
    AWAIT_LOGON = "AWAIT_LOGON"
    LOGON_PENDING = "LOGON_PENDING"
    DIRECTORY = "DIRECTORY"
    ACTIVE = "ACTIVE"
    LOGGING_OUT = "LOGGING_OUT"
    CLOSED = "CLOSED"


class Direction(enum.Enum):
    TO_SERVER = "TO_SERVER"
    TO_CLIENT = "TO_CLIENT"


_AWAIT, _PENDING, _DIRECTORY, _ACTIVE, _OUT, _CLOSED = State
_UP, _DOWN = Direction.TO_SERVER, Direction.TO_CLIENT

TRANSITIONS: dict[tuple[State, Direction, type], State] = {
    (_AWAIT, _UP, Logon): _PENDING,
    (_PENDING, _DOWN, LogonAccepted): _ACTIVE,  # through DIRECTORY when symbol_count > 0
    (_DIRECTORY, _DOWN, SymbolDirectory): _ACTIVE,  # after the last one; DIRECTORY before
    (_PENDING, _DOWN, LogonRejected): _CLOSED,
    **{
        (_ACTIVE, _UP, t): _ACTIVE
        for t in (NewOrder, Cancel, Replace, MassCancel, Heartbeat, Sync, RiskQuery)
    },
    (_ACTIVE, _UP, Logout): _OUT,
    # Reports keep flowing while a client-asked logout is answered.
    **{
        (s, _DOWN, t): s
        for s in (_ACTIVE, _OUT)
        for t in (ExecutionReport, MessageReject, MassCancelDone, Synced, RiskState, Heartbeat)
    },
    **{(s, _DOWN, Logout): _CLOSED for s in State},
}


@functools.cache
def moves(state: State, direction: Direction) -> Mapping[type, State]:
    """Every message type allowed ``direction`` in ``state``, with the state after it.

    ``TRANSITIONS`` keyed by type alone: a connection looks this up once per state
    change and then checks each message with one dict lookup by type. Looking up a
    (State, Direction, type) tuple instead hashes it, and an Enum's ``__hash__`` is
    Python code: two calls per message were ~13% of a worker's CPU at saturation.
    (Cached per pair; callers must not mutate it.)
    """
    return {t: after for (s, d, t), after in TRANSITIONS.items() if s is state and d is direction}
