"""Run one record stream through the compiled kernel and the reference, and compare.

The reference kernel (``ringmatch.engine.core.reference_kernel``) is the pure
engine and stage chain behind the kernel's interface: the specification. They
must agree on every event byte and, after every batch, on every book (l3 of
every symbol), the last seq, the trade id and the counts.

The compiled kernel runs every input the reference does, the venue's (stops,
icebergs, expiry, trading phases and call auctions) with its pre-trade stage on
or off: nothing is cut out of a stream.
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
from ringmatch.engine.kernel.event_buffer import EventBufferTooSmall
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


def run_kernel(kernel: Any, batch: np.ndarray) -> tuple[np.ndarray, ValueError | None]:
    """The kernel's events for ``batch`` as ``kernel.process`` gives them, and its
    ValueError (a seq out of order: the inputs before it applied), or None."""
    parts = [np.zeros(0, L.EVENT_DTYPE)]
    buffer = np.zeros(2 * len(batch) + 4096, L.EVENT_DTYPE)
    at = 0
    while at < len(batch):
        try:
            consumed, written = kernel.process_into(batch[at:], buffer)
        except EventBufferTooSmall as small:
            buffer = np.zeros(small.need, L.EVENT_DTYPE)
            continue
        except ValueError as refused:
            return np.concatenate(parts, dtype=L.EVENT_DTYPE), refused
        parts.append(buffer[:written].copy())
        at += consumed
    return np.concatenate(parts, dtype=L.EVENT_DTYPE), None


def process_both(kernel: Any, reference: ReferenceKernel, batch: np.ndarray) -> None:
    """One batch through both (the kernel first): the same events, or the same
    ValueError (a seq out of order) with the same inputs applied."""
    got, refused = run_kernel(kernel, batch)
    if refused is not None:
        with pytest.raises(ValueError) as also:
            reference.process(batch)
        assert str(also.value) == str(refused)
    else:
        assert_same_events(got, reference.process(batch))
    assert_same_state(kernel, reference)


def run_batches(records: np.ndarray, cuts: Sequence[int]) -> None:
    """Both kernels, fed ``records`` cut at ``cuts``, agree after every batch."""
    kernel, reference = compiled(), ReferenceKernel()
    bounds = [0, *sorted(set(cuts)), len(records)]
    for start, stop in itertools.pairwise(bounds):
        if start < stop:
            process_both(kernel, reference, records[start:stop])


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
