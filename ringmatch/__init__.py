"""ringmatch: an order-matching engine for electronic trading.

The matching engine's public API, by the names a user imports::

    from ringmatch import MatchingEngine, NewOrder, Side, OrderType

Everything else lives in the rooms below, by role (README.md, "Layout"):
``ringmatch.engine`` (book and matching, schema, rings, journal, core, replay),
``ringmatch.gateway`` (order entry, the client, market data), ``ringmatch.risk``
and ``ringmatch.benchmarks``. This package's own modules are the wiring: the
command line, ``serve``'s supervisor and children, the system configuration and
the pre-trade stages it plugs into the core.
"""

from ringmatch.engine import __version__
from ringmatch.engine.book.matching import MatchingEngine
from ringmatch.engine.schema.commands import Cancel, Command, MassCancel, NewOrder, Replace
from ringmatch.engine.schema.enums import (
    CancelReason,
    CommandKind,
    OrderType,
    RejectReason,
    Side,
    StpMode,
    TimeInForce,
)
from ringmatch.engine.schema.events import (
    Accepted,
    Cancelled,
    Event,
    MassCancelled,
    Reduced,
    Rejected,
    Replaced,
    Trade,
)
from ringmatch.engine.schema.views import BBO, BookOrder, Depth

__all__ = [
    "BBO",
    "Accepted",
    "BookOrder",
    "Cancel",
    "CancelReason",
    "Cancelled",
    "Command",
    "CommandKind",
    "Depth",
    "Event",
    "MassCancel",
    "MassCancelled",
    "MatchingEngine",
    "NewOrder",
    "OrderType",
    "Reduced",
    "RejectReason",
    "Rejected",
    "Replace",
    "Replaced",
    "Side",
    "StpMode",
    "TimeInForce",
    "Trade",
    "__version__",
]
