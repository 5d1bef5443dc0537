"""The seam between the core and its pre-trade stage (implemented in risk/).

The core calls the stage right before matching, on the core's own thread (it is
the single writer, so the stage needs no locks). The engine room defines only
this protocol; ``risk`` implements it, and the wiring (``ringmatch serve``)
passes an implementation to the core. With none, every order goes straight to
matching.

A stage is named by a spec, "module:factory" (a callable returning a stage), in
the core's configuration and in the journal (ringmatch.engine.schema.commands.StageChain).
``make_stage`` is the one place a spec becomes a stage; how a spec resolves to
a factory is its ``resolve`` argument (default: import the module), so that a
caller can supply its own table of stages instead of importing by name.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import Protocol

from ringmatch.engine.book.matching import MatchingEngine
from ringmatch.engine.schema.commands import Command, ControlCommand, NewOrder, Replace
from ringmatch.engine.schema.enums import RejectReason
from ringmatch.engine.schema.events import Event


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


StageFactory = Callable[[], PreTradeStage]
StageResolver = Callable[[str], StageFactory]


def import_factory(spec: str) -> StageFactory:
    """The default resolver: ``"module:factory"``, imported."""
    module_name, _, name = spec.partition(":")
    if not module_name or not name:
        raise ValueError(f"pre-trade stage {spec!r}: expected module:factory")
    factory: StageFactory = getattr(importlib.import_module(module_name), name)
    return factory


def make_stage(spec: str | None, resolve: StageResolver = import_factory) -> PreTradeStage | None:
    """A new stage for ``spec`` (None: no stage), its factory found by ``resolve``."""
    if spec is None:
        return None
    return resolve(spec)()
