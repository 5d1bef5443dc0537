"""Driving a kernel through SET_RISK_LIMITS records, whose payload it cannot read.

A SET_RISK_LIMITS record owns the msgpack RiskConfig the journal keeps; the
compiled kernel takes its limits as data (``set_limits``, layout.LIMITS_DTYPE)
and only uses the record's seq. So the caller cuts the batch at each such
record and hands the kernel the decoded table right before it: the limits
change at the record's place in the stream, as PreTradeRisk.control changes
them there. ``on_limits`` is the caller's (risk/ decodes; engine imports
nothing from it): the payload to a table, or None to keep the old limits, as
PreTradeRisk does on a payload it cannot use.

The table is set only where the kernel will apply the record: its text
length in range (else it is its seq only, in the reference as in the
kernel) and its seq after the kernel's last (else the kernel refuses it, and
the limits must not have moved).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Protocol

import numpy as np

from ringmatch.engine.kernel.api import Kernel
from ringmatch.engine.kernel.event_buffer import EventBufferTooSmall
from ringmatch.engine.records import layout as L
from ringmatch.engine.records.inputs import owners


class LimitsKernel(Kernel, Protocol):
    """A kernel that takes its limits as data (the compiled one)."""

    def set_limits(self, table: np.ndarray) -> None: ...


def control_starts(records: np.ndarray) -> list[int]:
    """The indices of the SET_RISK_LIMITS records that own their text (not a text record,
    nor a NEW's or REPLACE's TERMS record, that happens to start with that byte), walking
    owners as the kernel does (records.inputs.owners)."""
    kinds = records["kind"]
    return [i for i in owners(records).tolist() if int(kinds[i]) == L.SET_RISK_LIMITS]


def payload(records: np.ndarray, at: int) -> bytes | None:
    """The text of the SET_RISK_LIMITS record at ``at`` as far as ``records`` goes
    (what the reference kernel reads), or None if its length is out of range."""
    qty = int(records[at]["qty"])
    if not 0 <= qty <= L.MAX_TEXT:
        return None
    texts = min(L.continuation_records(qty), len(records) - at - 1)
    return records[at + 1 : at + 1 + texts].tobytes()[:qty]


def run_with_controls(
    kernel: LimitsKernel,
    records: np.ndarray,
    events: np.ndarray,
    on_limits: Callable[[bytes], np.ndarray | None],
) -> tuple[int, int]:
    """``kernel.process_into(records, events)``, with each SET_RISK_LIMITS record's
    limits set right before it: (records consumed, events written).

    Like process_into it may stop early when ``events`` has no room (call again
    with the rest: a record consumed had its limits set); EventBufferTooSmall
    and ValueError as process_into raises them, with the records before applied.
    """
    cuts = [*control_starts(records), len(records)]
    start = 0
    written = 0
    for cut in cuts:
        if start < cut:
            try:
                consumed, n = kernel.process_into(records[start:cut], events[written:])
            except EventBufferTooSmall:
                if written:
                    return start, written  # the room left is too small, not the buffer
                raise
            except ValueError as refused:
                raise _from(refused, start) from refused
            written += n
            if consumed < cut - start:
                return start + consumed, written
            start = cut
        if cut < len(records):
            text = payload(records, cut)
            if text is not None and int(records[cut]["seq"]) > kernel.last_seq:
                table = on_limits(text)
                if table is not None:
                    kernel.set_limits(table)
    return start, written


def _from(refused: ValueError, start: int) -> ValueError:
    """The kernel's refusal with its record index counted from the whole batch's start."""
    m = re.match(r"record (\d+): (.*)", str(refused), re.DOTALL)
    if m is None:
        return refused
    return ValueError(f"record {start + int(m.group(1))}: {m.group(2)}")
