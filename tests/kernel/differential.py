"""Run one record stream through the compiled kernel and the reference, and compare.

The reference kernel (``ringmatch.engine.core.reference_kernel``) is the pure
engine and stage chain behind the kernel's interface: the specification. They
must agree on every event byte and, after every batch, on every book (l3 of
every symbol), the last seq, the trade id and the counts.

The compiled kernel does not run the venue rules yet (engine.kernel.venue_gate):
a stream is compared up to its first venue input, and there the kernel must
refuse it (VenueRulesNotCompiled) with nothing of it applied.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from ringmatch.engine.core import kernel_choice
from ringmatch.engine.core.reference_kernel import ReferenceKernel
from ringmatch.engine.kernel.event_buffer import EventBufferTooSmall, VenueRulesNotCompiled
from ringmatch.engine.kernel.venue_gate import first_venue_input
from ringmatch.engine.records import layout as L
from tests.conftest import need

# Hypothesis examples per test: a short run by default, more on demand.
EXAMPLES = int(os.environ.get("RINGMATCH_KERNEL_EXAMPLES", "0"))


def examples(default: int) -> int:
    return EXAMPLES or default


def compiled() -> Any:
    module = kernel_choice.compiled_module()
    need(
        module is not None,
        "the compiled kernel was not built (pip install -e . with a C++ compiler)",
    )
    return module.Kernel()


def show(events: np.ndarray) -> list[dict[str, int]]:
    """Records as dicts of their non-zero fields, for a readable failure."""
    out = []
    for rec in events:
        if rec["kind"] == L.NAME:
            out.append({"kind": L.NAME, "flags": int(rec["flags"]), "name": bytes(rec["name"])})
            continue
        fields = L.EVENT_DTYPE.names or ()
        out.append({f: int(rec[f]) for f in fields if f != "name" and rec[f]})
    return out


def assert_same_events(got: np.ndarray, want: np.ndarray) -> None:
    assert got.dtype == L.EVENT_DTYPE
    if got.tobytes() != want.tobytes():
        assert show(got) == show(want)  # names the first record that differs
        raise AssertionError("the event bytes differ where the fields agree")


def assert_same_state(kernel: Any, reference: ReferenceKernel) -> None:
    assert kernel.last_seq == reference.last_seq
    assert kernel.trade_id == reference.trade_id
    assert kernel.resting_orders == reference.resting_orders
    assert kernel.symbols_defined == reference.symbols_defined
    assert kernel.accounts_defined == reference.accounts_defined
    for symbol in range(kernel.symbols_defined + 2):
        got, want = kernel.l3(symbol), reference.l3(symbol)
        assert got.dtype == L.BOOK_DTYPE
        if got.tobytes() != want.tobytes():
            assert got.tolist() == want.tolist(), f"l3({symbol})"


def process_both(kernel: Any, reference: ReferenceKernel, batch: np.ndarray) -> None:
    """One batch through both; a ValueError (seq out of order) must come from both."""
    error = None
    try:
        want = reference.process(batch)
    except ValueError as refused:
        error = refused
    if error is not None:
        try:
            kernel.process(batch)
        except ValueError as refused:
            assert str(refused) == str(error)
        else:
            raise AssertionError(f"the reference refused the batch, the kernel did not: {error}")
    else:
        assert_same_events(kernel.process(batch), want)
    assert_same_state(kernel, reference)


def split_venue(batch: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """``batch`` up to its first venue input, and the rest from it (None if none)."""
    cut = first_venue_input(batch)
    return (batch, None) if cut is None else (batch[:cut], batch[cut:])


def assert_refuses_venue(kernel: Any, reference: ReferenceKernel, rest: np.ndarray) -> None:
    """The compiled kernel stops before ``rest``'s first input, a venue input, having
    applied none of it: both kernels are as they were."""
    events = np.zeros(4096, L.EVENT_DTYPE)
    with pytest.raises(VenueRulesNotCompiled) as refused:
        kernel.process_into(rest, events)
    assert (refused.value.index, refused.value.written) == (0, 0)
    assert refused.value.seq == int(rest[0]["seq"])
    assert_same_state(kernel, reference)


def run_batches(records: np.ndarray, cuts: Sequence[int]) -> None:
    """Both kernels, fed ``records`` cut at ``cuts``, agree after every batch, up to the
    first venue input, which the compiled kernel must refuse."""
    kernel, reference = compiled(), ReferenceKernel()
    bounds = [0, *sorted(set(cuts)), len(records)]
    for start, stop in itertools.pairwise(bounds):
        if start < stop:
            batch, rest = split_venue(records[start:stop])
            if len(batch):
                process_both(kernel, reference, batch)
            if rest is not None:
                assert_refuses_venue(kernel, reference, rest)
                return


def drain(kernel: Any, records: np.ndarray, room: int) -> np.ndarray:
    """Every event of ``records`` through process_into with a buffer of ``room`` records,
    growing it only when EventBufferTooSmall says it must."""
    buffer = np.zeros(room, L.EVENT_DTYPE)
    parts = []
    at = 0
    while at < len(records):
        try:
            consumed, written = kernel.process_into(records[at:], buffer)
        except EventBufferTooSmall as small:
            assert small.need > len(buffer)
            buffer = np.zeros(small.need, L.EVENT_DTYPE)
            continue
        assert consumed > 0
        parts.append(buffer[:written].copy())
        at += consumed
    return np.concatenate([np.zeros(0, L.EVENT_DTYPE), *parts], dtype=L.EVENT_DTYPE)
