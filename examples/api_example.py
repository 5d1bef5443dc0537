"""The Python API in one page: the README includes this file verbatim, and
tests/test_docs.py runs it and checks what it prints."""

from ringmatch import (
    Cancel,
    Cancelled,
    MatchingEngine,
    NewOrder,
    OrderType,
    Side,
    StpMode,
    TimeInForce,
    Trade,
)

eng = MatchingEngine()
LIMIT, MARKET = OrderType.LIMIT, OrderType.MARKET

# Two sellers rest; prices are integer ticks, quantities integer lots.
eng.process(NewOrder(1, "alice", "ACME", Side.SELL, LIMIT, 10100, 50))
eng.process(NewOrder(2, "bob", "ACME", Side.SELL, LIMIT, 10105, 30))

# A buyer sweeps both levels; every trade prints at the resting order's price.
for event in eng.process(NewOrder(3, "carol", "ACME", Side.BUY, LIMIT, 10105, 60)):
    if isinstance(event, Trade):
        print(
            f"trade {event.trade_id}: {event.qty} @ {event.price} from order {event.maker_order_id}"
        )

# Self-trade prevention: bob's market buy meets his own ask and cancels it instead.
events = eng.process(
    NewOrder(4, "bob", "ACME", Side.BUY, MARKET, None, 5, TimeInForce.IOC, stp=StpMode.CANCEL_MAKER)
)
print([(type(e).__name__, e.order_id, e.reason.value) for e in events if isinstance(e, Cancelled)])

# Views: top of book, aggregated depth, every order in priority order.
eng.process(NewOrder(5, "alice", "ACME", Side.BUY, LIMIT, 10090, 10))
print(eng.bbo("ACME"))
print(eng.depth("ACME", 5))
print(eng.process(Cancel(5, "bob")))  # only the owner may cancel
