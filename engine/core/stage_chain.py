"""The core's per-input stage chain: client order ids -> pre-trade -> matching.

Pure and deterministic, like the engine: the reference kernel
(ringmatch.engine.core.reference_kernel) runs it on every input record, live,
in recovery and in ``replay --format journal``, so all of them rebuild the same
state and emit the same events. It has two halves::

    admit(seq, input) -> input'     translate client order ids
    apply(seq, input') -> events    client-id rejects, pre-trade, matching

``process = apply(admit(...))``. ``admit`` is the only step that reads or
changes the registry. The journal stores inputs as they came, before
``admit`` (the kernel translates), so replay translates them again, the same
way; journals of the version before records hold what ``admit`` returned,
and admitting an already translated input registers the same pair and
changes nothing else. Rules (docs/PIPELINE.md, "Client order ids"):

* NewOrder with ``order_id=0`` and a client id: gets ``order_id=seq`` and is
  registered; if the account already used that client id it stays at
  ``order_id=0`` and ``apply`` rejects it DUPLICATE_CLIENT_ORDER_ID.
* Cancel / Replace with ``order_id=0`` and a client id: the registry's order
  id, or, if unknown, left at 0 and rejected UNKNOWN_CLIENT_ORDER_ID.
* Anything whose ``order_id`` is set passes untouched (a NewOrder with a
  client id is registered, first one wins): CSV replay and the journal.

Control inputs go to the pre-trade stage's ``control``; the commands it
returns (a MassCancel for a kill switch) run through matching under the same
seq. Without a stage they are logged and ignored.

The stage itself is chosen by the journal: a ``StageChain(spec)`` input
replaces it, from its seq on, with a new one made by
``ringmatch.engine.core.pretrade_hook.make_stage(spec, resolve)`` (``resolve``: the caller's,
default import by name); a spec equal to the current one changes nothing.
The new stage starts empty (it sees the events from its seq on), in the live
core as in every replay. A ``SkipInput`` does nothing at its own seq: the seq
it names is in ``skipped`` (filled by whoever replays the journal, from
ringmatch.engine.core.recovery.journalled_skips) and ``process`` / ``replay_batch``
step over it, using up the seq and changing nothing else.

An input whose processing raises is a bug (every command is validated before
its first mutation), and the state may be half changed: ``process`` and
``replay_batch`` raise InputFailed naming the seq and the input, and the
caller must not go on from that state (docs/PIPELINE.md, "Halts").

Session inputs (SessionOpened, SessionClosed, WorkerStarted) go to the
session table (ringmatch.engine.core.sessions); when one ends an armed account's last live
session, ``MassCancel(account, reason=DISCONNECT)`` runs under its seq.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import msgspec

from ringmatch.engine.book.matching import MatchingEngine
from ringmatch.engine.core.client_ids import ClientIds
from ringmatch.engine.core.pretrade_hook import (
    PreTradeStage,
    StageResolver,
    make_stage,
    no_stages,
)
from ringmatch.engine.core.sessions import SessionTable
from ringmatch.engine.schema.commands import (
    Cancel,
    Input,
    KillSwitch,
    MassCancel,
    NewOrder,
    Replace,
    SessionClosed,
    SessionOpened,
    SetRiskLimits,
    SkipInput,
    StageChain,
    WorkerStarted,
)
from ringmatch.engine.schema.enums import CancelReason, CommandKind, RejectReason
from ringmatch.engine.schema.events import Event, Rejected

log = logging.getLogger("ringmatch.core")

NEW = CommandKind.NEW
CANCEL = CommandKind.CANCEL
REPLACE = CommandKind.REPLACE
DUPLICATE_CLIENT_ORDER_ID = RejectReason.DUPLICATE_CLIENT_ORDER_ID
UNKNOWN_CLIENT_ORDER_ID = RejectReason.UNKNOWN_CLIENT_ORDER_ID
DISCONNECT = CancelReason.DISCONNECT
_replace = msgspec.structs.replace


class InputFailed(Exception):
    """Processing the input at ``seq`` raised (``__cause__``): a bug, never a reject.

    The state it was applied to may be half changed: do not go on from it.
    """

    def __init__(self, seq: int, inp: Input, cause: BaseException) -> None:
        super().__init__(
            f"seq {seq}: {inp!r} could not be applied: {type(cause).__name__}: {cause}"
        )
        self.seq = seq
        self.input = inp
        self.cause = cause


@runtime_checkable
class StatefulStage(Protocol):
    """A pre-trade stage whose state goes into snapshots (optional for a stage).

    Without it, recovery from a snapshot starts the stage empty, and its later
    decisions can differ from the live run's: a stage with state should have it.
    """

    def dump_state(self) -> bytes: ...

    def load_state(self, data: bytes) -> None: ...


class CoreLogic:
    """The stage chain around one MatchingEngine; ``last_seq`` is the engine's.

    ``chain`` is the spec of the stage in ``pretrade`` as the journal named it
    (None: none named; a stage given directly is kept until a StageChain names
    another); ``resolve`` finds a StageChain's factory; ``skipped``: seqs that
    ``process`` and ``replay_batch`` step over.
    """

    __slots__ = ("chain", "client_ids", "engine", "pretrade", "resolve", "sessions", "skipped")

    def __init__(
        self,
        engine: MatchingEngine | None = None,
        client_ids: ClientIds | None = None,
        pretrade: PreTradeStage | None = None,
        sessions: SessionTable | None = None,
        *,
        chain: str | None = None,
        resolve: StageResolver = no_stages,
        skipped: frozenset[int] = frozenset(),
    ) -> None:
        self.engine = MatchingEngine() if engine is None else engine
        self.client_ids = ClientIds() if client_ids is None else client_ids
        self.pretrade = pretrade
        self.sessions = SessionTable() if sessions is None else sessions
        self.chain = chain
        self.resolve = resolve
        self.skipped = skipped

    def switch_stage(self, spec: str | None) -> None:
        """From now on, a new stage made from ``spec`` (unless it is the current one)."""
        if spec != self.chain:
            self.pretrade = make_stage(spec, self.resolve)
            self.chain = spec

    @property
    def last_seq(self) -> int:
        return self.engine.last_seq

    def admit(self, seq: int, inp: Input) -> Input:
        """Translate ``inp``'s client order id through the registry (see the module doc)."""
        if isinstance(inp, NewOrder):
            client = inp.client_order_id
            if client:
                if inp.order_id:
                    self.client_ids.add(inp.account, client, inp.order_id)
                elif self.client_ids.add(inp.account, client, seq):
                    return _replace(inp, order_id=seq)
        elif isinstance(inp, Cancel | Replace) and not inp.order_id and inp.client_order_id:
            order_id = self.client_ids.lookup(inp.account, inp.client_order_id)
            if order_id:
                return _replace(inp, order_id=order_id)
        return inp

    def apply(self, seq: int, inp: Input) -> list[Event]:
        """Run an admitted input: client-id rejects, then pre-trade, then matching."""
        engine = self.engine
        if seq <= engine.last_seq:
            raise ValueError(f"seq {seq} is not after the last sequence number {engine.last_seq}")
        stage = self.pretrade
        if isinstance(inp, KillSwitch | SetRiskLimits):
            if stage is None:
                log.warning("seq %d: %r ignored: no pre-trade stage is configured", seq, inp)
                return self._skip(seq, [])
            # Every command a control input causes runs under that input's seq.
            return self._skip(seq, engine.process_under(seq, stage.control(inp, engine)))
        if isinstance(inp, SessionOpened | SessionClosed | WorkerStarted):
            # The account's last session anywhere has ended: its orders go, under this seq.
            ts = inp.ts_ns
            cancels = [MassCancel(a, None, DISCONNECT, ts) for a in self.sessions.apply(inp)]
            return self._skip(seq, engine.process_under(seq, cancels))
        if isinstance(inp, NewOrder | Cancel | Replace):
            if not inp.order_id and inp.client_order_id:
                # admit() left it untranslated: a used (NEW) or unknown client id.
                return self._skip(seq, [_client_id_reject(seq, inp)])
            if stage is not None and isinstance(inp, NewOrder | Replace):
                reason = stage.check(inp, engine)
                if reason is not None:
                    kind = NEW if isinstance(inp, NewOrder) else REPLACE
                    rejected = Rejected(
                        seq, kind, inp.order_id, inp.account, reason, inp.client_order_id
                    )
                    return self._skip(seq, [rejected])
        elif isinstance(inp, StageChain | SkipInput):  # here, not first: off the orders' path
            if type(inp) is StageChain:
                self.switch_stage(inp.pretrade)
            # A SkipInput did its work before its seq: see ``skipped``.
            return self._skip(seq, [])
        events = engine.process(inp, seq)
        if stage is not None:
            stage.on_events(events)
        return events

    def _skip(self, seq: int, events: list[Event]) -> list[Event]:
        """Finish an input matching did not see (whole): the seq is used all the same."""
        self.engine.last_seq = seq
        if self.pretrade is not None:
            self.pretrade.on_events(events)
        return events

    def skip(self, seq: int) -> list[Event]:
        """Step over the input at ``seq`` (one in ``skipped``): its seq is used, nothing else."""
        if seq <= self.engine.last_seq:
            raise ValueError(f"seq {seq} is not after the last sequence number {self.last_seq}")
        self.engine.last_seq = seq
        return []

    def process(self, inp: Input, seq: int) -> list[Event]:
        """``apply(admit(...))``: one input end to end (replay and recovery); a seq
        in ``skipped`` is stepped over. InputFailed if it raises."""
        if seq in self.skipped:
            return self.skip(seq)
        try:
            return self.apply(seq, self.admit(seq, inp))
        except Exception as exc:
            raise InputFailed(seq, inp, exc) from exc

    def replay_batch(self, records: Sequence[tuple[int, Input]]) -> None:
        """``process`` each journalled record, dropping the events: recovery's loop.

        Journalled inputs are mostly already translated, and without a pre-trade
        stage those go straight to the engine (a NEW's client id registered on
        the way), skipping the checks that cannot apply: ~25% of replay time.
        InputFailed if one raises.
        """
        skipped = self.skipped
        if self.pretrade is not None or (
            skipped and records and any(records[0][0] <= s <= records[-1][0] for s in skipped)
        ):
            for at, one in records:
                self.process(one, at)
            return
        process = self.engine.process
        add = self.client_ids.add
        seq = 0  # the record being replayed, for InputFailed
        inp: Input | None = None
        rest = iter(records)
        try:
            for seq, inp in rest:
                if isinstance(inp, (NewOrder, Cancel, Replace)):
                    if inp.order_id or not inp.client_order_id:
                        if type(inp) is NewOrder and inp.client_order_id:
                            add(inp.account, inp.client_order_id, inp.order_id)
                        process(inp, seq)
                        continue
                elif type(inp) is MassCancel:
                    process(inp, seq)
                    continue
                self.apply(seq, self.admit(seq, inp))
                if self.pretrade is not None:  # a StageChain switched a stage in
                    self.replay_batch(list(rest))
                    return
        except InputFailed:
            raise  # from the rest of the batch, after a StageChain
        except Exception as exc:
            assert inp is not None
            raise InputFailed(seq, inp, exc) from exc


def _client_id_reject(seq: int, inp: NewOrder | Cancel | Replace) -> Rejected:
    if isinstance(inp, NewOrder):
        return Rejected(seq, NEW, 0, inp.account, DUPLICATE_CLIENT_ORDER_ID, inp.client_order_id)
    kind = CANCEL if isinstance(inp, Cancel) else REPLACE
    return Rejected(seq, kind, 0, inp.account, UNKNOWN_CLIENT_ORDER_ID, inp.client_order_id)
