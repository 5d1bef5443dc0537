"""A pre-trade stage for the halt and stage-chain tests (``CoreConfig.pretrade``).

``tests.engine.marker_stage:MarkerStage``: rejects an order of more than 10
lots (RISK_MAX_QTY), so a test can see whether the stage ran, and raises on an
order of the account ``POISON``, as a bug in a stage (or in matching) would:
the input the core cannot apply.
"""

from __future__ import annotations

from collections.abc import Sequence

from ringmatch.engine.book.matching import MatchingEngine
from ringmatch.engine.schema.commands import Command, ControlCommand, NewOrder, Replace
from ringmatch.engine.schema.enums import RejectReason
from ringmatch.engine.schema.events import Event

POISON = "poison"
SPEC = "tests.engine.marker_stage:MarkerStage"


class MarkerStage:
    def check(self, cmd: NewOrder | Replace, engine: MatchingEngine) -> RejectReason | None:
        if cmd.account == POISON:
            raise RuntimeError(f"test: a stage that cannot handle order {cmd.client_order_id}")
        return RejectReason.RISK_MAX_QTY if cmd.qty > 10 else None

    def on_events(self, events: Sequence[Event]) -> None:
        pass

    def control(self, cmd: ControlCommand, engine: MatchingEngine) -> list[Command]:
        return []
