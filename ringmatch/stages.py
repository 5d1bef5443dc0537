"""The pre-trade stages the wiring plugs into the core, by the name the journal keeps.

The engine names no stage and imports none (engine.core.pretrade_hook): the
configuration and the journal (StageChain) carry a stage's name, and every
reader of a journal (the core's recovery, ``replay --format journal``, the
rebuilds of risk, the feed and the workers) is handed ``resolve`` by the wiring.

* ``"risk"``: risk's limits and kill switches (ringmatch.risk.pretrade), what
  ``serve`` runs;
* ``"module:factory"``: any other stage, imported by name (a plugin of one's
  own; the tests' marker stage). Journals written before stages had names carry
  ``"risk.pretrade:PreTradeRisk"`` or ``"ringmatch.risk.pretrade:PreTradeRisk"``,
  which resolve the same way.
"""

from __future__ import annotations

import importlib

from ringmatch.engine.core.pretrade_hook import StageFactory, UnknownStage
from ringmatch.risk.pretrade import PreTradeRisk

RISK = "risk"
STAGES: dict[str, StageFactory] = {RISK: PreTradeRisk}
_OLD_NAMES = {"risk.pretrade:PreTradeRisk": RISK}


def resolve(spec: str) -> StageFactory:
    """The factory of the stage named ``spec``; UnknownStage naming it if there is none."""
    known = STAGES.get(_OLD_NAMES.get(spec, spec))
    if known is not None:
        return known
    module_name, _, name = spec.partition(":")
    if not module_name or not name:
        raise UnknownStage(
            f"pre-trade stage {spec!r}: not one of {sorted(STAGES)}, nor module:factory"
        )
    try:
        factory: StageFactory = getattr(importlib.import_module(module_name), name)
    except (ImportError, AttributeError) as exc:
        raise UnknownStage(f"pre-trade stage {spec!r}: {exc}") from None
    return factory
