"""What the console keeps from the feed and risk, and the part of it each account may see.

    view = ConsoleView({"AAPL": Decimal("0.01")}, levels=10)
    view.books = client.books            # the feed client's books (gateway/feed/client.py)
    view.on_feed(msg)                    # every feed message: counts, the trade tape
    view.on_risk(answer)                 # each answer of risk's "state" op
    view.latency = ProbeFiles(data_dir)  # the engine's latency, if the probe is on
    view.snapshot(viewer)                # plain data for the page (JSON)

Prices travel in ticks; here they become decimal text with the symbol's tick
size (``[[symbols]] tick_size``), as the risk process formats its own.
Throughput is counted per wall-clock second from the feed's messages (book
updates and trades): the events the core published, as any subscriber sees them.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from ringmatch.gateway.feed.client import SubscriberBook
from ringmatch.gateway.feed.protocol import Levels, Snapshot, Top, TradePrint
from ringmatch.gateway.web.latency import ProbeFiles
from ringmatch.gateway.web.logins import Viewer

TAPE = 50  # trades kept for the tape
SECONDS = 60  # seconds of throughput kept for the chart
GLOBAL_KILL = "*"  # risk's key for the global kill switch (risk/service.py GLOBAL)


def price_text(ticks: int | None, tick: Decimal, extra_places: int = 0) -> str | None:
    """``ticks`` times ``tick`` as fixed-point text with the tick's decimal places."""
    if ticks is None:
        return None
    places = max(0, -tick.as_tuple().exponent) + extra_places  # type: ignore[operator]
    return f"{(Decimal(ticks) * tick):.{places}f}"


def mid_text(bid: int, ask: int, tick: Decimal) -> str:
    """(bid + ask) / 2 in decimals: one more place than the tick's when it falls between."""
    places = max(0, -tick.as_tuple().exponent)  # type: ignore[operator]
    if (bid + ask) % 2:
        places += 1
    return f"{(Decimal(bid + ask) * tick / 2):.{places}f}"


class ConsoleView:
    def __init__(self, tick_sizes: Mapping[str, Decimal], levels: int = 10) -> None:
        self.tick_sizes = dict(tick_sizes)
        self.levels = levels
        self.books: Mapping[str, SubscriberBook] = {}
        self.trades: deque[dict[str, Any]] = deque(maxlen=TAPE)
        self.per_second: deque[list[int]] = deque(maxlen=SECONDS)  # [second, messages, trades]
        self.messages = 0
        self.trade_count = 0
        self.risk: dict[str, Any] | None = None
        self.risk_error: str | None = "no answer from risk yet"
        self.feed_connected = False
        self.latency: ProbeFiles | None = None  # the latency probe's files, if read

    def _bucket(self, now: float) -> list[int]:
        second = int(now)
        if not self.per_second or self.per_second[-1][0] != second:
            self.per_second.append([second, 0, 0])
        return self.per_second[-1]

    def on_feed(self, msg: object, now: float | None = None) -> None:
        if not isinstance(msg, Snapshot | Levels | Top | TradePrint):
            return
        bucket = self._bucket(time.time() if now is None else now)
        if type(msg) is Snapshot:
            return  # a book's state, not an event
        self.messages += 1
        bucket[1] += 1
        if type(msg) is TradePrint:
            self.trade_count += 1
            bucket[2] += 1
            tick = self.tick_sizes.get(msg.symbol, Decimal(1))
            self.trades.appendleft(
                {
                    "time": time.time() if now is None else now,
                    "symbol": msg.symbol,
                    "price": price_text(msg.price, tick),
                    "qty": msg.qty,
                    "side": msg.taker_side,
                    "trade_id": msg.trade_id,
                    "seq": msg.seq,
                }
            )

    def on_risk(self, answer: dict[str, Any] | None, error: str | None = None) -> None:
        if answer is not None and answer.get("ok"):
            self.risk, self.risk_error = answer, None
        else:
            self.risk_error = error or str((answer or {}).get("error", "no answer"))

    def ladder(self, symbol: str) -> dict[str, Any]:
        tick = self.tick_sizes.get(symbol, Decimal(1))
        book = self.books.get(symbol)
        if book is None or book.stale:
            return {"symbol": symbol, "tick_size": str(tick), "stale": True, "bids": [], "asks": []}
        bids, asks = book.depth()
        bid = bids[0][0] if bids else None
        ask = asks[0][0] if asks else None
        both = bid is not None and ask is not None
        return {
            "symbol": symbol,
            "tick_size": str(tick),
            "stale": False,
            "seq": book.seq,
            "bids": [{"price": price_text(p, tick), "qty": q} for p, q in bids],
            "asks": [{"price": price_text(p, tick), "qty": q} for p, q in asks],
            "best_bid": price_text(bid, tick),
            "best_ask": price_text(ask, tick),
            "spread": price_text(ask - bid, tick) if both else None,  # type: ignore[operator]
            "mid": mid_text(bid, ask, tick) if both else None,  # type: ignore[arg-type]
            "last": price_text(book.last_price, tick),
        }

    def throughput(self, now: float | None = None) -> list[dict[str, int]]:
        """The last SECONDS seconds, one point a second (0 where nothing came)."""
        end = int(time.time() if now is None else now)
        seen = {s: (m, t) for s, m, t in self.per_second}
        return [
            {"t": s, "events": seen.get(s, (0, 0))[0], "trades": seen.get(s, (0, 0))[1]}
            for s in range(end - SECONDS + 1, end + 1)
        ]

    def risk_for(self, viewer: Viewer) -> dict[str, Any]:
        """Risk's state cut to what ``viewer`` may see: its own account, or all for an admin."""
        if self.risk is None:
            return {"error": self.risk_error, "accounts": {}, "kill_switches": {}}
        accounts = {a: v for a, v in self.risk.get("accounts", {}).items() if viewer.may_see(a)}
        kills = {
            a: why
            for a, why in self.risk.get("kill_switches", {}).items()
            if a == GLOBAL_KILL or viewer.may_see(a)
        }
        return {
            "error": self.risk_error,
            "accounts": accounts,
            "kill_switches": kills,
            "last_prices": {
                s: price_text(p, self.tick_sizes.get(s, Decimal(1)))
                for s, p in self.risk.get("last_prices", {}).items()
            },
            "seq": self.risk.get("seq"),
        }

    def snapshot(self, viewer: Viewer) -> dict[str, Any]:
        return {
            "viewer": {"account": viewer.account, "admin": viewer.admin},
            "feed_connected": self.feed_connected,
            "books": [self.ladder(s) for s in self.tick_sizes],
            "trades": list(self.trades),
            "throughput": self.throughput(),
            "risk": self.risk_for(viewer),
            "latency": self.latency_view(),
        }

    def latency_view(self) -> dict[str, Any]:
        if self.latency is None:
            return {"summary": None, "points": []}
        return {"summary": self.latency.summary(), "points": list(self.latency.points)}
