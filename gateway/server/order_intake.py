"""A worker's requests on their way to the core: input records, gathered per loop turn.

    intake.take_wire(session_account, bytes)   # the compiled conversion: a run of
                                               # NewOrder/Cancel/Replace/MassCancel
    intake.add(input)                          # a Struct input (session inputs, and the
                                               # requests of a throttled session)
    intake.batch()                             # every record since the last batch, in order

Both paths write the same records into one batch, in the order they came, so
a SessionOpened always precedes the session's first order on the ring. The
wire's symbol ids (1-based positions in the configured list) become the
core's record ids here (``symbol_ids``), once per order in compiled code.
A version-3 session's venue requests (stops, icebergs, DAY and GTD orders, a
held stop's replace) go on like any other: the core runs them on either kernel.
"""

from __future__ import annotations

import logging
import struct
import time
from types import ModuleType

import numpy as np

from ringmatch.engine.records import layout as L
from ringmatch.engine.records.names import Directory
from ringmatch.engine.records.writer import RecordWriter, UnknownName
from ringmatch.engine.schema.commands import Input
from ringmatch.gateway.config import Config
from ringmatch.gateway.protocol.message_codec import BadMessage, Codec
from ringmatch.gateway.protocol.messages import MessageReject
from ringmatch.gateway.wire.reject_text import describe_reject

log = logging.getLogger("ringmatch.gateway")


def wire_symbol_ids(names: Directory, config: Config) -> np.ndarray:
    """Wire symbol id (1-based position in the configured list) -> the core's record id."""
    return np.array([0, *(names.symbols.get(s.name) for s in config.symbols)], np.uint32)


SMALLEST_REQUEST = 8  # bytes of a MassCancel: at most len(data) // 8 records from data
# (a v3 NewOrder or Replace with its TERMS record is 2 records in 64 or 40 bytes: fewer)


class OrderIntake:
    __slots__ = (
        "_out",
        "_parts",
        "conversion",
        "max_frame",
        "records",
        "symbol_ids",
        "writer",
    )

    def __init__(
        self,
        names: Directory,
        symbol_ids: np.ndarray,
        conversion: ModuleType,
        max_frame: int,
    ) -> None:
        self.conversion = conversion
        self.max_frame = max_frame
        self.writer = RecordWriter(names)
        self.symbol_ids = symbol_ids  # wire id -> record id (0: none), wire_symbol_ids
        self._out = np.zeros(1024, L.INPUT_DTYPE)
        self._parts: list[np.ndarray] = []
        self.records = 0  # records in the batch being gathered

    def take_wire(
        self, account: int, data: memoryview, codec: Codec
    ) -> tuple[int, np.ndarray, list[MessageReject]]:
        """The requests at the start of ``data`` for record account ``account``: (bytes
        consumed, their records (a view, valid until the next call), a MessageReject per
        bad one). Stops where another type of message, or a partial one, starts.

        A bad request's reject is worded by the session's ``codec``, the protocol's
        own decoder, so a session reads the same MessageReject whichever path its
        bytes took (tests/gateway/test_wire_agreement.py holds the two to the same
        verdicts).
        """
        need = len(data) // SMALLEST_REQUEST + 1
        out = self._out
        if len(out) < need:
            out = self._out = np.zeros(max(need, 2 * len(out)), L.INPUT_DTYPE)
        # The session's version: its codec's, which its Logon picked.
        consumed, count, rejects = self.conversion.orders_to_inputs(
            data, account, self.symbol_ids, time.time_ns(), out, self.max_frame, codec.version
        )
        taken = out[:count]
        refused = [_worded(entry, data, codec) for entry in rejects] if len(rejects) else []
        if len(taken):
            self._parts.append(taken.copy())  # every byte is a field's: a plain copy keeps all
            self.records += len(taken)
        return consumed, taken, refused

    def add(self, inp: Input) -> bool:
        """Pack one Struct input; False (logged) if no record can carry it: a name the
        core has no id for, or a value past a record's field."""
        writer = self.writer
        writer.start()
        try:
            writer.add(inp)
        except (UnknownName, struct.error, OverflowError) as exc:
            log.error("not sent to the core: %r: %s", inp, exc)
            return False
        records = writer.records()
        self._parts.append(records.copy())
        self.records += len(records)
        return True

    def batch(self) -> np.ndarray | None:
        """Every record gathered since the last batch, in order (None: nothing)."""
        parts, self._parts = self._parts, []
        self.records = 0
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else np.concatenate(parts, dtype=L.INPUT_DTYPE)


def _worded(entry: np.void, data: memoryview, codec: Codec) -> MessageReject:
    """The protocol's MessageReject for the request a reject entry points at."""
    at = int(entry["offset"])
    length, kind, version = data[at] | data[at + 1] << 8, data[at + 2], data[at + 3]
    decoded = codec.decode(data, at, length, kind, version)
    if type(decoded) is BadMessage:
        return decoded.reject
    # The two decoders disagree: a bug (the agreement test exists to catch it); say
    # what the conversion saw rather than let the request through.
    log.error("the wire conversion refused a request the protocol reads as %r", decoded)
    return MessageReject(*describe_reject(entry, codec.version))
