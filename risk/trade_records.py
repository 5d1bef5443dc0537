"""Post-trade risk from event records, a batch at a time (``RiskMonitor.on_records``).

The same positions, average prices, realised P&L, last prices and trips as
``RiskMonitor.on_events`` on the decoded events, without a Trade per event:

* The trades come out of the records as columns: one taker record (flag
  TAKER) per trade, its maker the trade record before it.
* Positions: the fills are grouped by account x symbol (one sort) and cut into
  runs of one direction. A run that only adds to a position (or opens one from
  flat) adds its summed notional to the open cost; a run that only reduces it
  realises at the one average price it closes at (reducing never moves the
  average): both closed forms, exact, one Fraction step per run. Only a run
  that goes through flat is filled fill by fill (``Position.fill``): the part
  after flat opens at that fill's own price, which is sequential by nature.
* Checks: with no ``max_loss`` anywhere, a trade checks only its two parties'
  ``kill_position``, and the position after every fill is a cumulative sum per
  account x symbol, so the breaches are found with numpy and Python runs per
  breach. With a ``max_loss``, every holder of the symbol is checked after
  every trade (its mark moved), in order; that loop stays per trade, but on
  integers: an account's P&L is its cash plus its positions marked at the last
  prices (average cost and any other accounting agree on that sum), a fill at
  the trade's price leaves it unchanged, and a new last price moves it by
  ``position x (new - old)`` for each holder. No Fraction in the checks.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from ringmatch.engine.records import layout as L
from ringmatch.engine.records.names import Directory
from ringmatch.engine.records.stream import whole_events
from ringmatch.engine.schema.enums import Side
from ringmatch.risk.positions import Position

if TYPE_CHECKING:
    from ringmatch.risk.monitor import RiskMonitor

_SAFE = 1 << 62  # bound on a run's summed notional for int64 arithmetic


class Trades(NamedTuple):
    """One row per trade, in stream order (ids, not names)."""

    symbol: np.ndarray
    price: np.ndarray
    qty: np.ndarray
    maker: np.ndarray  # account id
    taker: np.ndarray
    taker_buys: np.ndarray  # bool


def trades_of(records: np.ndarray) -> Trades:
    """The trades of event records: each taker record with the maker record before it."""
    kind = records["kind"]
    # An uncross's two records pair as a trade's: the buyer's first (the "maker"), the
    # seller's the "taker" (events.as_trade).
    auction = kind == L.AUCTION_TRADE
    is_trade = (kind == L.TRADE) | auction
    taker = ((kind == L.TRADE) & (records["flags"] & L.TAKER != 0)) | (
        auction & (records["side"] == L.SIDE_CODE[Side.SELL])
    )
    where = np.arange(len(records))
    # the last maker record at or before each record (decode_events pairs them so)
    maker_at = np.maximum.accumulate(np.where(is_trade & ~taker, where, -1))
    t = np.flatnonzero(taker)
    m = maker_at[t]
    if len(t) and (m < 0).any():
        raise ValueError(f"event record {int(t[m < 0][0])}: a taker's trade without its maker's")
    tk = records[t]
    return Trades(
        tk["symbol"].astype(np.int64),
        tk["price"].astype(np.int64),
        tk["qty"].astype(np.int64),
        records["account"][m].astype(np.int64),
        tk["account"].astype(np.int64),
        tk["side"] == L.SIDE_CODE[Side.BUY],
    )


class Fills(NamedTuple):
    """Both parties' fills, sorted by account x symbol, then trade order."""

    trade: np.ndarray  # index of the trade
    account: np.ndarray
    symbol: np.ndarray
    buy: np.ndarray
    price: np.ndarray
    qty: np.ndarray
    starts: np.ndarray  # first fill of each account x symbol group
    group: np.ndarray  # group index of each fill


def fills_of(tr: Trades) -> Fills:
    keep = np.flatnonzero(tr.maker != tr.taker)  # a trade with oneself moves nothing
    n = len(keep)
    trade = np.repeat(keep, 2)
    account = np.column_stack((tr.taker[keep], tr.maker[keep])).ravel()
    buy = np.column_stack((tr.taker_buys[keep], ~tr.taker_buys[keep])).ravel()
    symbol = np.repeat(tr.symbol[keep], 2)
    price = np.repeat(tr.price[keep], 2)
    qty = np.repeat(tr.qty[keep], 2)
    key = (account << 16) | symbol  # symbol ids fit 16 bits, account ids 24
    order = np.lexsort((trade, key))
    key = key[order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if 2 * n else np.zeros(0, np.int64)
    group = np.cumsum(np.r_[True, key[1:] != key[:-1]]) - 1 if 2 * n else np.zeros(0, np.int64)
    return Fills(
        trade[order],
        account[order],
        symbol[order],
        buy[order],
        price[order],
        qty[order],
        starts,
        group,
    )


def _notional(price: np.ndarray, qty: np.ndarray) -> np.ndarray:
    """price x qty per fill: int64 when no run's sum can overflow, else Python ints."""
    if not len(price):
        return price
    bound = int(np.abs(price).max()) * int(np.abs(qty).max()) * len(price)
    if bound < _SAFE:
        out: np.ndarray = price * qty
        return out
    return np.array([p * q for p, q in zip(price.tolist(), qty.tolist(), strict=True)], object)


def apply_fills(f: Fills, positions: list[Position]) -> None:
    """Move the positions of ``f`` (``positions``: one per group) as Position.fill would."""
    n = len(f.trade)
    if not n:
        return
    cut = np.r_[True, (f.group[1:] != f.group[:-1]) | (f.buy[1:] != f.buy[:-1])]
    runs = np.flatnonzero(cut)
    total = np.add.reduceat(f.qty, runs).tolist()
    notional = np.add.reduceat(_notional(f.price, f.qty), runs).tolist()
    run_group = f.group[runs].tolist()
    run_buy = f.buy[runs].tolist()
    ends = np.r_[runs[1:], n].tolist()
    for r, start in enumerate(runs.tolist()):
        pos = positions[run_group[r]]
        buy, q, held = run_buy[r], int(total[r]), pos.qty
        if held == 0 or (held > 0) == buy:  # adds to the position: cost grows by the notional
            pos.cost += int(notional[r])
            pos.qty = held + q if buy else held - q
        elif q <= abs(held):  # only reduces: all of it closes at the one average
            avg = pos.cost / abs(held)
            gain = int(notional[r]) - avg * q  # sold above the average
            pos.realised += gain if held > 0 else -gain
            pos.cost -= avg * q
            pos.qty = held + q if buy else held - q
        else:  # goes through flat: the rest opens at its own fill's price
            prices = f.price[start : ends[r]].tolist()
            for price, qty in zip(prices, f.qty[start : ends[r]].tolist(), strict=True):
                pos.fill(buy, price, qty)


def kill_position_trips(
    f: Fills,
    held: list[int],
    names: list[tuple[str, str]],
    limit: Callable[[str, str], int | None],
) -> list[tuple[int, str, str]]:
    """The party checks of a batch without max_loss: (trade, account, why) per breach."""
    if not len(f.trade):
        return []
    signed = np.where(f.buy, f.qty, -f.qty)
    run = np.cumsum(signed)
    before = np.r_[0, run][f.starts]  # the cumulative sum up to each group's first fill
    after = np.asarray(held, np.int64)[f.group] + run - before[f.group]
    lims = np.array([-1 if (x := limit(a, s)) is None else x for a, s in names], np.int64)
    lim = lims[f.group]
    hit = np.flatnonzero((lim >= 0) & (np.abs(after) > lim))
    out = []
    for i in hit.tolist():
        account, symbol = names[int(f.group[i])]
        pos, cap = int(after[i]), int(lim[i])
        out.append(
            (int(f.trade[i]), account, f"position {pos} in {symbol} beyond kill_position {cap}")
        )
    out.sort(key=lambda x: (x[0], x[1]))
    return out


def loss_trips(monitor: RiskMonitor, tr: Trades, accounts: Directory) -> list[tuple[int, str, str]]:
    """Every check of a batch with max_loss, trade by trade, on integer P&L.

    Run before the positions move: it reads the book as it was before the batch.
    Returns (trade, account, why) for each breach, at most one per account, in
    the order the checks trip them (skipping accounts already tripped).
    """
    book = monitor.book
    acct, sym = accounts.accounts.name, accounts.symbols.name
    tripped = set(monitor.tripped)
    last = dict(book.last)
    holders: dict[str, dict[str, int]] = {}
    pnl: dict[str, int] = {}

    def pnl_of(a: str) -> int:
        v = pnl.get(a)
        if v is None:
            total = book.pnl(a)
            assert total.denominator == 1, "cash plus marked positions is whole ticks"
            v = pnl[a] = total.numerator
        return v

    out = []
    symbols = tr.symbol.tolist()
    rows = zip(
        symbols,
        tr.price.tolist(),
        tr.qty.tolist(),
        tr.maker.tolist(),
        tr.taker.tolist(),
        tr.taker_buys.tolist(),
        strict=True,
    )
    for k, (s_id, price, qty, m_id, t_id, taker_buys) in enumerate(rows):
        s = sym(s_id)
        hs = holders.get(s)
        if hs is None:
            hs = holders[s] = {
                a: p.qty for a, mine in book.positions.items() if (p := mine.get(s)) and p.qty
            }
        old = last.get(s)
        if old is not None and old != price:
            for a, q in hs.items():
                pnl[a] = pnl_of(a) + q * (price - old)
        last[s] = price
        checked = set(hs)
        if m_id != t_id:
            # a fill at the trade price leaves cash plus marked position as it was
            m, t = acct(m_id), acct(t_id)
            for a, buys in ((t, taker_buys), (m, not taker_buys)):
                pnl_of(a)
                q = hs.get(a, 0) + (qty if buys else -qty)
                if q:
                    hs[a] = q
                else:
                    hs.pop(a, None)
            checked.update((m, t))
        for a in sorted(checked):
            if a in tripped:
                continue
            why = _breach(monitor, a, s, hs.get(a, 0), pnl_of(a))
            if why is not None:
                tripped.add(a)
                out.append((k, a, why))
    return out


def _breach(monitor: RiskMonitor, account: str, symbol: str, qty: int, pnl: int) -> str | None:
    """RiskMonitor._breach on a position and a P&L already known."""
    kill = monitor.kill_limit(account, symbol)
    if kill is not None and abs(qty) > kill:
        return f"position {qty} in {symbol} beyond kill_position {kill}"
    max_loss = monitor.loss_limit(account)
    if max_loss is not None and -pnl > max_loss:
        return f"loss {float(Fraction(-pnl)):.2f} beyond max_loss {max_loss}"
    return None


def hold_maker(held: np.ndarray, records: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(what to read now, what to keep): a trailing record waits for its partner (a
    maker's TRADE for its taker's, a buyer's AUCTION_TRADE, an ACCEPTED's ORDER_TERMS).

    A reader may see a batch end between a trade's two records; the maker's
    record then joins the next batch, as if the cut had been one record earlier.
    """
    if len(held):
        records = np.concatenate([held, records], dtype=L.EVENT_DTYPE)
    if whole_events(records) < len(records):
        return records[:-1], records[-1:]
    return records, records[:0]


def on_records(monitor: RiskMonitor, records: np.ndarray, directory: Directory) -> None:
    """Apply a batch of event records to ``monitor`` (see the module's docstring)."""
    if records.dtype != L.EVENT_DTYPE:
        raise TypeError(f"records: dtype must be EVENT_DTYPE, is {records.dtype}")
    directory.learn(records)  # the batch's NAME events; learning one twice is a no-op
    records, monitor.held_maker = hold_maker(monitor.held_maker, records)
    tr = trades_of(records)
    if not len(tr.price):
        return
    book = monitor.book
    acct, sym = directory.accounts.name, directory.symbols.name
    config = monitor.config
    with_loss = config.max_loss is not None or any(o.max_loss is not None for o in config.accounts)
    trips = loss_trips(monitor, tr, directory) if with_loss else None
    f = fills_of(tr)
    pairs = zip(f.account[f.starts].tolist(), f.symbol[f.starts].tolist(), strict=True)
    names = [(acct(a), sym(s)) for a, s in pairs]
    positions = [book.get(a, s) for a, s in names]
    if trips is None:
        held = [p.qty for p in positions]
        trips = kill_position_trips(f, held, names, monitor.kill_limit)
    apply_fills(f, positions)
    # last prices: each traded symbol's last trade of the batch
    for s_id, price in dict(zip(tr.symbol.tolist(), tr.price.tolist(), strict=True)).items():
        book.last[sym(s_id)] = price
    for _, account, why in trips:
        if account not in monitor.tripped:
            monitor._trip(account, why)
