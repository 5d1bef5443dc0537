"""Post-trade limits: a breach switches the account's kill switch on, through the core.

    monitor = RiskMonitor(config, send_control)   # send_control puts a KillSwitch
    monitor.on_events(events)                     # into the core's control ring

After every trade, checks each account whose P&L or position it may have moved
(the two parties, and every holder of the symbol, whose mark moved):

- ``kill_position``: ``|position|`` in one symbol above it;
- ``max_loss``: realised plus unrealised loss (marked at the last trade price),
  over all the account's symbols, above it.

A breach is logged with its numbers and sends ``KillSwitch(account, on=True,
cancel_orders=True, why=...)`` once; ``rearm(account)`` allows the next one
(after an operator has switched it off again).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np

from ringmatch.engine.records.layout import EVENT_DTYPE
from ringmatch.engine.records.names import Directory
from ringmatch.engine.schema.commands import KillSwitch
from ringmatch.engine.schema.events import AuctionTrade, Event, Trade, as_trade
from ringmatch.risk.limits import RiskConfig
from ringmatch.risk.positions import PositionBook, in_price, tick_places

log = logging.getLogger(__name__)


class RiskMonitor:
    def __init__(self, config: RiskConfig, send_control: Callable[[KillSwitch], None]) -> None:
        self.config = config
        self.book = PositionBook()
        self.tripped: dict[str, str] = {}  # account -> why its kill switch was sent
        self._send = send_control
        self._kill_limits: dict[tuple[str, str], int | None] = {}
        self._loss_limits: dict[str, int | None] = {}
        self._kill_limits_of = config  # the config _kill_limits were resolved from
        # on_records: a trade's maker record seen at the end of a batch, until its taker's
        self.held_maker = np.zeros(0, EVENT_DTYPE)

    def on_events(self, events: Sequence[Event]) -> None:
        for ev in events:
            if type(ev) is Trade:
                self._after_trade(ev)
            elif type(ev) is AuctionTrade:
                self._after_trade(as_trade(ev))

    def on_records(self, records: np.ndarray, directory: Directory) -> None:
        """``on_events`` on a batch of EVENT_DTYPE records, without a Trade per event.

        Same positions, P&L, last prices and trips (risk/trade_records.py); the
        batch's NAME events teach ``directory`` first.
        """
        from ringmatch.risk import trade_records  # it imports this module's type

        trade_records.on_records(self, records, directory)

    def kill_limit(self, account: str, symbol: str) -> int | None:
        """``kill_position`` for ``account`` in ``symbol``, resolved once per config."""
        self._limits_current()
        key = (account, symbol)
        if key not in self._kill_limits:
            self._kill_limits[key] = self.config.resolve(account, symbol).kill_position
        return self._kill_limits[key]

    def loss_limit(self, account: str) -> int | None:
        """``max_loss`` for ``account``, resolved once per config."""
        self._limits_current()
        if account not in self._loss_limits:
            self._loss_limits[account] = self.config.resolve(account).max_loss
        return self._loss_limits[account]

    def _limits_current(self) -> None:
        if self._kill_limits_of is not self.config:
            self._kill_limits.clear()
            self._loss_limits.clear()
            self._kill_limits_of = self.config

    def _after_trade(self, t: Trade) -> None:
        book = self.book
        parties = book.on_trade(t)
        accounts = set(parties)
        if self.config.max_loss is not None or any(
            o.max_loss is not None for o in self.config.accounts
        ):
            accounts.update(book.holders(t.symbol))
        for account in sorted(accounts):
            if account not in self.tripped:
                why = self._breach(account, t.symbol)
                if why is not None:
                    self._trip(account, why)

    def _breach(self, account: str, symbol: str) -> str | None:
        lim = self.config.resolve(account, symbol)
        pos = self.book.get(account, symbol)
        if lim.kill_position is not None and abs(pos.qty) > lim.kill_position:
            return f"position {pos.qty} in {symbol} beyond kill_position {lim.kill_position}"
        max_loss = self.config.resolve(account).max_loss
        if max_loss is not None:
            pnl = self.book.pnl(account)
            if -pnl > max_loss:
                return f"loss {float(-pnl):.2f} beyond max_loss {max_loss}"
        return None

    def _trip(self, account: str, why: str) -> None:
        self.tripped[account] = why
        log.warning("risk: kill switch on for account %s: %s", account, why)
        self._send(KillSwitch(account, on=True, cancel_orders=True, why=why))

    def rearm(self, account: str) -> None:
        self.tripped.pop(account, None)

    def set_config(self, config: RiskConfig) -> None:
        self.config = config

    def state(self, tick_sizes: Mapping[str, Decimal] | None = None) -> dict[str, Any]:
        """Positions, P&L and tripped accounts, as plain data (for the admin query).

        In ticks (``avg_price``, ``realised_pnl``, ``unrealised_pnl``, ``pnl``:
        floats) and, with each symbol's tick size applied (1 when it has none),
        as decimal strings: ``avg_cost`` (tick places + 2), ``mark_price`` (the
        last trade price, which marks the position) and ``realised``,
        ``unrealised``, ``total`` (tick places, at least 2); each account's
        ``totals`` sums those exactly, then rounds.
        """
        ticks = tick_sizes or {}
        accounts: dict[str, Any] = {}
        for account in sorted(self.book.positions):
            symbols = {}
            sums = {"realised": Fraction(0), "unrealised": Fraction(0)}
            for symbol, pos in sorted(self.book.positions[account].items()):
                avg = pos.avg_price
                mark = self.book.last[symbol]
                unrealised = pos.unrealised(mark)
                tick = ticks.get(symbol, ONE_TICK)
                places = tick_places(tick)
                money = max(2, places)
                realised_c = Fraction(pos.realised) * Fraction(tick)
                unrealised_c = unrealised * Fraction(tick)
                sums["realised"] += realised_c
                sums["unrealised"] += unrealised_c
                symbols[symbol] = {
                    "position": pos.qty,
                    "avg_price": None if avg is None else float(avg),
                    "realised_pnl": float(pos.realised),
                    "unrealised_pnl": float(unrealised),
                    "mark": mark,
                    "tick_size": str(tick),
                    "avg_cost": None if avg is None else _text(in_price(avg, tick, places + 2)),
                    "mark_price": _text(in_price(mark, tick, places)),
                    "realised": _text(in_price(pos.realised, tick, money)),
                    "unrealised": _text(in_price(unrealised, tick, money)),
                    "total": _text(in_price(pos.realised + unrealised, tick, money)),
                }
            places = max([2, *(max(2, tick_places(ticks.get(s, ONE_TICK))) for s in symbols)])
            r, u = sums["realised"], sums["unrealised"]
            accounts[account] = {
                "pnl": float(self.book.pnl(account)),
                "symbols": symbols,
                "totals": {
                    "realised": _text(in_price(r, ONE_TICK, places)),
                    "unrealised": _text(in_price(u, ONE_TICK, places)),
                    "total": _text(in_price(r + u, ONE_TICK, places)),
                },
                "tripped": self.tripped.get(account),
            }
        return {"accounts": accounts, "last_prices": dict(sorted(self.book.last.items()))}


ONE_TICK = Decimal(1)  # a symbol without a configured tick size: prices in ticks


def _text(value: Decimal) -> str:
    """A rounded decimal as fixed-point text (``0.00``, never ``0E-2`` or ``-0.00``)."""
    text = f"{value:f}"
    return text[1:] if text.startswith("-") and not value else text
