"""The venue's order types in one page: docs/ORDER_TYPES.md includes this file
verbatim, and tests/test_venue_docs.py runs it and checks what it prints.

Only the pure engine takes these order types today (docs/ORDER_TYPES.md, "Where
they work today"): this drives MatchingEngine directly."""

from ringmatch.engine.book.matching import MatchingEngine
from ringmatch.engine.schema.commands import Clock, NewOrder, SetPhase
from ringmatch.engine.schema.enums import OrderType, Side, TimeInForce, TradingPhase
from ringmatch.engine.schema.events import Event, event_to_dict

LIMIT, MARKET = OrderType.LIMIT, OrderType.MARKET
STOP, STOP_LIMIT = OrderType.STOP, OrderType.STOP_LIMIT
BUY, SELL = Side.BUY, Side.SELL

SHOW = {
    "accepted": "Accepted     #{order_id} {account} {side} {order_type} {tif} {qty} @ {price}",
    "rejected": "Rejected     #{order_id} {account} {command}: {reason}",
    "trade": "Trade        {qty} @ {price}: #{taker_order_id} takes from #{maker_order_id}"
    " (maker leaves {maker_leaves}, taker leaves {taker_leaves})",
    "triggered": "Triggered    #{order_id} at trigger {trigger_price}: now {order_type} {tif}"
    " {qty} @ {price}",
    "refreshed": "Refreshed    #{order_id} shows {shown} of {leaves} @ {price}, at the back",
    "cancelled": "Cancelled    #{order_id} {qty}: {reason}",
    "phase_changed": "PhaseChanged {symbol} {previous} -> {phase}",
    "indicative": "Indicative   {symbol} price {price} volume {volume}"
    " imbalance {imbalance_qty} {imbalance_side}",
    "auction_trade": "AuctionTrade {qty} @ {price}: buy #{buy_order_id} (leaves {buy_leaves}),"
    " sell #{sell_order_id} (leaves {sell_leaves})",
}


def show(events: list[Event]) -> None:
    """One event a line: its seq, then its kind and what it says."""
    for event in events:
        fields = event_to_dict(event)
        line = SHOW[fields["type"]].format(**fields)
        for name in ("trigger_price", "display_qty", "expire_ts"):  # only when set
            if name in fields and fields["type"] == "accepted":
                line += f", {name} {fields[name]}"
        print(f"  seq {fields['seq']:>2}  {line}")


eng = MatchingEngine(reference_prices={"BETA": 5000})

print("1. Stops cascade: one trade releases a stop whose trade releases the next")
eng.process(NewOrder(1, "alice", "ACME", SELL, LIMIT, 10000, 10))
eng.process(NewOrder(2, "alice", "ACME", SELL, LIMIT, 10010, 10))
eng.process(NewOrder(3, "alice", "ACME", SELL, LIMIT, 10020, 10))
show(eng.process(NewOrder(4, "bob", "ACME", BUY, STOP, None, 10, trigger_price=10000)))
show(eng.process(NewOrder(5, "carol", "ACME", BUY, STOP_LIMIT, 10020, 10, trigger_price=10010)))
print("  held:", [(h.order_id, h.order_type.value, h.trigger_price) for h in eng.held("ACME")])
show(eng.process(NewOrder(6, "dave", "ACME", BUY, LIMIT, 10000, 10)))
print("  a stop already through the last trade (10020) is refused, not triggered:")
show(eng.process(NewOrder(7, "erin", "ACME", BUY, STOP, None, 5, trigger_price=10015)))

print("2. An iceberg shows 10 of 30 and refreshes at the back of its level")
show(eng.process(NewOrder(8, "alice", "ACME", SELL, LIMIT, 10030, 30, display_qty=10)))
eng.process(NewOrder(9, "frank", "ACME", SELL, LIMIT, 10030, 5))
print("  book:", [(o.order_id, o.qty, o.hidden) for o in eng.l3("ACME")], "(id, shown, hidden)")
show(eng.process(NewOrder(10, "bob", "ACME", BUY, LIMIT, 10030, 25)))
print("  book:", [(o.order_id, o.qty, o.hidden) for o in eng.l3("ACME")])

print("3. An opening auction: orders collect, the indicative moves, the uncross trades")
show(eng.process(SetPhase("BETA", TradingPhase.PRE_OPEN)))
show(eng.process(NewOrder(11, "alice", "BETA", SELL, LIMIT, 5000, 20)))
show(eng.process(NewOrder(12, "bob", "BETA", BUY, LIMIT, 5010, 15)))
show(eng.process(NewOrder(13, "carol", "BETA", BUY, MARKET, None, 10)))
print("  indicative view:", eng.indicative("BETA"))
show(eng.process(NewOrder(14, "dave", "BETA", BUY, LIMIT, 5010, 1, TimeInForce.IOC)))
show(eng.process(SetPhase("BETA", TradingPhase.OPENING_AUCTION)))
show(eng.process(SetPhase("BETA", TradingPhase.CONTINUOUS)))
print("  phase:", eng.phase("BETA").value, "book:", [(o.order_id, o.qty) for o in eng.l3("BETA")])

print("4. A GTD order expires when a Clock input brings time to its expire_ts")
T = 1_700_000_000_000_000_000  # nanoseconds
GTD = TimeInForce.GTD
show(
    eng.process(
        NewOrder(
            15, "alice", "ACME", SELL, LIMIT, 10050, 5, GTD, ts_ns=T, expire_ts=T + 60_000_000_000
        )
    )
)
show(eng.process(Clock(T + 30_000_000_000)))  # nothing due yet: no event
show(eng.process(Clock(T + 60_000_000_000)))
print("  now:", eng.now, "book:", [o.order_id for o in eng.l3("ACME")])

print("5. The close: a closing uncross, DAY orders expire, a stop it triggers meets CLOSED")
DAY = TimeInForce.DAY
show(eng.process(NewOrder(16, "alice", "BETA", SELL, LIMIT, 5020, 5, DAY)))
show(eng.process(NewOrder(17, "bob", "BETA", BUY, STOP, None, 5, DAY, trigger_price=5010)))
show(eng.process(SetPhase("BETA", TradingPhase.CLOSING_AUCTION)))
show(eng.process(NewOrder(18, "carol", "BETA", SELL, LIMIT, 5010, 5)))
show(eng.process(SetPhase("BETA", TradingPhase.CLOSED)))
show(eng.process(NewOrder(19, "dave", "BETA", BUY, LIMIT, 5010, 1)))
print("  phase:", eng.phase("BETA").value, "held:", eng.held("BETA"), "book:", eng.l3("BETA"))
