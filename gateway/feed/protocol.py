"""The market-data feed protocol: messages and sans-IO framing (docs/FEED.md).

A frame is a 4-byte big-endian body length, then the body: one msgpack message,
an array whose first item is the message's tag. ``FeedProtocol`` owns no socket:
``receive_data`` takes bytes in, ``next_message`` hands messages out (None: it
needs more bytes); ``FeedProtocolError`` is the one error it raises.
"""

from __future__ import annotations

import struct

import msgspec

LENGTH = struct.Struct(">I")
MAX_FRAME = 1 << 20

Level = tuple[int, int]


class _Msg(msgspec.Struct, frozen=True, array_like=True, forbid_unknown_fields=True):
    pass


# -- subscriber to server ------------------------------------------------------------


class Subscribe(_Msg, frozen=True, tag="subscribe"):
    """Start streams for ``symbols`` at ``levels`` of depth: a Snapshot each, then incrementals."""

    symbols: list[str]
    levels: int = 5


class SnapshotRequest(_Msg, frozen=True, tag="snapshot_request"):
    """A subscriber saw a gap in ``symbol``'s seq: send a fresh Snapshot."""

    symbol: str


# -- server to subscriber ------------------------------------------------------------


class Snapshot(_Msg, frozen=True, tag="snapshot"):
    """The book to ``levels`` as of ``seq``; the next message of the symbol is ``seq + 1``."""

    symbol: str
    seq: int
    levels: int
    bids: list[Level]  # (price, qty), best first
    asks: list[Level]
    last_price: int | None
    phase: str = "CONTINUOUS"  # the symbol's TradingPhase (VENUE_RULES.md V-SES-1)
    # In a call phase, the last IndicativeUpdate's (price, volume, imbalance side, qty).
    indicative: tuple[int | None, int, str | None, int] | None = None


class Levels(_Msg, frozen=True, tag="levels"):
    """L2 incremental: set each (price, qty); qty 0 removes the level."""

    symbol: str
    seq: int
    bids: list[Level]
    asks: list[Level]


class Top(_Msg, frozen=True, tag="top"):
    """L1: the best bid and offer changed."""

    symbol: str
    seq: int
    bid_price: int | None
    bid_qty: int
    ask_price: int | None
    ask_qty: int


class TradePrint(_Msg, frozen=True, tag="trade"):
    symbol: str
    seq: int
    trade_id: int
    price: int
    qty: int
    taker_side: str  # "BUY" | "SELL"


class Phase(_Msg, frozen=True, tag="phase"):
    """The symbol's trading phase moved (VENUE_RULES.md V-SES-1): a TradingPhase's value."""

    symbol: str
    seq: int
    phase: str
    previous: str


class IndicativeUpdate(_Msg, frozen=True, tag="indicative"):
    """During a call phase, after every change: the uncross it would give now
    (V-AUC-4). ``price`` None: nothing executable; ``imbalance_side`` the side with
    the surplus ("BUY" | "SELL"), None when there is none."""

    symbol: str
    seq: int
    price: int | None
    volume: int
    imbalance_side: str | None
    imbalance_qty: int


class CutOff(_Msg, frozen=True, tag="cut_off"):
    """The server is closing this subscription, and why (e.g. too slow to read)."""

    reason: str


class FeedError(_Msg, frozen=True, tag="error"):
    """A request the server could not serve (the connection stays open)."""

    reason: str


ClientMessage = Subscribe | SnapshotRequest
FeedMessage = Snapshot | Levels | Top | TradePrint | Phase | IndicativeUpdate
ServerMessage = Snapshot | Levels | Top | TradePrint | Phase | IndicativeUpdate | CutOff | FeedError

_encoder = msgspec.msgpack.Encoder()


def frame(msg: ClientMessage | ServerMessage) -> bytes:
    """One message as a frame."""
    body = _encoder.encode(msg)
    return LENGTH.pack(len(body)) + body


class FeedProtocolError(Exception):
    """Bytes that are not a valid frame of the expected messages; says what and where."""


class FeedProtocol:
    """Frames in, messages out. ``decoder_type``: ClientMessage (server) or ServerMessage."""

    __slots__ = ("_buf", "_decoder", "_offset", "max_frame")

    def __init__(
        self, decoder_type: type[ClientMessage] | type[ServerMessage], max_frame: int = MAX_FRAME
    ) -> None:
        self._decoder = msgspec.msgpack.Decoder(decoder_type)
        self._buf = bytearray()
        self._offset = 0  # bytes of the stream consumed before _buf
        self.max_frame = max_frame

    def receive_data(self, data: bytes) -> None:
        self._buf += data

    def next_message(self) -> ClientMessage | ServerMessage | None:
        buf = self._buf
        if len(buf) < 4:
            return None
        (size,) = LENGTH.unpack_from(buf)
        if size > self.max_frame:
            raise FeedProtocolError(
                f"frame at byte {self._offset}: length {size} is over the limit {self.max_frame}"
            )
        if len(buf) < 4 + size:
            return None
        body = bytes(buf[4 : 4 + size])
        del buf[: 4 + size]
        at = self._offset
        self._offset += 4 + size
        try:
            msg: ClientMessage | ServerMessage = self._decoder.decode(body)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise FeedProtocolError(f"frame at byte {at}: {exc}") from None
        return msg
