"""The codec of the wire: bytes <-> the message Structs, for one end of a session.

A codec speaks one protocol version at a time (``version``: 2 until a Logon
picks 3, ``use_version``); only NewOrder, Replace and the exec types differ.

Decoding never raises but for bugs: a message that is whole but unreadable
comes back as a ``BadMessage`` whose MessageReject names the field (the first
bad one in offset order) and why. Encoding raises ValueError for a value the
layout cannot carry (an unknown symbol name, a code that does not exist).
The layouts are ringmatch.gateway.protocol.wire's; the codes codes.py's.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from ringmatch.engine.schema.enums import OrderType, Side, StpMode, TimeInForce
from ringmatch.gateway.protocol import codes
from ringmatch.gateway.protocol.codes import INVALID
from ringmatch.gateway.protocol.messages import (
    PROTOCOL_VERSION,
    PROTOCOL_VERSIONS,
    VENUE_VERSION,
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
from ringmatch.gateway.protocol.symbols import SymbolTable
from ringmatch.gateway.protocol.wire import (
    BARE,
    CANCEL,
    CLIENT_ORDER_ID_AT,
    EXECUTION_REPORT,
    FLAG_ACCOUNT_GIVEN,
    FLAG_CANCEL_ON_DISCONNECT,
    FLAG_CANCEL_ORDERS,
    FLAG_KEEP_PRICE,
    FLAG_ON,
    FLAG_POST_ONLY,
    LAYOUTS_OF_VERSION,
    LOGON,
    LOGON_ACCEPTED,
    MASS_CANCEL,
    MASS_CANCEL_DONE,
    MAX_LENGTH,
    MESSAGE_REJECT,
    NEW_ORDER,
    NEW_ORDER_V3,
    REPLACE,
    REPLACE_V3,
    RISK_QUERY,
    RISK_STATE,
    SYMBOL_DIRECTORY,
    SYNC,
    TYPE_OF,
    VAR_FIELDS,
)

_U16, _U64 = struct.Struct("<H"), struct.Struct("<Q")
_ID_LIMIT = 1 << 63  # client order ids are 1 .. 2^63-1 (the core's are signed)


class WireError(Exception):
    """Why a whole message cannot be read: the ``field`` to name, and the ``reason``."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(field, reason)
        self.field = field
        self.reason = reason


@dataclass(frozen=True, slots=True)
class BadMessage:
    """A message that arrived whole but could not be read; answer with ``reject``."""

    reject: MessageReject


Buffer = bytes | bytearray | memoryview
OrderFields = tuple[int, str, Side, OrderType, int | None, int, TimeInForce | None, bool, StpMode]
"""NewOrder's arguments up to ``stp``: what both versions' blocks hold."""
Decoder = Callable[[Buffer, int, int], Any]

_SIDE, _SIDE_OR_NONE, _STP = codes.SIDE.of, codes.SIDE_OR_NONE.of, codes.STP.of
_SIDE_CODE, _SIDE_OR_NONE_CODE = codes.SIDE.code, codes.SIDE_OR_NONE.code
_ORDER_TYPE_CODE, _TIF_CODE = codes.ORDER_TYPE.code, codes.TIF.code
_ORDER_TYPE_V3_CODE, _TIF_V3_CODE = codes.ORDER_TYPE_V3.code, codes.TIF_V3.code
_STP_CODE = codes.STP.code
_REASON_CODE = {e: t.code for e, t in codes.REASON_OF_EXEC.items()}
_REQUEST_CODE = {e: t.code for e, t in codes.REQUEST_OF_EXEC.items()}
EXEC_TYPES = {2: codes.EXEC_TYPE, 3: codes.EXEC_TYPE_V3}
"""Each version's exec_type table: a v2 session is never sent a code it does not know."""
_EXEC_INFO = {
    version: {e: (table.code[e], _REASON_CODE[e], _REQUEST_CODE[e]) for e in table.code}
    for version, table in EXEC_TYPES.items()
}
"""Per version, a report's exec_type -> its code, and the tables its reason and request are
coded by (an exec type the version lacks is missing: a KeyError, so a ValueError)."""
_NEEDS_PRICE = (OrderType.LIMIT, OrderType.STOP_LIMIT)  # a price of 0 is none for the others
_LOGON = TYPE_OF[Logon]
_STATE = msgspec.msgpack.Decoder(dict[str, Any])
_ENCODE_STATE = msgspec.msgpack.Encoder().encode


def _bad_code(table: codes.Codes, code: int) -> WireError:
    return WireError(table.field, table.reason(code))


def _length(name: str, size: int, length: int) -> WireError:
    return WireError("length", f"{name} is {size} bytes, got {length}")


def _client_order_id(cid: int) -> None:
    if cid == 0:
        raise WireError("client_order_id", "must be > 0, got 0")
    if cid >= _ID_LIMIT:
        raise WireError("client_order_id", f"must be below 2^63, got {cid}")


def _positive(field: str, value: int) -> None:
    if value <= 0:
        raise WireError(field, f"must be > 0, got {value}")


def _not_negative(field: str, value: int, zero: str) -> None:
    if value < 0:
        raise WireError(field, f"must be >= 0 (0: {zero}), got {value}")


def _reserved(*values: int) -> None:
    if any(values):
        raise WireError("reserved", "reserved bytes must be 0")


def _flags(flags: int, known: int) -> None:
    if flags & ~known:
        raise WireError("flags", f"unknown flag bits {flags & ~known:#04x} (known: {known:#04x})")


def _needs_v3(message: Any) -> ValueError:
    return ValueError(
        f"{message!r}: the venue's fields (a stop, an iceberg, GTD, a kept price) need "
        f"protocol version {VENUE_VERSION}; this session speaks {PROTOCOL_VERSION}"
    )


def _texts(
    buf: Buffer, at: int, fixed: int, length: int, fields: tuple[str, ...], name: str
) -> list[bytes]:
    """The var fields after the ``fixed`` block of the message at ``at``: raw bytes each.
    They must end exactly at the message's end (``length``)."""
    out = []
    pos, end = at + fixed, at + length
    for field in fields:
        if end - pos < 2:
            raise WireError("length", f"{name} ends before its {field} (at byte {pos - at})")
        (n,) = _U16.unpack_from(buf, pos)
        pos += 2
        if end - pos < n:
            raise WireError("length", f"{name}: {field} of {n} bytes runs past the message end")
        out.append(bytes(buf[pos : pos + n]))
        pos += n
    if pos != end:
        raise WireError("length", f"{name}: {end - pos} bytes after its last field")
    return out


def _utf8(raw: bytes, field: str) -> str:
    try:
        return raw.decode()
    except UnicodeDecodeError as exc:
        raise WireError(field, f"invalid UTF-8 at byte {exc.start} of the field") from None


def _var(fixed: bytes, texts: Sequence[bytes], name: str, limit: int) -> bytes:
    """A var message: its fixed block with the length patched, then each field."""
    size = len(fixed) + sum(2 + len(text) for text in texts)
    if size > limit:
        raise ValueError(f"{name} of {size} bytes exceeds the {limit}-byte message limit")
    parts = [_U16.pack(size), fixed[2:]]
    for text in texts:
        parts.append(_U16.pack(len(text)))
        parts.append(text)
    return b"".join(parts)


class Codec:
    """Bytes <-> messages for one end of a session; ``symbols`` maps names to ids both ways.

    ``incoming`` is the message types this end reads (a server reads the client's).
    """

    __slots__ = (
        "_exec_info",
        "_incoming",
        "_kinds",
        "_packers",
        "_sizes",
        "decoders",
        "limit",
        "symbols",
        "version",
    )

    def __init__(
        self, incoming: Sequence[type], symbols: SymbolTable, limit: int = MAX_LENGTH
    ) -> None:
        self.symbols = symbols
        self.limit = min(limit, MAX_LENGTH)  # the longest message this end writes
        self._incoming = tuple(incoming)
        self.decoders: dict[int, Decoder] = {}
        """By type code: ``decoder(buf, at, length)``, the message or a WireError raised."""
        self.use_version(PROTOCOL_VERSION)

    def use_version(self, version: int) -> None:
        """Speak ``version`` (one of PROTOCOL_VERSIONS) from now on, both ways."""
        assert version in PROTOCOL_VERSIONS, version
        self.version = version
        venue = version >= VENUE_VERSION
        every: dict[type, Decoder] = {
            Logon: self._logon,
            NewOrder: self._new_order_v3 if venue else self._new_order,
            Cancel: self._cancel,
            Replace: self._replace_v3 if venue else self._replace,
            MassCancel: self._mass_cancel,
            Heartbeat: self._heartbeat,
            Logout: self._logout,
            Sync: self._sync,
            RiskQuery: self._risk_query,
            LogonAccepted: self._logon_accepted,
            SymbolDirectory: self._symbol_directory,
            LogonRejected: self._logon_rejected,
            ExecutionReport: self._execution_report,
            MessageReject: self._message_reject,
            MassCancelDone: self._mass_cancel_done,
            Synced: self._synced,
            RiskState: self._risk_state,
        }
        # Updated in place: a Connection holds the dict.
        self.decoders.clear()
        self.decoders.update({TYPE_OF[t]: every[t] for t in self._incoming})
        self._kinds = {TYPE_OF[t]: t for t in self._incoming}
        fixed: dict[type, Callable[[bytearray, int, Any], None]] = {
            NewOrder: self._pack_new_order_v3 if venue else self._pack_new_order,
            Cancel: self._pack_cancel,
            Replace: self._pack_replace_v3 if venue else self._pack_replace,
            MassCancel: self._pack_mass_cancel,
            Heartbeat: self._pack_heartbeat,
            Sync: self._pack_sync,
            ExecutionReport: self._pack_execution_report,
            MassCancelDone: self._pack_mass_cancel_done,
            Synced: self._pack_synced,
        }
        self._packers = fixed
        self._sizes = {t: LAYOUTS_OF_VERSION[version][t].size for t in fixed}
        self._exec_info = _EXEC_INFO[version]

    # --- decoding ----------------------------------------------------------------------------

    def decode(self, buf: Buffer, at: int, length: int, kind: int, version: int) -> Any:
        """The message of ``length`` bytes at ``buf[at:]`` (header already read), or a
        BadMessage naming what is wrong with it."""
        try:
            # A Logon may come in any version it can ask for: it is what picks the session's.
            if version != self.version and not (kind == _LOGON and version in PROTOCOL_VERSIONS):
                raise WireError(
                    "version", f"unsupported version {version} (this end speaks {self.version})"
                )
            decoder = self.decoders.get(kind)
            if decoder is None:
                raise WireError("type", f"unknown message type {kind}")
            return decoder(buf, at, length)
        except WireError as exc:
            return BadMessage(self.reject(buf, at, length, kind, exc))

    def reject(self, buf: Buffer, at: int, length: int, kind: int, exc: WireError) -> MessageReject:
        message_type = self._kinds.get(kind)
        if message_type is None:
            return MessageReject("", exc.field, exc.reason)
        cid = 0
        where = CLIENT_ORDER_ID_AT.get(message_type)
        if where is not None and length >= where + 8:
            (cid,) = _U64.unpack_from(buf, at + where)
        return MessageReject(message_type.__name__, exc.field, exc.reason, cid)

    def _symbol(self, symbol_id: int) -> str:
        name = self.symbols.names.get(symbol_id)
        if name is None:
            raise WireError("symbol", f"unknown symbol id {symbol_id}")
        return name

    def _new_order(self, buf: Buffer, at: int, length: int) -> NewOrder:
        if length != 40:
            raise _length("NewOrder", 40, length)
        _, _, _, *fields = NEW_ORDER.unpack_from(buf, at)
        return NewOrder(*self._order(fields, codes.ORDER_TYPE, codes.TIF))

    def _new_order_v3(self, buf: Buffer, at: int, length: int) -> NewOrder:
        if length != 64:
            raise _length("NewOrder", 64, length)
        _, _, _, *fields, trigger, display, expire = NEW_ORDER_V3.unpack_from(buf, at)
        order = self._order(fields, codes.ORDER_TYPE_V3, codes.TIF_V3)
        # After qty, in offset order; 0 is none, as price's is.
        _not_negative("trigger_price", trigger, "none")
        _not_negative("display_qty", display, "none")
        _not_negative("expire_ts", expire, "none")
        return NewOrder(*order, trigger or None, display or None, expire or None)

    def _order(self, fields: list[int], types: codes.Codes, tifs: codes.Codes) -> OrderFields:
        """NewOrder's fields of its v2 block (checked in offset order), as NewOrder's
        arguments up to ``stp``; ``types`` and ``tifs`` are the version's code tables."""
        side, order_type, tif, stp, symbol, flags, r1, r2, cid, price, qty = fields
        side_v, type_v, tif_v, stp_v = _SIDE[side], types.of[order_type], tifs.of[tif], _STP[stp]
        if side_v is INVALID:
            raise _bad_code(codes.SIDE, side)
        if type_v is INVALID:
            raise _bad_code(types, order_type)
        if tif_v is INVALID:
            raise _bad_code(tifs, tif)
        if stp_v is INVALID:
            raise _bad_code(codes.STP, stp)
        name = self.symbols.names.get(symbol)
        if name is None:
            raise WireError("symbol", f"unknown symbol id {symbol}")
        if flags & ~FLAG_POST_ONLY:
            _flags(flags, FLAG_POST_ONLY)
        if r1 or r2:
            _reserved(r1, r2)
        if cid == 0 or cid >= _ID_LIMIT:
            _client_order_id(cid)
        # A limit order needs its price; a market order's (and a STOP's) 0 is "none" (one
        # with a price is the core's to reject, MARKET_WITH_PRICE, as before).
        if price < 0 or (price == 0 and type_v in _NEEDS_PRICE):
            raise WireError("price", f"must be > 0, got {price}")
        if qty <= 0:
            raise WireError("qty", f"must be > 0, got {qty}")
        return cid, name, side_v, type_v, price or None, qty, tif_v, flags == FLAG_POST_ONLY, stp_v

    def _cancel(self, buf: Buffer, at: int, length: int) -> Cancel:
        if length != 16:
            raise _length("Cancel", 16, length)
        _, _, _, reserved, cid = CANCEL.unpack_from(buf, at)
        _reserved(reserved)
        _client_order_id(cid)
        return Cancel(cid)

    def _replace(self, buf: Buffer, at: int, length: int) -> Replace:
        if length != 32:
            raise _length("Replace", 32, length)
        _, _, _, reserved, cid, price, qty = REPLACE.unpack_from(buf, at)
        _reserved(reserved)
        _client_order_id(cid)
        _positive("price", price)
        _positive("qty", qty)
        return Replace(cid, price, qty)

    def _replace_v3(self, buf: Buffer, at: int, length: int) -> Replace:
        if length != 40:
            raise _length("Replace", 40, length)
        _, _, _, flags, r1, r2, cid, price, qty, trigger = REPLACE_V3.unpack_from(buf, at)
        _flags(flags, FLAG_KEEP_PRICE)
        _reserved(r1, r2)
        _client_order_id(cid)
        keep_price = flags == FLAG_KEEP_PRICE
        if keep_price and price:
            raise WireError("price", f"must be 0 with flag keep_price, got {price}")
        if not keep_price:
            _positive("price", price)
        _positive("qty", qty)
        _not_negative("trigger_price", trigger, "unchanged")
        return Replace(cid, None if keep_price else price, qty, trigger or None)

    def _mass_cancel(self, buf: Buffer, at: int, length: int) -> MassCancel:
        if length != 8:
            raise _length("MassCancel", 8, length)
        _, _, _, symbol = MASS_CANCEL.unpack_from(buf, at)
        return MassCancel(self._symbol(symbol) if symbol else None)

    def _heartbeat(self, buf: Buffer, at: int, length: int) -> Heartbeat:
        if length != 4:
            raise _length("Heartbeat", 4, length)
        return Heartbeat()

    def _logout(self, buf: Buffer, at: int, length: int) -> Logout:
        (reason,) = _texts(buf, at, 4, length, ("reason",), "Logout")
        return Logout(_utf8(reason, "reason"))

    def _sync(self, buf: Buffer, at: int, length: int) -> Sync:
        if length != 16:
            raise _length("Sync", 16, length)
        _, _, _, reserved, seq = SYNC.unpack_from(buf, at)
        _reserved(reserved)
        return Sync(seq)

    def _risk_query(self, buf: Buffer, at: int, length: int) -> RiskQuery:
        if length < 16:
            raise _length("RiskQuery", 16, length)
        _, _, _, op, flags, reserved, request_id = RISK_QUERY.unpack_from(buf, at)
        op_v = codes.RISK_OP.of[op]
        if op_v is INVALID:
            raise _bad_code(codes.RISK_OP, op)
        _flags(flags, FLAG_ON | FLAG_CANCEL_ORDERS | FLAG_ACCOUNT_GIVEN)
        _reserved(reserved)
        account, why = _texts(buf, at, 16, length, VAR_FIELDS[RiskQuery], "RiskQuery")
        if not flags & FLAG_ACCOUNT_GIVEN and account:
            raise WireError("account", "given, but flags bit 2 (account given) is clear")
        return RiskQuery(
            request_id,
            op_v,
            _utf8(account, "account") if flags & FLAG_ACCOUNT_GIVEN else None,
            bool(flags & FLAG_ON),
            bool(flags & FLAG_CANCEL_ORDERS),
            _utf8(why, "why"),
        )

    def _logon(self, buf: Buffer, at: int, length: int) -> Logon:
        if length < 8:
            raise _length("Logon", 8, length)
        _, _, _, version, flags, reserved = LOGON.unpack_from(buf, at)
        _flags(flags, FLAG_CANCEL_ON_DISCONNECT)
        _reserved(reserved)
        account, token = _texts(buf, at, 8, length, VAR_FIELDS[Logon], "Logon")
        return Logon(_utf8(account, "account"), _utf8(token, "token"), version, flags == 1)

    def _logon_accepted(self, buf: Buffer, at: int, length: int) -> LogonAccepted:
        if length < 40:
            raise _length("LogonAccepted", 40, length)
        _, _, _, worker, session, heartbeat_s, timeout_s, count, reserved = (
            LOGON_ACCEPTED.unpack_from(buf, at)
        )
        _reserved(reserved)
        (account,) = _texts(buf, at, 40, length, ("account",), "LogonAccepted")
        return LogonAccepted(
            _utf8(account, "account"), heartbeat_s, timeout_s, worker, session, count
        )

    def _symbol_directory(self, buf: Buffer, at: int, length: int) -> SymbolDirectory:
        if length < 8:
            raise _length("SymbolDirectory", 8, length)
        _, _, _, symbol_id = SYMBOL_DIRECTORY.unpack_from(buf, at)
        (name,) = _texts(buf, at, 8, length, ("name",), "SymbolDirectory")
        return SymbolDirectory(symbol_id, _utf8(name, "name"))

    def _logon_rejected(self, buf: Buffer, at: int, length: int) -> LogonRejected:
        (reason,) = _texts(buf, at, 4, length, ("reason",), "LogonRejected")
        return LogonRejected(_utf8(reason, "reason"))

    def _execution_report(self, buf: Buffer, at: int, length: int) -> ExecutionReport:
        if length != 88:
            raise _length("ExecutionReport", 88, length)
        fields = EXECUTION_REPORT.unpack_from(buf, at)
        (_, _, _, exec_type, side, reason, request, symbol, reserved, seq, order_id, cid, price,
         last_price, last_qty, cum, leaves, trade_id) = fields  # fmt: skip
        exec_types = EXEC_TYPES[self.version]
        exec_v = exec_types.of[exec_type]
        if exec_v is INVALID:
            raise _bad_code(exec_types, exec_type)
        side_v = _SIDE_OR_NONE[side]
        if side_v is INVALID:
            raise _bad_code(codes.SIDE_OR_NONE, side)
        reasons = codes.REASON_OF_EXEC[exec_v]
        reason_v = reasons.of[reason]
        if reason_v is INVALID:
            raise WireError("reason", f"{exec_v.value}: {reasons.reason(reason)}")
        requests = codes.REQUEST_OF_EXEC[exec_v]
        request_v = requests.of[request]
        if request_v is INVALID:
            raise WireError("request", f"{exec_v.value}: {requests.reason(request)}")
        name = self._symbol(symbol) if symbol else ""
        _reserved(reserved)
        return ExecutionReport(
            seq,
            exec_v,
            order_id,
            cid,
            name,
            side_v,
            price or None,
            last_price or None,
            last_qty,
            cum,
            leaves,
            trade_id,
            reason_v,
            request_v,
        )

    def _message_reject(self, buf: Buffer, at: int, length: int) -> MessageReject:
        if length < 16:
            raise _length("MessageReject", 16, length)
        _, _, _, reserved, cid = MESSAGE_REJECT.unpack_from(buf, at)
        _reserved(reserved)
        fields = VAR_FIELDS[MessageReject]
        texts = _texts(buf, at, 16, length, fields, "MessageReject")
        message, field, reason = (_utf8(t, f) for t, f in zip(texts, fields, strict=True))
        return MessageReject(message, field, reason, cid)

    def _mass_cancel_done(self, buf: Buffer, at: int, length: int) -> MassCancelDone:
        if length != 32:
            raise _length("MassCancelDone", 32, length)
        _, _, _, symbol, seq, count, reason, r1, r2, r3 = MASS_CANCEL_DONE.unpack_from(buf, at)
        name = self._symbol(symbol) if symbol else None
        reason_v = codes.CANCEL_REASON.of[reason]
        if reason_v is INVALID:
            raise _bad_code(codes.CANCEL_REASON, reason)
        _reserved(r1, r2, r3)
        return MassCancelDone(seq, name, count, reason_v)

    def _synced(self, buf: Buffer, at: int, length: int) -> Synced:
        if length != 16:
            raise _length("Synced", 16, length)
        _, _, _, reserved, seq = SYNC.unpack_from(buf, at)
        _reserved(reserved)
        return Synced(seq)

    def _risk_state(self, buf: Buffer, at: int, length: int) -> RiskState:
        if length < 16:
            raise _length("RiskState", 16, length)
        _, _, _, ok, r1, r2, request_id = RISK_STATE.unpack_from(buf, at)
        if ok > 1:
            raise WireError("ok", f"invalid code {ok} (valid: 0 false, 1 true)")
        _reserved(r1, r2)
        error, raw = _texts(buf, at, 16, length, VAR_FIELDS[RiskState], "RiskState")
        state: dict[str, Any] = {}
        if raw:  # 0 bytes: an empty map
            try:
                state = _STATE.decode(raw)
            except msgspec.DecodeError as exc:
                raise WireError("state", f"not a msgpack map: {exc}") from None
        return RiskState(request_id, bool(ok), _utf8(error, "error"), state)

    # --- encoding ----------------------------------------------------------------------------

    def encode_many(self, messages: Sequence[Any]) -> bytes:
        """The bytes of ``messages``, back to back. Fixed-size ones (every request and
        report) are packed into one buffer sized up front, one ``pack_into`` each; an
        ExecutionReport, the bulk of a server's output, is packed inline (no call)."""
        sizes = self._sizes
        try:
            total = sum(map(sizes.__getitem__, map(type, messages)))
        except KeyError:  # a var message among them: rare (logon, logout, rejects)
            return b"".join(map(self.encode, messages))
        buf = bytearray(total)
        at = 0
        message = None
        packers, ids, exec_info, side_code, version = (
            self._packers,
            self.symbols.ids,
            self._exec_info,
            _SIDE_OR_NONE_CODE,
            self.version,
        )
        report, pack_report = ExecutionReport, EXECUTION_REPORT.pack_into
        try:
            for message in messages:
                kind = type(message)
                if kind is report:
                    code, reasons, requests = exec_info[message.exec_type]
                    pack_report(
                        buf, at, 88, 13, version, code, side_code[message.side],
                        reasons[message.reason], requests[message.request], ids[message.symbol],
                        0, message.seq, message.order_id, message.client_order_id,
                        message.price or 0, message.last_price or 0, message.last_qty,
                        message.cum_qty, message.leaves_qty, message.trade_id,
                    )  # fmt: skip
                    at += 88
                else:
                    packers[kind](buf, at, message)
                    at += sizes[kind]
        except (KeyError, struct.error, TypeError, AttributeError) as exc:
            raise self._cannot(message, exc) from None
        return bytes(buf)

    def _cannot(self, message: Any, exc: Exception) -> ValueError:
        """Why ``message`` cannot be encoded: its symbol, if that is it, else what failed."""
        symbol = getattr(message, "symbol", None)
        if isinstance(symbol, str) and symbol not in self.symbols.ids:
            try:
                self.symbols.id_of(symbol)
            except ValueError as unknown:
                return unknown
        return ValueError(f"cannot encode {message!r}: {exc!r}")

    def encode(self, message: Any) -> bytes:
        """The bytes of one message."""
        kind = type(message)
        packer = self._packers.get(kind)
        try:
            if packer is not None:
                buf = bytearray(self._sizes[kind])
                packer(buf, 0, message)
                return bytes(buf)
            return self._encode_var(message)
        except (KeyError, struct.error, TypeError, AttributeError) as exc:
            raise self._cannot(message, exc) from None

    def _encode_var(self, m: Any) -> bytes:
        kind = type(m)
        name, limit = kind.__name__, self.limit
        if kind is Logon:
            flags = FLAG_CANCEL_ON_DISCONNECT if m.cancel_on_disconnect else 0
            # Sent in the version it asks for (as the session will speak it), where there is one.
            asked = m.protocol_version
            header = asked if asked in PROTOCOL_VERSIONS else self.version
            fixed = LOGON.pack(0, 1, header, asked, flags, 0)
            return _var(fixed, (m.account.encode(), m.token.encode()), name, limit)
        if kind is Logout or kind is LogonRejected:
            fixed = BARE.pack(0, TYPE_OF[kind], self.version)
            return _var(fixed, (m.reason.encode(),), name, limit)
        if kind is RiskQuery:
            flags = (FLAG_ON if m.on else 0) | (FLAG_CANCEL_ORDERS if m.cancel_orders else 0)
            if m.account is not None:
                flags |= FLAG_ACCOUNT_GIVEN
            op = codes.RISK_OP.code.get(m.op)
            if op is None:
                raise ValueError(f"RiskQuery op {m.op!r}: valid ops are {codes.RISK_OP.valid}")
            fixed = RISK_QUERY.pack(0, 9, self.version, op, flags, 0, m.request_id)
            texts = ((m.account or "").encode(), m.why.encode())
            return _var(fixed, texts, name, limit)
        if kind is LogonAccepted:
            fixed = LOGON_ACCEPTED.pack(
                0, 11, self.version, m.worker, m.session, m.heartbeat_s, m.timeout_s,
                m.symbol_count, 0,
            )  # fmt: skip
            return _var(fixed, (m.account.encode(),), name, limit)
        if kind is SymbolDirectory:
            fixed = SYMBOL_DIRECTORY.pack(0, 18, self.version, m.symbol_id)
            return _var(fixed, (m.name.encode(),), name, limit)
        if kind is MessageReject:
            fixed = MESSAGE_REJECT.pack(0, 14, self.version, 0, m.client_order_id)
            reject = (m.message.encode(), m.field.encode(), m.reason.encode())
            return _var(fixed, reject, name, limit)
        if kind is RiskState:
            fixed = RISK_STATE.pack(0, 17, self.version, int(m.ok), 0, 0, m.request_id)
            return _var(fixed, (m.error.encode(), _ENCODE_STATE(m.state)), name, limit)
        raise ValueError(f"{m!r} is not a protocol message")

    def _symbol_id(self, name: str) -> int:
        symbol_id = self.symbols.ids.get(name)
        return self.symbols.id_of(name) if symbol_id is None else symbol_id

    def _pack_new_order(self, buf: bytearray, at: int, m: NewOrder) -> None:
        if m.trigger_price is not None or m.display_qty is not None or m.expire_ts is not None:
            raise _needs_v3(m)
        NEW_ORDER.pack_into(
            buf, at, 40, 2, 2, _SIDE_CODE[m.side], _ORDER_TYPE_CODE[m.order_type],
            _TIF_CODE[m.tif], _STP_CODE[m.stp], self._symbol_id(m.symbol),
            FLAG_POST_ONLY if m.post_only else 0, 0, 0, m.client_order_id, m.price or 0, m.qty,
        )  # fmt: skip

    def _pack_new_order_v3(self, buf: bytearray, at: int, m: NewOrder) -> None:
        NEW_ORDER_V3.pack_into(
            buf, at, 64, 2, 3, _SIDE_CODE[m.side], _ORDER_TYPE_V3_CODE[m.order_type],
            _TIF_V3_CODE[m.tif], _STP_CODE[m.stp], self._symbol_id(m.symbol),
            FLAG_POST_ONLY if m.post_only else 0, 0, 0, m.client_order_id, m.price or 0, m.qty,
            m.trigger_price or 0, m.display_qty or 0, m.expire_ts or 0,
        )  # fmt: skip

    def _pack_cancel(self, buf: bytearray, at: int, m: Cancel) -> None:
        CANCEL.pack_into(buf, at, 16, 3, self.version, 0, m.client_order_id)

    def _pack_replace(self, buf: bytearray, at: int, m: Replace) -> None:
        if m.price is None or m.trigger_price is not None:
            raise _needs_v3(m)
        REPLACE.pack_into(buf, at, 32, 4, 2, 0, m.client_order_id, m.price, m.qty)

    def _pack_replace_v3(self, buf: bytearray, at: int, m: Replace) -> None:
        flags = FLAG_KEEP_PRICE if m.price is None else 0
        REPLACE_V3.pack_into(
            buf, at, 40, 4, 3, flags, 0, 0, m.client_order_id, m.price or 0, m.qty,
            m.trigger_price or 0,
        )  # fmt: skip

    def _pack_mass_cancel(self, buf: bytearray, at: int, m: MassCancel) -> None:
        symbol = 0 if m.symbol is None else self._symbol_id(m.symbol)
        MASS_CANCEL.pack_into(buf, at, 8, 5, self.version, symbol)

    def _pack_heartbeat(self, buf: bytearray, at: int, m: Heartbeat) -> None:
        BARE.pack_into(buf, at, 4, 6, self.version)

    def _pack_sync(self, buf: bytearray, at: int, m: Sync) -> None:
        SYNC.pack_into(buf, at, 16, 8, self.version, 0, m.seq)

    def _pack_synced(self, buf: bytearray, at: int, m: Synced) -> None:
        SYNC.pack_into(buf, at, 16, 16, self.version, 0, m.seq)

    def _pack_execution_report(self, buf: bytearray, at: int, m: ExecutionReport) -> None:
        exec_type = m.exec_type
        symbol_id = self.symbols.ids.get(m.symbol)
        if symbol_id is None:
            symbol_id = self.symbols.id_of(m.symbol)
        EXECUTION_REPORT.pack_into(
            buf, at, 88, 13, self.version, self._exec_info[exec_type][0],
            _SIDE_OR_NONE_CODE[m.side], _REASON_CODE[exec_type][m.reason],
            _REQUEST_CODE[exec_type][m.request], symbol_id, 0, m.seq, m.order_id,
            m.client_order_id, m.price or 0, m.last_price or 0, m.last_qty, m.cum_qty,
            m.leaves_qty, m.trade_id,
        )  # fmt: skip

    def _pack_mass_cancel_done(self, buf: bytearray, at: int, m: MassCancelDone) -> None:
        symbol = 0 if m.symbol is None else self._symbol_id(m.symbol)
        reason = codes.CANCEL_REASON.code[m.reason]
        MASS_CANCEL_DONE.pack_into(
            buf, at, 32, 15, self.version, symbol, m.seq, m.count, reason, 0, 0, 0
        )
