"""The console's Prometheus metrics (the official ``prometheus_client``), served at ``/metrics``.

    ringmatch_feed_events_total            feed messages seen (book updates and trades)
    ringmatch_trades_total{symbol}         trade prints seen
    ringmatch_traded_quantity_total{symbol}
    ringmatch_best_bid{symbol}, ringmatch_best_ask{symbol}   in decimal prices (NaN: none)
    ringmatch_last_trade_price{symbol}
    ringmatch_position{account,symbol}     from risk's state
    ringmatch_pnl{account,kind}            realised / unrealised, in the account's currency
    ringmatch_kill_switch{account}         1 while on ("*": the global one)
    ringmatch_risk_seq                     the last event risk counted
    ringmatch_engine_latency_seconds{quantile}   frame read to report written, every order
                                           the latency probe measured (RINGMATCH_LATENCY_PROBE=1)
    ringmatch_engine_latency_samples       how many orders that is
    ringmatch_feed_connected, ringmatch_web_sessions

A registry of its own (no process or platform collectors of this process, which
would say nothing about the server).
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from ringmatch.gateway.feed.protocol import Levels, Snapshot, Top, TradePrint

CONTENT_TYPE = CONTENT_TYPE_LATEST


class ConsoleMetrics:
    def __init__(self, tick_sizes: dict[str, Decimal]) -> None:
        self.tick_sizes = tick_sizes
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.events = Counter(
            "ringmatch_feed_events", "Market-data messages seen (book updates, trades)", registry=r
        )
        self.trades = Counter("ringmatch_trades", "Trade prints seen", ["symbol"], registry=r)
        self.traded_qty = Counter(
            "ringmatch_traded_quantity", "Quantity traded", ["symbol"], registry=r
        )
        self.best_bid = Gauge("ringmatch_best_bid", "Best bid price", ["symbol"], registry=r)
        self.best_ask = Gauge("ringmatch_best_ask", "Best ask price", ["symbol"], registry=r)
        self.last = Gauge("ringmatch_last_trade_price", "Last trade price", ["symbol"], registry=r)
        self.position = Gauge(
            "ringmatch_position", "Net position (risk)", ["account", "symbol"], registry=r
        )
        self.pnl = Gauge("ringmatch_pnl", "P&L at the mark (risk)", ["account", "kind"], registry=r)
        self.kill = Gauge("ringmatch_kill_switch", "Kill switch on", ["account"], registry=r)
        self.risk_seq = Gauge(
            "ringmatch_risk_seq", "Seq of the last event risk counted", registry=r
        )
        self.feed_connected = Gauge(
            "ringmatch_feed_connected", "1 while subscribed to the feed", registry=r
        )
        self.latency = Gauge(
            "ringmatch_engine_latency_seconds",
            "Frame read to first report written (the latency probe's histograms)",
            ["quantile"],
            registry=r,
        )
        self.latency_samples = Gauge(
            "ringmatch_engine_latency_samples", "Orders the latency probe measured", registry=r
        )
        self.sessions = Gauge("ringmatch_web_sessions", "Console sessions logged in", registry=r)
        for symbol in tick_sizes:  # every symbol's series exists from the start
            self.trades.labels(symbol)
            self.traded_qty.labels(symbol)
            for gauge in (self.best_bid, self.best_ask, self.last):
                gauge.labels(symbol).set(math.nan)

    def _price(self, symbol: str, ticks: int | None) -> float:
        if ticks is None:
            return math.nan
        return float(Decimal(ticks) * self.tick_sizes.get(symbol, Decimal(1)))

    def on_feed(self, msg: object) -> None:
        if type(msg) is TradePrint:
            self.events.inc()
            self.trades.labels(msg.symbol).inc()
            self.traded_qty.labels(msg.symbol).inc(msg.qty)
            self.last.labels(msg.symbol).set(self._price(msg.symbol, msg.price))
        elif type(msg) is Top:
            self.events.inc()
            self.best_bid.labels(msg.symbol).set(self._price(msg.symbol, msg.bid_price))
            self.best_ask.labels(msg.symbol).set(self._price(msg.symbol, msg.ask_price))
        elif type(msg) is Levels:
            self.events.inc()
        elif type(msg) is Snapshot:
            bid = msg.bids[0][0] if msg.bids else None
            ask = msg.asks[0][0] if msg.asks else None
            self.best_bid.labels(msg.symbol).set(self._price(msg.symbol, bid))
            self.best_ask.labels(msg.symbol).set(self._price(msg.symbol, ask))
            if msg.last_price is not None:
                self.last.labels(msg.symbol).set(self._price(msg.symbol, msg.last_price))

    def on_risk(self, answer: dict[str, Any]) -> None:
        self.risk_seq.set(answer.get("seq") or 0)
        for account, entry in answer.get("accounts", {}).items():
            for symbol, pos in entry.get("symbols", {}).items():
                self.position.labels(account, symbol).set(pos.get("position", 0))
            totals = entry.get("totals", {})
            for kind in ("realised", "unrealised"):
                if kind in totals:
                    self.pnl.labels(account, kind).set(float(totals[kind]))
        self.kill.clear()
        for account in answer.get("kill_switches", {}):
            self.kill.labels(account).set(1)

    def on_latency(self, summary: dict[str, Any] | None) -> None:
        if summary is None:
            return
        self.latency_samples.set(summary["count"])
        for key, quantile in (("p50_us", "0.5"), ("p99_us", "0.99"), ("p99.9_us", "0.999")):
            self.latency.labels(quantile).set(summary[key] / 1e6)

    def render(self) -> bytes:
        return generate_latest(self.registry)
