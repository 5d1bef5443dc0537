"""How a gateway worker talks to the core: submit commands, receive every event.

    link.start(loop, on_events)    # on_events(list[Event]) runs on the loop, in core order
    link.submit([cmd, ...])        # a batch of commands, in order
    link.close()

Two implementations: ``LocalCore`` (below: a MatchingEngine in this very
process, doing the core's client-order-id work; for unit tests and a
single-process server) and ``gateway.ring_link.RingLink`` (the real thing: an
SPSC input ring to the core process, the event ring back).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Protocol

import msgspec

from engine.commands import Cancel, Command, MassCancel, NewOrder, Replace
from engine.enums import CommandKind, RejectReason
from engine.events import Event, Rejected
from engine.matching import MatchingEngine

OnEvents = Callable[[list[Event]], None]


class CoreLink(Protocol):
    def start(self, loop: asyncio.AbstractEventLoop, on_events: OnEvents) -> None: ...

    def submit(self, commands: Sequence[Command]) -> None: ...

    def close(self) -> None: ...


class LocalCore:
    """A matching engine in the worker's process, behind the CoreLink interface.

    It does what the core does before matching: engine ids from a counter, a
    client id unique per account (a second NEW with it is rejected), and a
    Cancel/Replace's client id resolved to the engine id for its account.
    Events are delivered on a later loop turn, as a ring would.
    """

    def __init__(self) -> None:
        self.engine = MatchingEngine()
        self.ids: dict[tuple[str, int], int] = {}
        self._next_id = 1
        self._seq = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._on_events: OnEvents | None = None

    def start(self, loop: asyncio.AbstractEventLoop, on_events: OnEvents) -> None:
        self._loop, self._on_events = loop, on_events

    def submit(self, commands: Sequence[Command]) -> None:
        assert self._loop is not None and self._on_events is not None, "start() first"
        events: list[Event] = []
        for command in commands:
            self._seq += 1
            events.extend(self._apply(command, self._seq))
        self._loop.call_soon(self._on_events, events)

    def _apply(self, cmd: Command, seq: int) -> list[Event]:
        if type(cmd) is MassCancel:
            return self.engine.process(cmd, seq)
        assert isinstance(cmd, NewOrder | Cancel | Replace)
        key = (cmd.account, cmd.client_order_id)
        if type(cmd) is NewOrder:
            if key in self.ids:
                return self._reject(
                    cmd, seq, CommandKind.NEW, RejectReason.DUPLICATE_CLIENT_ORDER_ID
                )
            self.ids[key] = order_id = self._next_id
            self._next_id += 1
            return self.engine.process(msgspec.structs.replace(cmd, order_id=order_id), seq)
        order_id = self.ids.get(key, 0)
        if not order_id:
            kind = CommandKind.CANCEL if type(cmd) is Cancel else CommandKind.REPLACE
            return self._reject(cmd, seq, kind, RejectReason.UNKNOWN_CLIENT_ORDER_ID)
        return self.engine.process(msgspec.structs.replace(cmd, order_id=order_id), seq)

    def _reject(
        self, cmd: NewOrder | Cancel | Replace, seq: int, kind: CommandKind, reason: RejectReason
    ) -> list[Event]:
        # Sequenced (and journalled, in the real core) though it changes nothing.
        return [Rejected(seq, kind, 0, cmd.account, reason, cmd.client_order_id)]

    def close(self) -> None:
        self._on_events = None
