"""Commands: what a user asks the core to do. One schema for every room.

Replay, the rings, the wire protocol and the journal all carry these Structs.
They are ``array_like`` (compact on the wire and in the journal: a tag and the
fields in order) and ``gc=False``: they hold only scalars, so they can never be
part of a reference cycle and the collector need not track them.
"""

from __future__ import annotations

import msgspec

from ringmatch.engine.schema.enums import (
    CancelReason,
    OrderType,
    Side,
    StpMode,
    TimeInForce,
    TradingPhase,
)


class NewOrder(msgspec.Struct, frozen=True, array_like=True, gc=False, tag="new"):
    """Enter a new order. ``price`` is in ticks; ``None`` for a market order or a STOP.

    ``tif`` of ``None`` means the default: GTC for a limit order or a stop, IOC
    for a market order. ``ts_ns`` is the time of the input's batch (VENUE_RULES.md
    V-TIME-1): it drives expiry, never priority. The venue fields come last, so
    that an encoding from before them still decodes: ``trigger_price`` for STOP
    and STOP_LIMIT, ``display_qty`` for an iceberg, ``expire_ts`` for GTD
    (docs/ORDER_TYPES.md).
    """

    order_id: int
    account: str
    symbol: str
    side: Side
    order_type: OrderType
    price: int | None
    qty: int
    tif: TimeInForce | None = None
    post_only: bool = False
    stp: StpMode = StpMode.NONE
    ts_ns: int = 0
    client_order_id: int = 0  # the id its sender knows it by; 0: the same as order_id
    trigger_price: int | None = None
    display_qty: int | None = None
    expire_ts: int | None = None


class Cancel(msgspec.Struct, frozen=True, array_like=True, gc=False, tag="cancel"):
    """Remove the whole remaining quantity of a resting order."""

    order_id: int
    account: str
    ts_ns: int = 0
    client_order_id: int = 0


class Replace(msgspec.Struct, frozen=True, array_like=True, gc=False, tag="replace"):
    """Give a resting order (or a held stop) a new price and a new remaining quantity.

    ``price`` is ``None`` only for a held STOP, which has none. ``trigger_price``
    (a held stop's new trigger) of ``None`` leaves the trigger as it is.
    """

    order_id: int
    account: str
    price: int | None
    qty: int
    ts_ns: int = 0
    client_order_id: int = 0
    trigger_price: int | None = None


class MassCancel(msgspec.Struct, frozen=True, array_like=True, gc=False, tag="mass_cancel"):
    """Cancel every resting order of ``account`` (of one ``symbol`` only, if given).

    ``reason`` says who asked: the account itself (MASS_CANCEL), its last
    session dropping (DISCONNECT) or the risk kill switch (KILL_SWITCH).
    """

    account: str
    symbol: str | None = None
    reason: CancelReason = CancelReason.MASS_CANCEL
    ts_ns: int = 0


class SetPhase(msgspec.Struct, frozen=True, array_like=True, gc=False, tag="set_phase"):
    """Control input: move ``symbol`` to trading phase ``phase`` (VENUE_RULES.md V-SES-1).

    From the configured schedule or an admin command; journalled like every input.
    ``reference_price`` (ticks), when given (not None or 0), is the symbol's
    configured reference price from here on: what an uncross breaks a tie by while
    the symbol has not traded (V-AUC-2), set before the move (so before the move's
    own uncross); a negative one is rejected INVALID_PRICE, and nothing moves.
    """

    symbol: str
    phase: TradingPhase
    ts_ns: int = 0
    reference_price: int | None = None


class Clock(msgspec.Struct, frozen=True, array_like=True, gc=False, tag="clock"):
    """Core input: time has reached ``ts_ns`` (V-TIME-1). It only runs the expiries due."""

    ts_ns: int


class KillSwitch(msgspec.Struct, frozen=True, array_like=True, gc=False, tag="kill_switch"):
    """Control input: turn an account's kill switch (``account=None``: the global one)
    on or off. While on, new orders are rejected and cancels still work; turning it
    on with ``cancel_orders`` also cancels the resting orders it covers.

    Journalled like every input, so that replay rebuilds the same decisions. The
    matching engine does not take it: the core's pre-trade stage (risk/) does.
    """

    account: str | None
    on: bool
    cancel_orders: bool = True
    why: str = ""
    ts_ns: int = 0


class SetRiskLimits(msgspec.Struct, frozen=True, array_like=True, gc=False, tag="set_risk_limits"):
    """Control input: new pre-trade limits, as the risk stage's own msgpack payload.

    The server journals one at start and one per reload, so replay applies the
    limits that were in force at each point of the stream.
    """

    payload: bytes
    ts_ns: int = 0

    def __repr__(self) -> str:
        # Shown in logs and halt messages: the payload decoded (it is msgpack; the
        # engine reads it as plain data, not as risk's schema), never as raw bytes.
        try:
            limits = repr(msgspec.msgpack.decode(self.payload))
        except msgspec.DecodeError:
            limits = f"<{len(self.payload)} bytes, not msgpack>"
        return f"SetRiskLimits(limits={limits}, ts_ns={self.ts_ns})"


class SessionOpened(msgspec.Struct, frozen=True, array_like=True, gc=False, tag="session_opened"):
    """Session input: ``account`` logged on as session ``session`` of gateway worker ``worker``.

    The core counts an account's live sessions across every worker from these
    (ringmatch.engine.core.sessions), so that cancel-on-disconnect fires when the account's
    last session anywhere ends, not its last one on one worker.
    ``cancel_on_disconnect``: the session asked for it at logon.
    """

    account: str
    worker: int
    session: int
    cancel_on_disconnect: bool = False
    ts_ns: int = 0


class SessionClosed(msgspec.Struct, frozen=True, array_like=True, gc=False, tag="session_closed"):
    """Session input: session ``session`` of worker ``worker`` (``account``'s) has ended."""

    account: str
    worker: int
    session: int
    ts_ns: int = 0


class WorkerStarted(msgspec.Struct, frozen=True, array_like=True, gc=False, tag="worker_started"):
    """Session input: gateway worker ``worker`` (of ``workers``) has started, with no sessions.

    A worker's first input. Sessions the core still counts for that worker (or
    for a worker number ``>= workers``, which this server no longer runs) are
    left over from a worker or a server that stopped without saying so: they
    are closed as if each had sent SessionClosed.
    """

    worker: int
    workers: int
    ts_ns: int = 0


class StageChain(msgspec.Struct, frozen=True, array_like=True, gc=False, tag="stage_chain"):
    """Core input: from this seq on, the pre-trade stage is the one ``pretrade`` names
    (a "module:factory" spec, as in the core's configuration; None: no stage).

    The core journals it itself, as the first input of a run whose configured
    stage differs from the one the journal last named, and switches to a new,
    empty stage (ringmatch.engine.core.stage_chain). Recovery, ``replay --format journal`` and
    the feed's and risk's rebuilds switch at the same seq, so they run the stage
    the live core ran whatever the configuration says now. Until a journal's
    first StageChain there is no stage (journals written before it existed).
    """

    pretrade: str | None
    ts_ns: int = 0


class SkipInput(msgspec.Struct, frozen=True, array_like=True, gc=False, tag="skip_input"):
    """Core input: the journalled input at ``seq`` is never applied (``serve --skip-seq``).

    Journalled by the core after the input it names (the one that halted it),
    but it takes effect before it: every reader of the journal looks ahead for
    SkipInputs (ringmatch.engine.core.recovery.journalled_skips) and steps over that
    seq, so recovery and replay skip it the same way from then on.
    """

    seq: int
    ts_ns: int = 0


Command = NewOrder | Cancel | Replace | MassCancel
VenueCommand = SetPhase | Clock  # the matching engine's inputs that name no order
ControlCommand = KillSwitch | SetRiskLimits
SessionInput = SessionOpened | SessionClosed | WorkerStarted
CoreInput = StageChain | SkipInput  # journalled by the core itself, never taken from a ring
GatewayInput = Command | SessionInput  # what a gateway worker puts on its input ring
Input = (
    Command | VenueCommand | ControlCommand | SessionInput | CoreInput
)  # all the core sequences and journals
