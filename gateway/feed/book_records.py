"""Market data from event records, a batch at a time (``MarketData.on_records``).

What ``MarketData.on_events`` does to its books for the decoded events, without
an Event or an order object per event: the orders it tracks live in an
``OrderTable`` (numpy columns sorted by order id), and a batch is read as
columns.

Each record changes one order's state, and an order's part of a level is
additive, so a batch is grouped by order id and each order's records are read
together. For the orders the engine's streams are made of, a closed form per
group, in numpy: an order resting before the batch (or accepted in it, as its
first record: GTC limit, so it rests once its command's events are over), then
takes (its trades, REDUCED) and at most a cancel. With ``cum`` the running sum
of its takes, it is gone at the first cancel or where ``cum`` reaches its
quantity, and every record after that is ignored, as on_events ignores an
unknown order; a record sees it resting when its command (its "epoch": the count
of seq changes before it in the batch) is later than the accept's. That gives
each record's change of a level, summed per (symbol, side, price) and applied
once per level.

Anything else (a REPLACED, a second accept of an id, a take past the order's
quantity, an order the table holds but not resting) is replayed record by
record for those order ids only, with on_events' own rules; since the orders
are independent, that changes nothing for the others, and a pending order rests
at the next of its own records with a later epoch, which is when on_events
rests it as far as that order can tell.

Python then runs per level changed and per symbol touched, plus one tuple per
trade for its ``TradePrint``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ringmatch.engine.records import layout as L
from ringmatch.engine.records.names import Directory
from ringmatch.engine.schema.enums import OrderType, Side, TimeInForce

if TYPE_CHECKING:
    from ringmatch.gateway.feed.marketdata import MarketData

TradeTuple = tuple[int, int, int, str]  # trade_id, price, qty, taker side
_SIDE_VALUE = {code: side.value for code, side in L.SIDE_OF.items()}
_BUY = L.SIDE_CODE[Side.BUY]
_LIMIT = L.ORDER_TYPE_CODE[OrderType.LIMIT]
_GTC = L.TIF_CODE[TimeInForce.GTC]


class OrderTable:
    """The orders a feed tracks, as columns sorted by order id (``live`` False: gone).

    Rows are appended when the new ids are above every id held (the core's own
    ids are its seqs, so that is the usual case), merged in order otherwise; the
    gone rows are dropped once they are half the table.
    """

    __slots__ = ("buy", "dead", "ids", "live", "n", "price", "qty", "resting", "sym")

    def __init__(self) -> None:
        self.n = 0
        self.dead = 0
        self.ids = np.zeros(16, np.uint64)
        self.sym = np.zeros(16, np.int64)  # MarketData's symbol index
        self.buy = np.zeros(16, bool)
        self.price = np.zeros(16, np.int64)
        self.qty = np.zeros(16, np.int64)
        self.resting = np.zeros(16, bool)
        self.live = np.zeros(16, bool)

    def __len__(self) -> int:
        return self.n - self.dead

    def clear(self) -> None:
        self.__init__()  # type: ignore[misc]

    def _columns(self) -> tuple[np.ndarray, ...]:
        return (self.ids, self.sym, self.buy, self.price, self.qty, self.resting, self.live)

    def find(self, ids: np.ndarray, *, gone_too: bool = False) -> np.ndarray:
        """The row of each of ``ids`` (-1 for none; a gone row only with ``gone_too``)."""
        n = self.n
        if n == 0:
            return np.full(len(ids), -1, np.int64)
        at = np.searchsorted(self.ids[:n], ids)
        safe = np.minimum(at, n - 1)
        ok = (at < n) & (self.ids[safe] == ids)
        if not gone_too:
            ok &= self.live[safe]
        return np.where(ok, at, -1)

    def kill(self, rows: np.ndarray) -> None:
        """Mark these rows gone (-1 and rows already gone: nothing)."""
        rows = rows[rows >= 0]
        rows = rows[self.live[rows]]
        self.live[rows] = False
        self.dead += len(rows)

    def upsert(
        self,
        ids: np.ndarray,
        sym: np.ndarray,
        buy: np.ndarray,
        price: np.ndarray,
        qty: np.ndarray,
        resting: np.ndarray,
    ) -> None:
        """Put these orders in (ids unique), over any row with the same id."""
        if not len(ids):
            return
        rows = self.find(ids, gone_too=True)
        old = rows >= 0
        if old.any():
            r = rows[old]
            self.dead -= int((~self.live[r]).sum())
            for col, v in zip(self._columns()[1:6], (sym, buy, price, qty, resting), strict=True):
                col[r] = v[old]
            self.live[r] = True
        new = ~old
        if not new.any():
            return
        order = np.argsort(ids[new], kind="stable")
        cols = tuple(c[new][order] for c in (ids, sym, buy, price, qty, resting))
        n, k = self.n, len(cols[0])
        if n and cols[0][0] <= self.ids[n - 1]:
            self._merge(cols)
            return
        if n + k > len(self.ids):
            self._grow(max(2 * len(self.ids), n + k))
        for dst, src in zip(self._columns(), (*cols, np.ones(k, bool)), strict=True):
            dst[n : n + k] = src
        self.n = n + k
        if self.dead > 1024 and 2 * self.dead > self.n:
            self._merge(tuple(np.zeros(0, c.dtype) for c in self._columns()[:-1]))

    def _grow(self, cap: int) -> None:
        for name in ("ids", "sym", "buy", "price", "qty", "resting", "live"):
            arr = getattr(self, name)
            grown = np.zeros(cap, arr.dtype)
            grown[: self.n] = arr[: self.n]
            setattr(self, name, grown)

    def _merge(self, cols: tuple[np.ndarray, ...]) -> None:
        """Rebuild sorted from the live rows and ``cols`` (rows to add)."""
        n = self.n
        keep = self.live[:n]
        joined = [
            np.concatenate([c[:n][keep], v])
            for c, v in zip(self._columns()[:-1], cols, strict=True)
        ]
        order = np.argsort(joined[0], kind="stable")
        joined = [c[order] for c in joined]
        m = len(joined[0])
        cap = max(16, 2 * m)
        for name, c in zip(("ids", "sym", "buy", "price", "qty", "resting"), joined, strict=True):
            arr = np.zeros(cap, c.dtype)
            arr[:m] = c
            setattr(self, name, arr)
        self.live = np.zeros(cap, bool)
        self.live[:m] = True
        self.n, self.dead = m, 0


class _Slow:
    """One order as on_events tracks it, for the record-by-record replay."""

    __slots__ = ("buy", "price", "qty", "resting", "sym")

    def __init__(self, sym: int, buy: bool, price: int, qty: int, resting: bool) -> None:
        self.sym, self.buy, self.price, self.qty, self.resting = sym, buy, price, qty, resting


Delta = tuple[int, bool, int, int]  # symbol index, buy, price, quantity
Deltas = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # the same, as columns
Rows = tuple[np.ndarray, ...]  # OrderTable.upsert's arguments


def hold_maker(held: np.ndarray, records: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(what to read now, what to keep): a trailing maker record waits for its taker."""
    if len(held):
        records = np.concatenate([held, records], dtype=L.EVENT_DTYPE)
    if len(records) and records["kind"][-1] == L.TRADE and not records["flags"][-1] & L.TAKER:
        return records[:-1], records[-1:]
    return records, records[:0]


def _group_cumsum(x: np.ndarray, starts: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Inclusive running sum of ``x`` within each group (rows sorted by group)."""
    c = np.cumsum(x)
    out: np.ndarray = c - (c - x)[starts][group]
    return out


def _groups(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(first row of each group, group of each row) of sorted ``labels``."""
    if not len(labels):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    first = np.empty(len(labels), bool)  # (np.r_ costs some 15 us a call)
    first[0] = True
    np.not_equal(labels[1:], labels[:-1], out=first[1:])
    return np.flatnonzero(first), np.cumsum(first) - 1


def on_records(
    md: MarketData, records: np.ndarray, directory: Directory
) -> dict[str, list[TradeTuple]]:
    """Apply a batch to ``md``'s books and orders: the symbols touched, with their trades.

    That is what MarketData._incrementals publishes from, as on_events gathers it.
    """
    if records.dtype != L.EVENT_DTYPE:
        raise TypeError(f"records: dtype must be EVENT_DTYPE, is {records.dtype}")
    directory.learn(records)  # learning a NAME twice is a no-op
    records, md._held_maker = hold_maker(md._held_maker, records)
    ev = records[records["kind"] != L.NAME]
    touched: dict[str, list[TradeTuple]] = {}
    if not len(ev):
        return touched
    kind = ev["kind"]
    flags = ev["flags"]
    is_trade = kind == L.TRADE
    maker = is_trade & (flags & L.TAKER == 0)
    # epochs: a new one where the seq of an event (a maker record is its taker's) changes
    seq = ev["seq"]
    events = np.flatnonzero(~maker)
    if not len(events):
        raise ValueError("event records: trade records of makers without their takers")
    e_seq = seq[events]
    change = np.empty(len(events), bool)
    change[0] = e_seq[0] != md._seq
    np.not_equal(e_seq[1:], e_seq[:-1], out=change[1:])
    epoch = np.zeros(len(ev), np.int64)
    epoch[events] = np.cumsum(change)
    m_at = np.flatnonzero(maker)
    epoch[m_at] = epoch[np.minimum(m_at + 1, len(ev) - 1)]
    md._seq = int(seq[events[-1]])

    sym = _local_symbols(md, ev["symbol"], directory)
    names = md._symbol_names

    # trades: prints per symbol in order, the last price, a touch
    taker = np.flatnonzero(is_trade & ~maker)
    if len(taker):
        t_sym, t_price = sym[taker].tolist(), ev["price"][taker].tolist()
        rows = zip(
            t_sym,
            ev["trade_id"][taker].tolist(),
            t_price,
            ev["qty"][taker].tolist(),
            ev["side"][taker].tolist(),
            strict=True,
        )
        for s, trade_id, price, qty, side in rows:
            touched.setdefault(names[s], []).append((trade_id, price, qty, _SIDE_VALUE[side]))
        for s, price in dict(zip(t_sym, t_price, strict=True)).items():
            md.book(names[s]).last_price = price
    for s in set(sym[kind == L.REDUCED].tolist()):
        touched.setdefault(names[s], [])

    deltas, symbols = _orders(md, ev, kind, epoch, sym)
    _apply(md, deltas)
    for s in symbols:
        touched.setdefault(names[s], [])
    return touched


def _local_symbols(md: MarketData, ids: np.ndarray, directory: Directory) -> np.ndarray:
    """md's symbol index of each directory symbol id (a lookup table, grown per new id)."""
    lut = md._symbol_lut
    if md._symbol_lut_of is not directory:  # another directory: other ids
        lut = np.zeros(0, np.int64)
        md._symbol_lut_of = directory
    top = int(ids.max()) + 1
    if top > len(lut):
        lut = np.concatenate([lut, np.full(top - len(lut), -1, np.int64)])
    missing = lut[ids] < 0
    if missing.any():
        for s in set(ids[missing].tolist()):
            lut[s] = md._symbol_index(directory.symbols.name(s))
    md._symbol_lut = lut
    out: np.ndarray = lut[ids]
    return out


def _orders(
    md: MarketData, ev: np.ndarray, kind: np.ndarray, epoch: np.ndarray, sym: np.ndarray
) -> tuple[list[Deltas], list[int]]:
    """The level changes of the batch's order records, and the symbols they touch."""
    accepted = (
        (kind == L.ACCEPTED)
        & (ev["order_type"] == _LIMIT)
        & (ev["tif"] == _GTC)
        & (ev["price"] != 0)
    )
    mine = accepted | (kind == L.TRADE) | (kind == L.CANCELLED) | (kind == L.REDUCED)
    mine |= kind == L.REPLACED
    at = np.flatnonzero(mine)
    if not len(at):
        return [], []
    oid = ev["order_id"][at]
    by_order = np.argsort(oid, kind="stable")
    at, oid = at[by_order], oid[by_order]
    k = kind[at]
    is_a = accepted[at]
    starts, group = _groups(oid)
    table = md._table
    rows = table.find(oid[starts])
    found = rows >= 0
    safe = np.maximum(rows, 0)
    n_accepts = np.add.reduceat(is_a.astype(np.int64), starts)
    replaced = np.add.reduceat((k == L.REPLACED).astype(np.int64), starts) > 0
    first = at[starts]
    qty = ev["qty"]
    fast_a = ~found & (n_accepts == 1) & is_a[starts] & ~replaced & (qty[first] > 0)
    fast_r = found & (n_accepts == 0) & ~replaced & table.resting[safe] & (table.qty[safe] > 0)
    # the order as the batch finds it (accepted in it: as its ACCEPTED says)
    o_sym = np.where(fast_a, sym[first], table.sym[safe])
    o_buy = np.where(fast_a, ev["side"][first] == _BUY, table.buy[safe])
    o_price = np.where(fast_a, ev["price"][first], table.price[safe])
    q0 = np.where(fast_a, qty[first], table.qty[safe])
    e0 = np.where(fast_a, epoch[first], -1)

    # the fast groups' records after their ACCEPTED
    sub = (fast_a | fast_r)[group] & ~is_a
    g = group[sub]
    r_at = at[sub]
    r_kind = k[sub]
    take = np.where((r_kind == L.TRADE) | (r_kind == L.REDUCED), qty[r_at], 0)
    cancel = r_kind == L.CANCELLED
    s_starts, s_group = _groups(g)
    cum = _group_cumsum(take, s_starts, s_group)
    kill = cancel | (cum == q0[g])
    alive = _group_cumsum(kill.astype(np.int64), s_starts, s_group) - kill == 0
    over = np.zeros(len(starts), bool)
    over[g[alive & (cum > q0[g])]] = True  # past the quantity: the replay's
    fast_a &= ~over
    fast_r &= ~over
    ok = ~over[g]
    g, r_at, r_kind, take, cancel, cum, kill, alive = (
        a[ok] for a in (g, r_at, r_kind, take, cancel, cum, kill, alive)
    )
    rest_now = epoch[r_at] > e0[g]  # the order rests by the time of this record
    hits = alive & rest_now
    dq = np.where(cancel, cum - q0[g], -take)  # a cancel takes what is left
    d_sym = np.where(r_kind == L.TRADE, sym[r_at], o_sym[g])  # a trade: its symbol's book
    deltas: list[Deltas] = [(d_sym[hits], o_buy[g][hits], o_price[g][hits], dq[hits])]
    touched = set(o_sym[g][hits & cancel].tolist())

    ng = len(starts)
    killed = np.zeros(ng, bool)
    killed[g[alive & kill]] = True
    at_accept = alive & ~rest_now
    killed_early = np.zeros(ng, bool)
    killed_early[g[at_accept & kill]] = True
    early_take = np.bincount(g[at_accept], take[at_accept], ng).astype(np.int64)
    total_take = np.bincount(g[alive], take[alive], ng).astype(np.int64)
    rests = fast_a & ~killed_early
    deltas.append((o_sym[rests], o_buy[rests], o_price[rests], (q0 - early_take)[rests]))
    touched.update(o_sym[rests].tolist())

    # the table: fast groups' ends, then the replayed groups
    table.kill(rows[fast_r & killed])
    still = fast_r & ~killed
    table.qty[rows[still]] = (q0 - total_take)[still]
    born = fast_a & ~killed
    final = q0 - total_take
    new_rows: list[Rows] = [
        (oid[starts][born], o_sym[born], o_buy[born], o_price[born], final[born], born[born])
    ]
    slow = (found | (n_accepts > 0)) & ~fast_a & ~fast_r
    if slow.any():
        slow_deltas, slow_touched, slow_rows = _replay(md, ev, at, group, slow, rows, epoch, sym)
        deltas.append(slow_deltas)
        touched.update(slow_touched)
        new_rows.append(slow_rows)
    table.upsert(*(np.concatenate(c) for c in zip(*new_rows, strict=True)))
    return deltas, sorted(touched)


def _replay(
    md: MarketData,
    ev: np.ndarray,
    at: np.ndarray,
    group: np.ndarray,
    slow: np.ndarray,
    rows: np.ndarray,
    epoch: np.ndarray,
    sym: np.ndarray,
) -> tuple[Deltas, set[int], Rows]:
    """on_events' rules, record by record, for the orders of the ``slow`` groups.

    Returns the level changes, the symbols touched and the table rows of the
    orders still tracked after the batch (the gone ones it has already removed).
    """
    table = md._table
    starts, _ = _groups(group)
    first_rows = rows[slow]
    slow_ids = ev["order_id"][at[starts]][slow]
    objs: dict[int, _Slow] = {}
    for oid, r in zip(slow_ids.tolist(), first_rows.tolist(), strict=True):
        if r >= 0:
            objs[oid] = _Slow(
                int(table.sym[r]),
                bool(table.buy[r]),
                int(table.price[r]),
                int(table.qty[r]),
                bool(table.resting[r]),
            )
    recs = np.sort(at[slow[group]])
    deltas: list[Delta] = []
    touched: set[int] = set()
    pending: list[_Slow] = []

    def rest() -> None:
        for o in pending:
            if o.qty > 0 and not o.resting:
                o.resting = True
                deltas.append((o.sym, o.buy, o.price, o.qty))
                touched.add(o.sym)
        pending.clear()

    def take(oid: int, qty: int, book_sym: int) -> None:
        o = objs.get(oid)
        if o is None:
            return
        if o.resting:
            deltas.append((o.sym if book_sym < 0 else book_sym, o.buy, o.price, -qty))
        o.qty -= qty
        if o.qty == 0:
            del objs[oid]

    cur = None
    columns = (
        ev["kind"][recs].tolist(),
        ev["order_id"][recs].tolist(),
        epoch[recs].tolist(),
        sym[recs].tolist(),
        ev["side"][recs].tolist(),
        ev["price"][recs].tolist(),
        ev["qty"][recs].tolist(),
        ev["flags"][recs].tolist(),
    )
    for kind, oid, ep, s, side, price, qty, flags in zip(*columns, strict=True):
        if ep != cur:
            rest()
            cur = ep
        if kind == L.TRADE:
            take(oid, qty, s)
        elif kind == L.ACCEPTED:  # only the ones that rest are in ``at``
            o = objs[oid] = _Slow(s, side == _BUY, price, qty, False)
            pending.append(o)
        elif kind == L.CANCELLED:
            gone = objs.pop(oid, None)
            if gone is not None:
                if gone.resting:
                    deltas.append((gone.sym, gone.buy, gone.price, -gone.qty))
                    touched.add(gone.sym)
                gone.qty = 0
        elif kind == L.REDUCED:
            take(oid, qty, -1)
        elif kind == L.REPLACED:
            found = objs.get(oid)
            if found is not None:
                o = found
                touched.add(o.sym)
                if o.resting:
                    deltas.append((o.sym, o.buy, o.price, -o.qty))
                o.price, o.qty = price, qty
                if flags & L.PRIORITY_KEPT:
                    deltas.append((o.sym, o.buy, o.price, o.qty))
                else:
                    o.resting = False
                    pending.append(o)
    rest()
    # the table: the ids that are gone go, the others take their end state
    ended = [oid for oid in slow_ids.tolist() if oid not in objs]
    table.kill(table.find(np.array(ended, np.uint64)))
    left = list(objs.values())
    rows_out: Rows = (
        np.array(list(objs), np.uint64),
        np.array([o.sym for o in left], np.int64),
        np.array([o.buy for o in left], bool),
        np.array([o.price for o in left], np.int64),
        np.array([o.qty for o in left], np.int64),
        np.array([o.resting for o in left], bool),
    )
    s_, b_, p_, q_ = zip(*deltas, strict=True) if deltas else ((), (), (), ())
    out: Deltas = (
        np.array(s_, np.int64),
        np.array(b_, bool),
        np.array(p_, np.int64),
        np.array(q_, np.int64),
    )
    return out, touched, rows_out


def _apply(md: MarketData, deltas: list[Deltas]) -> None:
    """Sum the level changes per (symbol, side, price) and apply each sum once."""
    if not deltas:
        return
    s, b, p, q = (np.concatenate(c) for c in zip(*deltas, strict=True))
    if not len(s):
        return
    order = np.lexsort((p, b, s))
    s, b, p, q = s[order], b[order], p[order], q[order]
    new = np.empty(len(s), bool)
    new[0] = True
    new[1:] = (s[1:] != s[:-1]) | (b[1:] != b[:-1]) | (p[1:] != p[:-1])
    starts = np.flatnonzero(new)
    total = np.add.reduceat(q, starts)
    nz = total != 0
    names = md._symbol_names
    levels = zip(
        s[starts][nz].tolist(),
        b[starts][nz].tolist(),
        p[starts][nz].tolist(),
        total[nz].tolist(),
        strict=True,
    )
    for si, buy, price, dq in levels:
        md.book(names[si]).add(buy, price, dq)
