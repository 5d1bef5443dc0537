"""How a gateway worker talks to the core: submit commands, receive every event.

    link.start(loop, on_events)    # on_events(list[Event]) runs on the loop, in core order
    link.submit([inp, ...])        # a batch of commands and session inputs, in order
    link.close()

Two implementations: ``LocalCore`` (below: a MatchingEngine in this very
process, doing the core's client-order-id work; for unit tests and a
single-process server) and ``ringmatch.gateway.server.ring_link.RingLink`` (the real thing: an
SPSC input ring to the core process, the event ring back).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Protocol

from ringmatch.engine.core.stage_chain import CoreLogic
from ringmatch.engine.schema.commands import GatewayInput
from ringmatch.engine.schema.events import Event

OnEvents = Callable[[list[Event]], None]


class CoreLink(Protocol):
    def start(self, loop: asyncio.AbstractEventLoop, on_events: OnEvents) -> None: ...

    def submit(self, commands: Sequence[GatewayInput]) -> None: ...

    def close(self) -> None: ...


class LocalCore:
    """The core's logic in the worker's own process, behind the CoreLink interface.

    The same stage chain as the core process (ringmatch.engine.core.stage_chain: client order
    ids, then matching), minus the rings and the journal. Events are delivered
    on a later loop turn, as the event ring would deliver them.
    """

    def __init__(self) -> None:
        self.logic = CoreLogic()
        self._seq = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._on_events: OnEvents | None = None

    def start(self, loop: asyncio.AbstractEventLoop, on_events: OnEvents) -> None:
        self._loop, self._on_events = loop, on_events

    def submit(self, commands: Sequence[GatewayInput]) -> None:
        assert self._loop is not None and self._on_events is not None, "start() first"
        events: list[Event] = []
        for command in commands:
            self._seq += 1
            events += self.logic.process(command, self._seq)
        self._loop.call_soon(self._on_events, events)

    def close(self) -> None:
        self._on_events = None
