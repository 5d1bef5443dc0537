"""The order-entry protocol, sans-IO (h11 style): bytes in, messages out; it owns no socket.

    conn = Connection(Role.SERVER)
    conn.receive_data(chunk)                 # whatever the socket gave
    while (event := conn.next_event()) is not NEED_DATA:
        ...                                  # a ClientMessage, or a BadMessage to answer
    transport.write(conn.send(report))       # the bytes of one frame

Framing (docs/PROTOCOL.md has the bytes): a frame is a 4-byte big-endian body
length, then the body: a msgpack array of messages, each itself an array
``[tag, fields...]``. A body longer than ``max_frame`` cannot be skipped safely
(the length itself may be garbage), so it is fatal. A body that does not
decode is not: the framing still holds, so it is answered with a BadMessage and
the stream goes on. Messages are checked against the session state table
(ringmatch.gateway.protocol.session_state); a message the state does not allow is fatal.

Fatal problems raise ``ProtocolError`` (its ``reason`` goes into the Logout the
server sends before closing). Any other exception is a bug; the fuzz tests hold
the protocol to that.
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import msgspec

from ringmatch.gateway.protocol.messages import (
    CLIENT_TYPES,
    SERVER_TYPES,
    ClientMessage,
    MessageReject,
    ServerMessage,
)
from ringmatch.gateway.protocol.session_state import Direction, State, moves

HEADER = 4
DEFAULT_MAX_FRAME = 64 * 1024


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


@dataclass(frozen=True, slots=True)
class BadMessage:
    """A message (or frame) that arrived whole but could not be read; answer with ``reject``."""

    reject: MessageReject


_RAW_LIST = msgspec.msgpack.Decoder(list[msgspec.Raw])
_ANY = msgspec.msgpack.Decoder()


class Connection:
    """One end of one session: framing, decoding and the state table."""

    __slots__ = (
        "_buf",
        "_decoder",
        "_encoder",
        "_in_dir",
        "_in_moves",
        "_one_decoder",
        "_out_dir",
        "_out_moves",
        "_pending",
        "_state",
        "_types",
        "error",
        "max_frame",
        "role",
    )

    def __init__(self, role: Role, max_frame: int = DEFAULT_MAX_FRAME) -> None:
        self.role = role
        self.max_frame = max_frame
        self.error: ProtocolError | None = None
        self._buf = bytearray()
        self._pending: deque[Any] = deque()
        self._encoder = msgspec.msgpack.Encoder()
        incoming: Any = ClientMessage if role is Role.SERVER else ServerMessage
        self._decoder = msgspec.msgpack.Decoder(list[incoming])
        self._one_decoder = msgspec.msgpack.Decoder(incoming)
        self._types = CLIENT_TYPES if role is Role.SERVER else SERVER_TYPES
        if role is Role.SERVER:
            self._in_dir, self._out_dir = Direction.TO_SERVER, Direction.TO_CLIENT
        else:
            self._in_dir, self._out_dir = Direction.TO_CLIENT, Direction.TO_SERVER
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

    # --- receiving ---------------------------------------------------------------------------

    def receive_data(self, data: bytes) -> None:
        """Take bytes from the peer; whole frames are decoded now, the rest kept.

        A fatal framing error is raised by ``next_event`` once the messages before
        it have been handed out, so the outcome never depends on how bytes arrive.
        """
        if self.error is not None:
            return  # the stream is already beyond trust
        buf = self._buf
        buf += data
        at, end = 0, len(buf)
        while end - at >= HEADER:
            size = int.from_bytes(buf[at : at + HEADER], "big")
            if size > self.max_frame:
                self.error = ProtocolError(
                    f"frame of {size} bytes exceeds the maximum of {self.max_frame}"
                )
                return
            if end - at - HEADER < size:
                break
            body = bytes(buf[at + HEADER : at + HEADER + size])
            at += HEADER + size
            self._decode_frame(body)
        if at:
            del buf[:at]

    def _fail(self, reason: str) -> ProtocolError:
        self.error = ProtocolError(reason)
        self._pending.clear()
        return self.error

    def _decode_frame(self, body: bytes) -> None:
        try:
            self._pending.extend(self._decoder.decode(body))
            return
        except msgspec.DecodeError:
            pass  # something in it is bad: find out which message, and why
        try:
            items = _RAW_LIST.decode(body)
        except msgspec.DecodeError as exc:
            self._pending.append(BadMessage(MessageReject("", "frame", _why(exc))))
            return
        for raw in items:
            try:
                self._pending.append(self._one_decoder.decode(raw))
            except msgspec.DecodeError as exc:
                self._pending.append(BadMessage(self._explain(raw, exc)))

    def _explain(self, raw: msgspec.Raw, exc: msgspec.DecodeError) -> MessageReject:
        """Name the message type and the field a decode error was about."""
        try:
            value = _ANY.decode(raw)
        except msgspec.DecodeError as inner:  # whole msgpack, yet bad inside (say, UTF-8)
            return MessageReject("", "message", _why(inner))
        if not isinstance(value, list) or not value:
            return MessageReject("", "message", "not a message: expected [tag, fields...]")
        kind = self._types.get(value[0]) if type(value[0]) is int else None
        if kind is None:
            return MessageReject("", "type", f"unknown message type {value[0]!r}")
        name = kind.__name__
        fields = kind.__struct_fields__
        client_order_id = 0
        if fields and fields[0] == "client_order_id" and len(value) > 1:
            candidate = value[1]
            if type(candidate) is int and 0 < candidate < 2**63:
                client_order_id = candidate
        text = str(exc)
        field = "message"
        path = text.rpartition(" - at `$[")[2]
        if path != text:
            index = path.split("]", 1)[0]
            if index.isdigit() and 1 <= int(index) <= len(fields):
                field = fields[int(index) - 1]
        return MessageReject(name, field, _why(exc), client_order_id)

    def next_event(self) -> Any:
        """The next message (or BadMessage), or NEED_DATA; ProtocolError if it is not allowed."""
        pending = self._pending
        while pending:
            event = pending.popleft()
            if self.state is State.CLOSED:
                continue  # sent before the peer knew the session was over
            if type(event) is BadMessage:
                if self.state is State.ACTIVE:
                    return event
                raise self._fail(f"in state {self.state.value}: {event.reject.reason}")
            after = self._in_moves.get(type(event))
            if after is None:
                raise self._fail(
                    f"{type(event).__name__} is not allowed in state {self.state.value}"
                )
            if after is not self._state:
                self.state = after
            return event
        if self.error is not None:
            raise self.error
        return NEED_DATA

    # --- sending -----------------------------------------------------------------------------

    def can_send(self, message: Any) -> bool:
        return type(message) in self._out_moves

    def sendable(self, messages: Sequence[Any]) -> Sequence[Any]:
        """Those of ``messages`` that ``can_send`` allows now (``messages`` itself if all)."""
        allowed = self._out_moves
        for message in messages:
            if type(message) not in allowed:
                return [m for m in messages if type(m) in allowed]
        return messages

    def _advance(self, message: Any) -> None:
        after = self._out_moves.get(type(message))
        if after is None:
            raise LocalProtocolError(
                f"cannot send {type(message).__name__} in state {self.state.value}"
            )
        if after is not self._state:
            self.state = after

    def send(self, message: ClientMessage | ServerMessage) -> bytes:
        """The bytes of one frame holding ``message``."""
        return self.send_many((message,))

    def send_many(self, messages: Sequence[ClientMessage | ServerMessage]) -> bytes:
        """The bytes of as few frames as hold ``messages`` (split to respect max_frame)."""
        allowed, state = self._out_moves, self._state
        for message in messages:
            # Inline check for the common case (a report that keeps the state): a method
            # call per message costs more than the lookup; anything else goes the long way.
            if allowed.get(type(message)) is not state:
                self._advance(message)
                allowed, state = self._out_moves, self._state
        return self._frames(messages)

    def _frames(self, messages: Sequence[Any]) -> bytes:
        buf = bytearray()
        self._encoder.encode_into(messages, buf, HEADER)
        size = len(buf) - HEADER
        if size <= self.max_frame:
            buf[:HEADER] = size.to_bytes(HEADER, "big")
            return bytes(buf)
        if len(messages) == 1:
            raise LocalProtocolError(f"one message of {size} bytes exceeds max_frame")
        half = len(messages) // 2
        return self._frames(messages[:half]) + self._frames(messages[half:])


def _why(exc: msgspec.DecodeError) -> str:
    """The decoder's message without its ``- at `$...``` path (the field is named apart)."""
    return str(exc).split(" - at `", 1)[0]
