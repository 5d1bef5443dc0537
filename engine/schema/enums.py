"""The closed vocabularies of the schema: sides, order types, reasons.

Every enum is str-valued so that JSON output (events, journals, reports) is
readable, and compared by identity on the hot path (``side is BUY``).
"""

from __future__ import annotations

import enum


class Side(enum.Enum):
    BUY = "BUY"
    SELL = "SELL"


class OrderType(enum.Enum):
    LIMIT = "LIMIT"
    MARKET = "MARKET"
    STOP = "STOP"  # held until a trade at or through trigger_price, then MARKET IOC
    STOP_LIMIT = "STOP_LIMIT"  # held likewise, then a LIMIT with its price and tif


class TimeInForce(enum.Enum):
    GTC = "GTC"
    IOC = "IOC"
    FOK = "FOK"
    DAY = "DAY"  # expires when its symbol enters CLOSED (VENUE_RULES.md V-EXP-2)
    GTD = "GTD"  # expires at its expire_ts (V-EXP-1, V-TIME-3)


class TradingPhase(enum.Enum):
    """A symbol's trading session state (VENUE_RULES.md V-SES-1)."""

    PRE_OPEN = "PRE_OPEN"
    OPENING_AUCTION = "OPENING_AUCTION"
    CONTINUOUS = "CONTINUOUS"
    CLOSING_AUCTION = "CLOSING_AUCTION"
    CLOSED = "CLOSED"
    HALTED = "HALTED"


class StpMode(enum.Enum):
    """Self-trade prevention: what an incoming order does on meeting its own account."""

    NONE = "NONE"
    CANCEL_TAKER = "CANCEL_TAKER"
    CANCEL_MAKER = "CANCEL_MAKER"
    CANCEL_BOTH = "CANCEL_BOTH"
    DECREMENT = "DECREMENT"


class CommandKind(enum.Enum):
    NEW = "NEW"
    CANCEL = "CANCEL"
    REPLACE = "REPLACE"
    MASS_CANCEL = "MASS_CANCEL"
    SET_PHASE = "SET_PHASE"


class RejectReason(enum.Enum):
    """Why a command changed nothing. Checked in the order documented in docs/EVENTS.md."""

    INVALID_ORDER_ID = "INVALID_ORDER_ID"
    DUPLICATE_ORDER_ID = "DUPLICATE_ORDER_ID"
    INVALID_SYMBOL = "INVALID_SYMBOL"
    INVALID_QUANTITY = "INVALID_QUANTITY"
    INVALID_PRICE = "INVALID_PRICE"
    MARKET_WITH_PRICE = "MARKET_WITH_PRICE"
    MARKET_NOT_IOC = "MARKET_NOT_IOC"
    POST_ONLY_NOT_GTC_LIMIT = "POST_ONLY_NOT_GTC_LIMIT"
    UNKNOWN_ORDER = "UNKNOWN_ORDER"
    ORDER_NOT_RESTING = "ORDER_NOT_RESTING"
    NOT_YOUR_ORDER = "NOT_YOUR_ORDER"
    POST_ONLY_WOULD_CROSS = "POST_ONLY_WOULD_CROSS"
    # Outside the matching rules: the core's and the gateway's own stages.
    DUPLICATE_CLIENT_ORDER_ID = "DUPLICATE_CLIENT_ORDER_ID"
    UNKNOWN_CLIENT_ORDER_ID = "UNKNOWN_CLIENT_ORDER_ID"
    UNKNOWN_SYMBOL = "UNKNOWN_SYMBOL"
    SEQUENCE_UNAVAILABLE = "SEQUENCE_UNAVAILABLE"
    THROTTLED = "THROTTLED"
    # Pre-trade risk (risk/).
    KILL_SWITCH = "KILL_SWITCH"
    RISK_MAX_QTY = "RISK_MAX_QTY"
    RISK_MAX_NOTIONAL = "RISK_MAX_NOTIONAL"
    RISK_PRICE_BAND = "RISK_PRICE_BAND"
    RISK_MAX_OPEN_ORDERS = "RISK_MAX_OPEN_ORDERS"
    RISK_MAX_POSITION = "RISK_MAX_POSITION"
    # A record's own fields (ringmatch.engine.records): an id the core never defined, or
    # a field that holds no valid code. Such a record changes nothing.
    UNKNOWN_ACCOUNT = "UNKNOWN_ACCOUNT"
    INVALID_FIELD = "INVALID_FIELD"
    # The venue's order types and sessions (VENUE_RULES.md; docs/EVENTS.md has the order).
    # Appended last, so that every code an older journal or client holds keeps its meaning.
    INVALID_TRIGGER_PRICE = "INVALID_TRIGGER_PRICE"
    STOP_NOT_HELD_TIF = "STOP_NOT_HELD_TIF"
    STOP_WOULD_TRIGGER = "STOP_WOULD_TRIGGER"
    BAD_DISPLAY_QTY = "BAD_DISPLAY_QTY"
    INVALID_EXPIRE_TS = "INVALID_EXPIRE_TS"
    EXPIRE_TS_PASSED = "EXPIRE_TS_PASSED"
    NOT_IN_CALL_PHASE = "NOT_IN_CALL_PHASE"
    MARKET_CLOSED = "MARKET_CLOSED"
    MARKET_NOT_REPLACEABLE = "MARKET_NOT_REPLACEABLE"
    UNKNOWN_PHASE = "UNKNOWN_PHASE"


class CancelReason(enum.Enum):
    """Why quantity left the book (or an incoming order) without trading."""

    USER = "USER"
    IOC_REMAINDER = "IOC_REMAINDER"
    MARKET_REMAINDER = "MARKET_REMAINDER"
    STP = "STP"
    KILLED_FOK = "KILLED_FOK"
    POST_ONLY = "POST_ONLY"
    MASS_CANCEL = "MASS_CANCEL"
    DISCONNECT = "DISCONNECT"
    KILL_SWITCH = "KILL_SWITCH"
    EXPIRED = "EXPIRED"  # GTD at its expire_ts, DAY when the symbol closes
    AUCTION_UNFILLED = "AUCTION_UNFILLED"  # a market order the uncross left
    MARKET_CLOSED = "MARKET_CLOSED"  # a stop released into a CLOSED symbol
