"""The seam between the core and its pre-trade stage (implemented in risk/).

The core calls the stage right before matching, on the core's own thread (it is
the single writer, so the stage needs no locks). The engine room defines only
this protocol; ``risk`` implements it, and the wiring (``ringmatch serve``)
passes an implementation to the core. With none, every order goes straight to
matching.

A stage is named by a spec (``"risk"``) in the core's configuration and in the
journal (ringmatch.engine.schema.commands.StageChain). ``make_stage`` is the one
place a spec becomes a stage, through a resolver its caller passes in: the
engine imports no stage and names none, so whatever reads a journal that names
one is handed the resolver by the wiring (ringmatch.stages). Without one,
``no_stages`` knows none and says so.
"""

from __future__ import annotations

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


class UnknownStage(LookupError):
    """A pre-trade stage is named that the caller's resolver does not know."""


def no_stages(spec: str) -> StageFactory:
    """The resolver of a caller that was given none: it knows no stage."""
    raise UnknownStage(
        f"pre-trade stage {spec!r} is named (by the configuration or the journal), but no "
        "resolver for it was plugged in: run through ringmatch, whose wiring knows the "
        "stages (ringmatch.stages), or pass resolve="
    )


def make_stage(spec: str | None, resolve: StageResolver = no_stages) -> PreTradeStage | None:
    """A new stage for ``spec`` (None: no stage), its factory found by ``resolve``."""
    if spec is None:
        return None
    return resolve(spec)()
