"""The seam between the core and its pre-trade stage (implemented in risk/).

The core calls the stage right before matching, on the core's own thread (it is
the single writer, so the stage needs no locks). The engine room defines only
this protocol (and ``stage_factory``, which finds an implementation by name);
``risk`` implements it, and the wiring (``ringmatch serve``) names an
implementation to the core, and to whatever replays the journal as the core
did. With none, every order goes straight to matching.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
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


StageFactory = Callable[[], PreTradeStage | None]


def stage_factory(spec: str | None) -> StageFactory:
    """The factory ``"module:factory"`` names (the core's ``pretrade`` setting), called
    once per stage wanted; None: no stage. Imported now, so a bad name fails at start."""
    if spec is None:
        return lambda: None
    module_name, _, name = spec.partition(":")
    if not name:
        raise ValueError(f"pretrade {spec!r}: expected module:factory")
    made: StageFactory = getattr(importlib.import_module(module_name), name)
    return made
