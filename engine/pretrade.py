"""The seam between the core and its pre-trade stage (implemented in risk/).

The core calls the stage right before matching, on the core's own thread (it is
the single writer, so the stage needs no locks). The engine room defines only
this protocol; ``risk`` implements it, and the wiring (``ringmatch serve``)
passes an implementation to the core. With none, every order goes straight to
matching.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from engine.commands import Command, ControlCommand, NewOrder, Replace
from engine.enums import RejectReason
from engine.events import Event
from engine.matching import MatchingEngine


class PreTradeStage(Protocol):
    def check(self, cmd: NewOrder | Replace, engine: MatchingEngine) -> RejectReason | None:
        """Why ``cmd`` must not reach matching, or None to let it through."""
        ...

    def on_events(self, events: Sequence[Event]) -> None:
        """Keep the stage's view (open orders, worst-case positions, last price) current."""
        ...

    def control(self, cmd: ControlCommand, engine: MatchingEngine) -> list[Command]:
        """Apply a control input; return engine commands it causes (e.g. MassCancel)."""
        ...
