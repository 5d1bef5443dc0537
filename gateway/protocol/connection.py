"""The order-entry protocol, sans-IO (h11 style): bytes in, messages out; it owns no socket.

    conn = Connection(Role.SERVER, symbols=["AAPL", "MSFT"])
    conn.receive_data(chunk)                 # whatever the socket gave
    while (event := conn.next_event()) is not NEED_DATA:
        ...                                  # a ClientMessage, or a BadMessage to answer
    transport.write(conn.send_many(reports)) # the bytes of the messages, back to back

The stream (docs/PROTOCOL.md has the bytes; ringmatch.gateway.protocol.message_codec
the codec) is messages back to back, each starting with a 4-byte header whose u16
length counts the whole message. A length under 4 or over ``max_frame``
cannot be skipped safely (the length itself may be garbage), so it is fatal.
A message with a sane length that does not decode is not: the stream still
holds, so it is answered with a BadMessage and the stream goes on. Messages
are checked against the session state table
(ringmatch.gateway.protocol.session_state); a message the state does not
allow is fatal.

The version is negotiated at Logon: a connection speaks version 2 until a
Logon asks for another it knows (``PROTOCOL_VERSIONS``), then that one both
ways (the server's answer, LogonAccepted or LogonRejected, already in it).
A header version that is not the session's is a BadMessage, as ever.

Symbols travel as ids (1-based positions in the server's ``[[symbols]]``
list). A server's connection is given the list; a client's learns it from the
SymbolDirectory messages after LogonAccepted (``symbols``); either way the
messages keep names.

Bytes are decoded lazily, one message per ``next_event``, so the outcome never
depends on how the bytes arrive: a fatal error is raised once every message
before it has been handed out. Fatal problems raise ``ProtocolError`` (its
``reason`` goes into the Logout the server sends before closing). Any other
exception is a bug; the fuzz tests hold the protocol to that.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from typing import Any, Final

from ringmatch.gateway.protocol.message_codec import BadMessage, Codec, WireError
from ringmatch.gateway.protocol.messages import (
    CLIENT_TYPES,
    PROTOCOL_VERSIONS,
    SERVER_TYPES,
    ClientMessage,
    ExecutionReport,
    Logon,
    LogonAccepted,
    ServerMessage,
    SymbolDirectory,
)
from ringmatch.gateway.protocol.session_state import Direction, State, moves
from ringmatch.gateway.protocol.symbols import SymbolTable
from ringmatch.gateway.protocol.wire import HEADER, HEADER_SIZE

__all__ = [
    "DEFAULT_MAX_FRAME",
    "HEADER_SIZE",
    "NEED_DATA",
    "BadMessage",
    "Connection",
    "LocalProtocolError",
    "ProtocolError",
    "Role",
]

DEFAULT_MAX_FRAME = 64 * 1024
"""The longest message a connection takes (its u16 length caps it at 65535 anyway)."""

_CLOSED, _ACTIVE, _DIRECTORY = State.CLOSED, State.ACTIVE, State.DIRECTORY


class Role(enum.Enum):
    CLIENT = "CLIENT"
    SERVER = "SERVER"


class _NeedData:
    def __repr__(self) -> str:
        return "NEED_DATA"


NEED_DATA: Final = _NeedData()
"""``next_event()``: no whole message yet; feed more bytes."""


class ProtocolError(Exception):
    """The peer broke the protocol so that the session cannot go on; ``reason`` says how."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class LocalProtocolError(ProtocolError):
    """We were about to send something the session state does not allow (our bug)."""


class Connection:
    """One end of one session: the stream, decoding, the symbol directory and the state table."""

    __slots__ = (
        "_at",
        "_buf",
        "_decoders",
        "_directory_left",
        "_in_dir",
        "_in_moves",
        "_out_dir",
        "_out_moves",
        "_state",
        "codec",
        "error",
        "max_frame",
        "role",
        "symbols",
    )

    @property
    def version(self) -> int:
        """The protocol version this session speaks (2 until a Logon picks another)."""
        return self.codec.version

    def _logon_picks(self, logon: Logon) -> None:
        """Speak the Logon's version from here on, if it is one we speak: a server
        answers in it, a client reads the answer in it."""
        if logon.protocol_version in PROTOCOL_VERSIONS:
            self.codec.use_version(logon.protocol_version)

    def __init__(
        self, role: Role, max_frame: int = DEFAULT_MAX_FRAME, symbols: Iterable[str] = ()
    ) -> None:
        self.role = role
        self.max_frame = max_frame
        self.error: ProtocolError | None = None
        self._buf = bytearray()
        self._at = 0  # where the next message starts in _buf
        self.symbols = SymbolTable(symbols)
        incoming = CLIENT_TYPES if role is Role.SERVER else SERVER_TYPES
        self.codec = Codec(list(incoming.values()), self.symbols, max_frame)
        self._decoders = self.codec.decoders
        if role is Role.SERVER:
            self._in_dir, self._out_dir = Direction.TO_SERVER, Direction.TO_CLIENT
        else:
            self._in_dir, self._out_dir = Direction.TO_CLIENT, Direction.TO_SERVER
        self._directory_left = 0  # SymbolDirectory messages still to come (state DIRECTORY)
        self.state = State.AWAIT_LOGON

    @property
    def state(self) -> State:
        return self._state

    @state.setter
    def state(self, state: State) -> None:
        # The moves allowed from here, each way, looked up once per state change so
        # that checking a message is one dict lookup by its type (session_state.moves).
        self._state = state
        self._in_moves = moves(state, self._in_dir)
        self._out_moves = moves(state, self._out_dir)

    @property
    def trailing_data(self) -> bytes:
        """Bytes received but not yet handed out as messages."""
        return bytes(self._buf[self._at :])

    def take_trailing_data(self) -> bytes:
        """``trailing_data``, handed over: the caller reads the stream from here on.
        Nothing held (the usual case, once a session is active): no copy made."""
        if self._at >= len(self._buf):
            return b""
        data = self.trailing_data
        self._buf.clear()
        self._at = 0
        return data

    def reports_allowed(self) -> bool:
        """Whether the state lets an ExecutionReport out (a server's reports in wire form
        that bypass ``send``: gateway/wire writes them)."""
        return ExecutionReport in self._out_moves

    def _after(self, state: State, left: int, message: Any, outgoing: bool) -> tuple[State, int]:
        """The state (and directory messages left) after ``message``; the table, plus the
        one count it cannot hold: LogonAccepted opens DIRECTORY for ``symbol_count``
        SymbolDirectory messages, the last of which makes the session ACTIVE."""
        after = moves(state, self._out_dir if outgoing else self._in_dir)[type(message)]
        kind = type(message)
        if kind is LogonAccepted and message.symbol_count > 0:
            return _DIRECTORY, message.symbol_count
        if kind is SymbolDirectory:
            left -= 1
            return (after if left <= 0 else _DIRECTORY), left
        return after, left

    # --- receiving ---------------------------------------------------------------------------

    def receive_data(self, data: bytes) -> None:
        """Take bytes from the peer; they are read as ``next_event`` asks."""
        if self.error is None:  # else the stream is already beyond trust
            self._buf += data

    def _fail(self, reason: str) -> ProtocolError:
        self.error = ProtocolError(reason)
        self._buf.clear()
        self._at = 0
        return self.error

    def next_event(self) -> Any:
        """The next message (or BadMessage), or NEED_DATA; ProtocolError if it is not allowed."""
        if self.error is not None:
            raise self.error
        buf = self._buf
        while True:
            at = self._at
            available = len(buf) - at
            if available < HEADER_SIZE:
                if at:
                    del buf[:at]
                    self._at = 0
                return NEED_DATA
            length, kind, version = HEADER.unpack_from(buf, at)
            if length < HEADER_SIZE or length > self.max_frame:
                raise self._fail(
                    f"message length {length} is outside 4..{self.max_frame}"
                    if length < HEADER_SIZE
                    else f"message of {length} bytes exceeds the maximum of {self.max_frame}"
                )
            if available < length:
                if at:
                    del buf[:at]
                    self._at = 0
                return NEED_DATA
            self._at = at + length
            if self._state is _CLOSED:
                continue  # sent before the peer knew the session was over
            # The codec's decode, inlined for the common case (a type we read, our version).
            decoder = self._decoders.get(kind) if version == self.codec.version else None
            if decoder is None:
                event = self.codec.decode(buf, at, length, kind, version)  # names why not
            else:
                try:
                    event = decoder(buf, at, length)
                except WireError as exc:
                    event = BadMessage(self.codec.reject(buf, at, length, kind, exc))
            if type(event) is BadMessage:
                if self._state is _ACTIVE:
                    return event
                raise self._fail(f"in state {self._state.value}: {event.reject.reason}")
            after = self._in_moves.get(type(event))
            if after is None:
                raise self._fail(
                    f"{type(event).__name__} is not allowed in state {self._state.value}"
                )
            if after is not self._state:
                if type(event) is SymbolDirectory:
                    self._learn(event)
                elif type(event) is Logon:
                    self._logon_picks(event)
                self.state, self._directory_left = self._after(
                    self._state, self._directory_left, event, outgoing=False
                )
            return event

    def _learn(self, entry: SymbolDirectory) -> None:
        """A client's directory, from the server's SymbolDirectory messages."""
        if self.role is not Role.CLIENT:
            return
        try:
            self.symbols.add(entry.symbol_id, entry.name)
        except ValueError as exc:
            raise self._fail(f"bad SymbolDirectory: {exc}") from None

    # --- sending -----------------------------------------------------------------------------

    def can_send(self, message: Any) -> bool:
        return type(message) in self._out_moves

    def sendable(self, messages: Sequence[Any]) -> Sequence[Any]:
        """Those of ``messages`` that may be sent now, in order (``messages`` itself if all)."""
        allowed, state = self._out_moves, self._state
        for message in messages:
            if allowed.get(type(message)) is not state:
                break
        else:
            return messages  # none changes the state: the common case, one lookup each
        kept = []
        state, left = self._state, self._directory_left
        for message in messages:
            if type(message) in moves(state, self._out_dir):
                kept.append(message)
                state, left = self._after(state, left, message, outgoing=True)
        return kept

    def send(self, message: ClientMessage | ServerMessage) -> bytes:
        """The bytes of ``message``."""
        return self.send_many((message,))

    def send_many(self, messages: Sequence[ClientMessage | ServerMessage]) -> bytes:
        """The bytes of ``messages``, back to back (one buffer, one pack per message).

        ValueError if one cannot be encoded (say, a symbol the directory lacks): then
        nothing is sent and the state is unchanged.
        """
        allowed, state = self._out_moves, self._state
        for message in messages:
            # Inline check for the common case (reports that keep the state): a method
            # call per message costs more than the lookup; anything else goes the long way.
            if allowed.get(type(message)) is not state:
                return self._send_moving(messages)
        return self.codec.encode_many(messages)

    def _send_moving(self, messages: Sequence[Any]) -> bytes:
        """send_many of messages that change the state: checked, encoded, then committed."""
        state, left = self._state, self._directory_left
        for message in messages:
            if type(message) not in moves(state, self._out_dir):
                raise LocalProtocolError(
                    f"cannot send {type(message).__name__} in state {state.value}"
                )
            state, left = self._after(state, left, message, outgoing=True)
        for message in messages:
            if type(message) is Logon:
                self._logon_picks(message)  # it goes in the version it asks for
        data = self.codec.encode_many(messages)
        self.state, self._directory_left = state, left
        return data
