"""The pre-trade risk stage: the core calls ``check`` right before matching.

Checks, in this order; the first that fails is the reject reason:

1. kill switch (global, or the account's)             -> KILL_SWITCH
2. order quantity above ``max_order_qty``             -> RISK_MAX_QTY
3. price x qty above ``max_notional``                 -> RISK_MAX_NOTIONAL
4. limit price outside the band around the reference  -> RISK_PRICE_BAND
5. a resting-capable order past ``max_open_orders``   -> RISK_MAX_OPEN_ORDERS
   (a LIMIT GTC, DAY or GTD, and any STOP or STOP_LIMIT: a held stop is open)
6. worst-case position above ``max_position``         -> RISK_MAX_POSITION

The reference price of a symbol is its last trade, else the mid of its best bid
and offer, else there is none and the band is not checked. A market order has no
price: its notional is taken at the reference price (unchecked without one). A
STOP_LIMIT is checked at its limit price. A STOP has no price either: its
notional is taken at the far edge of the price band from the reference (the
worst it may fill at), else at the reference, else at its trigger price; a stop
is checked whether or not its trigger is near. An auction's trades count as any.
The worst-case position counts every resting buy (or sell) as if it filled:
``position + open buys + this buy`` (or ``open sells + this sell - position``).

A Replace is checked with its new price and quantity: the band only if the price
moves, the position only if the quantity grows, never the open-order count. While
a kill switch is on, new orders *and* replaces are rejected; cancels (and the
kill switch's own mass cancel) go through.

The stage's state (live orders, positions, last prices, kill switches, limits)
changes only in ``on_events`` and ``control``, both fed from the journalled
stream, so replay rebuilds the same decisions. No clock, no I/O.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import msgspec

from ringmatch.engine.book.matching import MatchingEngine
from ringmatch.engine.schema.commands import (
    Command,
    ControlCommand,
    KillSwitch,
    MassCancel,
    NewOrder,
    Replace,
    SetRiskLimits,
)
from ringmatch.engine.schema.enums import CancelReason, OrderType, RejectReason, Side, TimeInForce
from ringmatch.engine.schema.events import (
    Accepted,
    AuctionTrade,
    Cancelled,
    Event,
    Reduced,
    Replaced,
    Trade,
)
from ringmatch.risk import kernel_limits, limits
from ringmatch.risk.limits import LimitSet, RiskConfig

log = logging.getLogger(__name__)


class _State(msgspec.Struct, array_like=True):
    """The stage's state in a snapshot: enough to rebuild every derived count."""

    config: bytes
    global_kill: bool
    killed: list[str]
    last: dict[str, int]
    orders: list[tuple[int, str, str, bool, int | None, int]]
    positions: list[tuple[str, str, int]]


R = RejectReason
BUY = Side.BUY
LIMIT = OrderType.LIMIT
STOP = OrderType.STOP
STOP_LIMIT = OrderType.STOP_LIMIT
GTC = TimeInForce.GTC
RESTING_TIFS = frozenset({None, GTC, TimeInForce.DAY, TimeInForce.GTD})
NO_LIMITS = LimitSet()


class Exposure:
    """One account in one symbol: filled position and resting quantity per side."""

    __slots__ = ("open_buy", "open_sell", "position")

    def __init__(self) -> None:
        self.position = 0  # bought minus sold
        self.open_buy = 0
        self.open_sell = 0


class AccountState:
    __slots__ = ("exposures", "open_orders")

    def __init__(self) -> None:
        self.open_orders = 0
        self.exposures: dict[str, Exposure] = {}


class LiveOrder:
    """An accepted order that still has quantity (resting, or incoming mid-command)."""

    __slots__ = ("account", "buy", "exposure", "price", "qty", "state", "symbol")

    def __init__(
        self,
        account: str,
        symbol: str,
        state: AccountState,
        exposure: Exposure,
        buy: bool,
        price: int | None,
        qty: int,
    ) -> None:
        self.account = account
        self.symbol = symbol
        self.state = state
        self.exposure = exposure
        self.buy = buy
        self.price = price
        self.qty = qty


class PreTradeRisk:
    """A PreTradeStage (engine.core.pretrade_hook): limits, kill switches, open orders, exposure."""

    __slots__ = ("_accounts", "_cache", "_global_kill", "_killed", "_last", "_orders", "config")

    # The compiled kernel runs this stage itself (engine/kernel/risk_checks.hpp, held
    # to this class by tests/kernel/test_risk_differential.py), given its limits as a
    # table: how it gets them (engine.core.staged_kernel). A subclass is not it.
    compiled_limits = staticmethod(kernel_limits.compiled_limits)

    def __init__(self, config: RiskConfig | None = None) -> None:
        self.config = config if config is not None else RiskConfig()
        self._cache: dict[tuple[str, str], LimitSet] = {}
        self._accounts: dict[str, AccountState] = {}
        self._orders: dict[int, LiveOrder] = {}
        self._last: dict[str, int] = {}
        self._killed: set[str] = set()
        self._global_kill = False

    # -- the check ---------------------------------------------------------------

    def _limits(self, account: str, symbol: str) -> LimitSet:
        lim = self.config.resolve(account, symbol)
        if lim == NO_LIMITS:
            lim = NO_LIMITS  # one object, so that ``check`` can skip by identity
        self._cache[account, symbol] = lim
        return lim

    def check(self, cmd: NewOrder | Replace, engine: MatchingEngine) -> RejectReason | None:
        account = cmd.account
        if self._global_kill or account in self._killed:
            return R.KILL_SWITCH
        if type(cmd) is NewOrder:
            symbol = cmd.symbol
            buy = cmd.side is BUY
            price = cmd.price
            qty = cmd.qty
            grows = qty
            # Only an order that can rest (or be held) counts towards the open-order limit.
            otype = cmd.order_type
            rests = (
                (otype is LIMIT and cmd.tif in RESTING_TIFS)
                or otype is STOP
                or (otype is STOP_LIMIT)
            )
            moved = True
            stop_market = otype is STOP
        else:
            live = self._orders.get(cmd.order_id)
            if live is None or live.account != account:
                return None  # matching rejects it (unknown, not resting, not yours)
            symbol = live.symbol
            buy = live.buy
            price = cmd.price
            qty = cmd.qty
            grows = qty - live.qty
            rests = False
            moved = price is not None and price != live.price
            stop_market = price is None  # only a held STOP is replaced without a price
        if qty <= 0 or (price is not None and price <= 0):
            return None  # invalid: matching rejects it with the precise reason
        lim = self._cache.get((account, symbol))
        if lim is None:
            lim = self._limits(account, symbol)
        if lim is NO_LIMITS:
            return None
        cap = lim.max_order_qty
        if cap is not None and qty > cap:
            return R.RISK_MAX_QTY
        # The reference price, doubled so that a half-tick mid stays an integer;
        # looked up only when a limit needs it (the mid costs a BBO).
        band = lim.price_band_ticks is not None or lim.price_band_bps is not None
        cap = lim.max_notional
        ref2 = (
            self._ref2(symbol, engine)
            if (band and moved) or (cap is not None and price is None)
            else None
        )
        if cap is not None:
            if price is not None:
                if price * qty > cap:
                    return R.RISK_MAX_NOTIONAL
            elif stop_market:
                worst2 = self._stop_price2(cmd, buy, lim, ref2)
                if worst2 is not None and worst2 * qty > 2 * cap:
                    return R.RISK_MAX_NOTIONAL
            elif ref2 is not None and ref2 * qty > 2 * cap:
                return R.RISK_MAX_NOTIONAL
        if price is not None and ref2 is not None and moved:
            dev2 = abs(2 * price - ref2)
            cap = lim.price_band_ticks
            if cap is not None and dev2 > 2 * cap:
                return R.RISK_PRICE_BAND
            cap = lim.price_band_bps
            if cap is not None and dev2 * 10_000 > cap * ref2:
                return R.RISK_PRICE_BAND
        state = self._accounts.get(account)
        if rests:
            cap = lim.max_open_orders  # per account: overrides with a symbol cannot set it
            if cap is not None and (0 if state is None else state.open_orders) + 1 > cap:
                return R.RISK_MAX_OPEN_ORDERS
        cap = lim.max_position
        if cap is not None and grows > 0:
            exp = None if state is None else state.exposures.get(symbol)
            if exp is None:
                worst = grows
            elif buy:
                worst = exp.position + exp.open_buy + grows
            else:
                worst = exp.open_sell + grows - exp.position
            if worst > cap:
                return R.RISK_MAX_POSITION
        return None

    @staticmethod
    def _stop_price2(
        cmd: NewOrder | Replace, buy: bool, lim: LimitSet, ref2: int | None
    ) -> int | None:
        """Twice the worst price a STOP may fill at: the band's far edge from the
        reference, else the reference, else its trigger (None if it has none)."""
        if ref2 is not None:
            edges = []
            if lim.price_band_ticks is not None:
                edges.append(2 * lim.price_band_ticks)
            if lim.price_band_bps is not None:
                edges.append(ref2 * lim.price_band_bps // 10_000)
            reach = min(edges) if edges else 0
            return ref2 + reach if buy else max(ref2 - reach, 0)
        trigger = cmd.trigger_price
        return None if trigger is None else 2 * trigger

    def _ref2(self, symbol: str, engine: MatchingEngine) -> int | None:
        last = self._last.get(symbol)
        if last is not None:
            return 2 * last
        bbo = engine.bbo(symbol)
        if bbo.bid_price is None or bbo.ask_price is None:
            return None
        return bbo.bid_price + bbo.ask_price

    # -- state from the event stream ----------------------------------------------

    def on_events(self, events: Sequence[Event]) -> None:
        orders = self._orders
        for ev in events:
            # Most frequent first; ``type(ev) is`` narrows the union for mypy.
            if type(ev) is Trade:
                self._last[ev.symbol] = ev.price
                self._fill(ev.maker_order_id, ev.qty, ev.maker_leaves)
                self._fill(ev.taker_order_id, ev.qty, ev.taker_leaves)
            elif type(ev) is AuctionTrade:
                self._last[ev.symbol] = ev.price
                self._fill(ev.buy_order_id, ev.qty, ev.buy_leaves)
                self._fill(ev.sell_order_id, ev.qty, ev.sell_leaves)
            elif type(ev) is Accepted:
                self._accept(ev)
            elif type(ev) is Cancelled:
                live = orders.pop(ev.order_id, None)
                if live is not None:
                    self._unopen(live, live.qty)
                    live.state.open_orders -= 1
            elif type(ev) is Reduced:
                live = orders.get(ev.order_id)
                if live is not None:
                    self._unopen(live, live.qty - ev.leaves)
                    live.qty = ev.leaves
            elif type(ev) is Replaced:
                live = orders.get(ev.order_id)
                if live is not None:
                    self._unopen(live, live.qty - ev.qty)
                    live.qty = ev.qty
                    live.price = ev.price

    def _accept(self, ev: Accepted) -> None:
        state = self._accounts.get(ev.account)
        if state is None:
            state = self._accounts[ev.account] = AccountState()
        exp = state.exposures.get(ev.symbol)
        if exp is None:
            exp = state.exposures[ev.symbol] = Exposure()
        buy = ev.side is BUY
        if buy:
            exp.open_buy += ev.qty
        else:
            exp.open_sell += ev.qty
        state.open_orders += 1
        self._orders[ev.order_id] = LiveOrder(
            ev.account, ev.symbol, state, exp, buy, ev.price, ev.qty
        )

    @staticmethod
    def _unopen(live: LiveOrder, qty: int) -> None:
        if live.buy:
            live.exposure.open_buy -= qty
        else:
            live.exposure.open_sell -= qty

    def _fill(self, order_id: int, qty: int, leaves: int) -> None:
        live = self._orders.get(order_id)
        if live is None:
            return
        exp = live.exposure
        if live.buy:
            exp.open_buy -= qty
            exp.position += qty
        else:
            exp.open_sell -= qty
            exp.position -= qty
        live.qty = leaves
        if leaves == 0:
            del self._orders[order_id]
            live.state.open_orders -= 1

    # -- control inputs -------------------------------------------------------------

    def control(self, cmd: ControlCommand, engine: MatchingEngine) -> list[Command]:
        if type(cmd) is KillSwitch:
            return self._kill_switch(cmd)
        if type(cmd) is SetRiskLimits:
            try:
                config = limits.decode(cmd.payload)
            except limits.RiskConfigError as exc:
                # Journalled already: keep the old limits, identically on replay.
                log.error("risk limits not changed: %s", exc)
                return []
            self.set_config(config)
            return []
        raise TypeError(f"not a control command: {cmd!r}")

    def set_config(self, config: RiskConfig) -> None:
        self.config = config
        self._cache.clear()

    def _kill_switch(self, cmd: KillSwitch) -> list[Command]:
        account = cmd.account
        who = "global" if account is None else f"account {account}"
        why = f": {cmd.why}" if cmd.why else ""
        log.warning("kill switch %s %s%s", who, "on" if cmd.on else "off", why)
        if account is None:
            self._global_kill = cmd.on
        elif cmd.on:
            self._killed.add(account)
        else:
            self._killed.discard(account)
        if not (cmd.on and cmd.cancel_orders):
            return []
        if account is not None:
            return [MassCancel(account, None, CancelReason.KILL_SWITCH, cmd.ts_ns)]
        holders = sorted(a for a, s in self._accounts.items() if s.open_orders > 0)
        return [MassCancel(a, None, CancelReason.KILL_SWITCH, cmd.ts_ns) for a in holders]

    # -- snapshots (engine.core.stage_chain.StatefulStage) ---------------------------------

    def dump_state(self) -> bytes:
        orders = [
            (oid, o.account, o.symbol, o.buy, o.price, o.qty) for oid, o in self._orders.items()
        ]
        positions = [
            (a, sym, e.position)
            for a, st in self._accounts.items()
            for sym, e in st.exposures.items()
            if e.position
        ]
        return msgspec.msgpack.encode(
            _State(
                limits.encode(self.config),
                self._global_kill,
                sorted(self._killed),
                self._last,
                orders,
                positions,
            )
        )

    def load_state(self, data: bytes) -> None:
        state = msgspec.msgpack.decode(data, type=_State)
        self.__init__(limits.decode(state.config))  # type: ignore[misc]
        self._global_kill = state.global_kill
        self._killed = set(state.killed)
        self._last = dict(state.last)
        for account, symbol, position in state.positions:
            self._exposure(account, symbol)[1].position = position
        for oid, account, symbol, buy, price, qty in state.orders:
            acct, exp = self._exposure(account, symbol)
            if buy:
                exp.open_buy += qty
            else:
                exp.open_sell += qty
            acct.open_orders += 1
            self._orders[oid] = LiveOrder(account, symbol, acct, exp, buy, price, qty)

    def _exposure(self, account: str, symbol: str) -> tuple[AccountState, Exposure]:
        acct = self._accounts.get(account)
        if acct is None:
            acct = self._accounts[account] = AccountState()
        exp = acct.exposures.get(symbol)
        if exp is None:
            exp = acct.exposures[symbol] = Exposure()
        return acct, exp

    # -- reading the state ----------------------------------------------------------

    def kill_switches(self) -> tuple[bool, list[str]]:
        """(global on?, accounts switched on, sorted)."""
        return self._global_kill, sorted(self._killed)

    def exposure(self, account: str, symbol: str) -> tuple[int, int, int]:
        """(position, open buy qty, open sell qty) of ``account`` in ``symbol``."""
        state = self._accounts.get(account)
        exp = None if state is None else state.exposures.get(symbol)
        return (0, 0, 0) if exp is None else (exp.position, exp.open_buy, exp.open_sell)

    def open_orders(self, account: str) -> int:
        state = self._accounts.get(account)
        return 0 if state is None else state.open_orders

    def last_price(self, symbol: str) -> int | None:
        return self._last.get(symbol)
