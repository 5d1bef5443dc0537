"""The compiled kernel running its own pre-trade stage (engine/kernel/risk_checks.hpp).

The compiled kernel has PreTradeRisk's checks built in (``set_risk``) and takes
its limits as a table (``set_limits``); what it cannot do itself is read a
StageChain's spec or a SET_RISK_LIMITS record's msgpack payload. This wrapper
does those two around ``process_into``, at the records' places in the stream:

* a STAGE_CHAIN record: run it (its seq), then, if the spec changed, switch
  the kernel's stage on (a stage the compiled kernel can run) or off, its
  state empty and its limits the stage's defaults, as ``CoreLogic.switch_stage``
  makes a new stage;
* a SET_RISK_LIMITS record: its table set right before it
  (engine.kernel.control_split.run_with_controls), when a stage is on;
* KILL_SWITCH: the kernel's own.

Which specs the compiled kernel can run is the stage's to say: a stage factory
with a ``compiled_limits(payload, directory)`` of its own (risk.pretrade's
PreTradeRisk) is run compiled; the engine imports no stage. ``compiled_limits``
gives ``(table, complete)`` (None payload: the stage's default limits), or None
for a payload the stage would refuse (the old limits stay). ``complete`` False:
the limits name a symbol or account the directory has no id for yet; rows for
it are left out, and the table is made again once the directory grows (the
kernel sees no order naming it before its DEFINE, which the directory learns
before the batch that holds it runs).

A batch without STAGE_CHAIN or SET_RISK_LIMITS records goes straight to the
compiled kernel (``process_unstaged``: the kind bytes scanned in the same call).

The dump (``RKS1``): a msgpack array [version, the stage's spec, the limits
payload in force, the kernel's RKC1 dump without the stage, the stage's state
(``dump_stage``: limits table, live orders, exposures, last prices, kill
switches)]. Another kernel's dump is refused (ValueError naming it), so
recovery passes over such a snapshot, as kernel_snapshot does for any other kind.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from types import ModuleType
from typing import Any, Final, Protocol

import msgspec
import numpy as np

from ringmatch.engine.core.pretrade_hook import StageResolver, UnknownStage
from ringmatch.engine.kernel.control_split import run_with_controls
from ringmatch.engine.kernel.event_buffer import EventBufferTooSmall
from ringmatch.engine.records import layout as L
from ringmatch.engine.records.inputs import decode_inputs, kind_table, owners
from ringmatch.engine.records.names import Directory
from ringmatch.engine.schema.commands import StageChain

DUMP_MAGIC: Final = b"RKS1"
DUMP_VERSION: Final = 1


class CompiledLimits(Protocol):
    """A stage's limits as the compiled kernel's table (see the module doc)."""

    def __call__(
        self, payload: bytes | None, directory: Directory
    ) -> tuple[np.ndarray, bool] | None: ...


def compiled_limits_of(spec: str, resolve: StageResolver) -> CompiledLimits | None:
    """The ``compiled_limits`` of the stage ``spec`` names, if the compiled kernel can
    run that stage (its factory defines one itself: a subclass must say so again)."""
    try:
        factory = resolve(spec)
    except UnknownStage:
        return None  # the reference kernel's stage chain says so, where it names it
    found: CompiledLimits | None = getattr(factory, "__dict__", {}).get("compiled_limits")
    return found


class StagedKernel:
    """The compiled kernel, its stage switched by STAGE_CHAIN records, limits fed in."""

    __slots__ = (
        "_complete",
        "_limits",
        "_names",
        "_payload",
        "chain",
        "directory",
        "kernel",
        "resolve",
    )

    def __init__(self, module: ModuleType, resolve: StageResolver) -> None:
        self.kernel: Any = module.Kernel()
        self.resolve = resolve
        self.chain: str | None = None  # the spec of the stage on (None: off)
        # The names the limits are made through; JournalRun binds its own.
        self.directory = Directory()
        self._limits: CompiledLimits | None = None
        self._payload: bytes | None = None  # the limits in force (None: the defaults)
        self._complete = True
        self._names = 0  # the directory's size when the table was made

    # -- the kernel's interface -----------------------------------------------------

    @property
    def last_seq(self) -> int:
        return int(self.kernel.last_seq)

    @property
    def trade_id(self) -> int:
        return int(self.kernel.trade_id)

    @property
    def resting_orders(self) -> int:
        return int(self.kernel.resting_orders)

    @property
    def risk_enabled(self) -> bool:
        return bool(self.kernel.risk_enabled)

    def next_expiry(self) -> int | None:
        """The compiled kernel's next GTD expiry (the core's Clock), None if none."""
        due: int | None = self.kernel.next_expiry()
        return due

    def l3(self, symbol: int) -> np.ndarray:
        out: np.ndarray = self.kernel.l3(symbol)
        return out

    def process_into(self, inputs: np.ndarray, events: np.ndarray) -> tuple[int, int]:
        if not self._complete:
            self._remake_limits()
        done: tuple[int, int] | None = self.kernel.process_unstaged(inputs, events)
        if done is not None:  # no STAGE_CHAIN or SET_RISK_LIMITS record: run as it is
            return done
        return self._cut(inputs, events)

    def process(self, inputs: np.ndarray) -> np.ndarray:
        """Every event of ``inputs``, in a new array (tests and tools)."""
        parts: list[np.ndarray] = []
        buffer = np.zeros(max(64, 2 * len(inputs)), L.EVENT_DTYPE)
        at = 0
        while at < len(inputs):
            try:
                consumed, written = self.process_into(inputs[at:], buffer)
            except EventBufferTooSmall as small:
                buffer = np.zeros(max(small.need, 2 * len(buffer)), L.EVENT_DTYPE)
                continue
            parts.append(buffer[:written].copy())
            at += consumed
        return L.join_records(parts, L.EVENT_DTYPE)

    # -- snapshots ------------------------------------------------------------------

    def dump(self) -> bytes:
        stage = self.kernel.dump_stage() if self.chain is not None else b""
        body = [DUMP_VERSION, self.chain, self._payload, self.kernel.dump_books(), stage]
        return DUMP_MAGIC + msgspec.msgpack.encode(body)

    def load(self, data: bytes) -> None:
        if bytes(data[:4]) != DUMP_MAGIC:
            raise ValueError(
                f"not a dump of the compiled kernel with its stage (magic {bytes(data[:4])!r})"
            )
        try:
            version, chain, payload, books, stage = msgspec.msgpack.decode(data[4:])
        except (msgspec.DecodeError, ValueError, TypeError) as exc:
            why = f"a staged compiled kernel's dump that will not decode: {exc}"
            raise ValueError(why) from exc
        if version != DUMP_VERSION:
            raise ValueError(f"staged compiled kernel dump version {version}, not {DUMP_VERSION}")
        limits = None
        if chain is not None:
            limits = compiled_limits_of(chain, self.resolve)
            if limits is None:
                raise ValueError(f"the dump runs the stage {chain!r}, which this kernel cannot")
        self.kernel.set_risk(chain is not None)
        try:
            self.kernel.load_books(books)
            if chain is not None:
                self.kernel.load_stage(stage)
        except ValueError:
            self.kernel.set_risk(False)
            raise
        self.chain, self._limits, self._payload = chain, limits, payload
        # The directory is bound after the load: the table is made again through it
        # (the same rows, and any a name the directory has learnt since gives).
        self._complete = chain is None
        self._names = -1  # made again at the first batch

    # -- the stage's inputs ---------------------------------------------------------

    def _cut(self, inputs: np.ndarray, events: np.ndarray) -> tuple[int, int]:
        """process_into, stopping at each STAGE_CHAIN input to switch the stage after it."""
        start = written = 0
        for at, end in [*_stage_chains(inputs), (len(inputs), len(inputs))]:
            if start < at:
                try:
                    consumed, n = self._run(inputs[start:at], events[written:])
                except EventBufferTooSmall:
                    if written:
                        return start, written
                    raise
                written += n
                if consumed < at - start:
                    return start + consumed, written
            if at == len(inputs):
                break
            try:
                consumed, n = self.kernel.process_into(inputs[at:end], events[written:])
            except EventBufferTooSmall:
                if written:
                    return at, written
                raise
            written += n
            if consumed < end - at:
                return at, written
            self._switch(inputs[at:end])
            start = end
        return len(inputs), written

    def _run(self, inputs: np.ndarray, events: np.ndarray) -> tuple[int, int]:
        if self._limits is None:  # no stage: SET_RISK_LIMITS uses its seq only
            log_ignored_controls(inputs, self.directory)
            done: tuple[int, int] = self.kernel.process_into(inputs, events)
            return done
        return run_with_controls(self.kernel, inputs, events, self._set_limits)

    def _set_limits(self, payload: bytes) -> np.ndarray | None:
        assert self._limits is not None
        made = self._limits(payload, self.directory)
        if made is None:
            return None  # a payload the stage refuses: the old limits stay
        self._payload = payload
        table, self._complete = made
        self._names = _size(self.directory)
        return table

    def _switch(self, records: np.ndarray) -> None:
        decoded = decode_inputs(records, self.directory)
        if len(decoded) != 1 or type(decoded[0][1]) is not StageChain:
            return  # a record the kernel took as its seq only
        spec = decoded[0][1].pretrade
        if spec == self.chain:
            return
        limits = None
        if spec is not None:
            limits = compiled_limits_of(spec, self.resolve)
            if limits is None:
                raise ValueError(
                    f"StageChain {spec!r}: a stage the compiled kernel cannot run (the "
                    "journal's kernel is chosen before its first batch: kernel_for)"
                )
        self.kernel.set_risk(spec is not None)
        self.chain, self._limits, self._payload = spec, limits, None
        self._complete = spec is None
        if limits is not None:
            self._remake_limits(force=True)

    def _remake_limits(self, *, force: bool = False) -> None:
        """The table of the limits in force, made again through the directory as it is
        now (while some name in them had no id, once the directory grows: see the
        module doc)."""
        if self._limits is None or (not force and _size(self.directory) == self._names):
            return
        made = self._limits(self._payload, self.directory)
        if made is None:  # cannot be: the payload in force was taken once
            raise ValueError("the limits in force will not decode any more")
        table, self._complete = made
        self._names = _size(self.directory)
        self.kernel.set_limits(table)


log = logging.getLogger("ringmatch.core")
CONTROL_KINDS = kind_table([L.KILL_SWITCH, L.SET_RISK_LIMITS])


def log_ignored_controls(records: np.ndarray, directory: Directory) -> None:
    """Say which control inputs a kernel without a stage ignores, as the stage chain does.

    With no stage on, a KILL_SWITCH or SET_RISK_LIMITS only uses its seq; an
    operator must see that. Rare inputs: the cost is one test of the kinds.
    (It may name an input of a batch the kernel then stops short of: it is
    said again when the rest comes, as the stage chain would say it once.)
    """
    kinds = records["kind"]
    if not CONTROL_KINDS[kinds].any():
        return
    starts = owners(records).tolist()
    for i, end in zip(starts, [*starts[1:], len(records)], strict=True):
        if int(kinds[i]) in (L.KILL_SWITCH, L.SET_RISK_LIMITS):
            for seq, inp in decode_inputs(records[i:end], directory):
                log.warning("seq %d: %r ignored: no pre-trade stage is configured", seq, inp)


def _size(directory: Directory) -> int:
    return len(directory.symbols) + len(directory.accounts)


def _stage_chains(records: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) of each STAGE_CHAIN input with its text records, walking owners as
    the kernel does (a text record that starts with the byte is not one)."""
    kinds = records["kind"]
    qtys = records["qty"]
    n = len(records)
    out = []
    i = 0
    while i < n:
        kind = int(kinds[i])
        span = 1
        if kind in L.WITH_TEXT:
            qty = int(qtys[i])
            if 0 <= qty <= L.MAX_TEXT:
                span += min(L.continuation_records(qty), n - i - 1)
        if kind == L.STAGE_CHAIN:
            out.append((i, i + span))
        i += span
    return out


StagedFactory = Callable[[], StagedKernel]
