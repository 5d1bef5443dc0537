"""``ringmatch replay FILE --format lobster``: real LOBSTER history through the engine.

Every message becomes the engine's own commands, so the replay exercises matching:

==== ======================= ==============================================
type LOBSTER                 engine command(s)
==== ======================= ==============================================
1    new limit order         NewOrder, GTC limit, account ``lobster``
2    partial cancel          Replace at the same price with the smaller
                             remaining quantity (keeps its queue place)
3    delete                  Cancel
4    visible execution       NewOrder IOC from the opposite side at the
                             execution price for the executed size (a
                             replay id), which must trade against the book
5, 6 hidden exec., cross     none: written to ``--trades-out`` as kind
                             ``hidden`` / ``cross``
7    trading halt            none
==== ======================= ==============================================

A LOBSTER file starts mid-day and a level-N file only holds events inside the
top N levels, so some events name orders the file never submitted. With
``--orderbook`` the book is seeded from orderbook row 1 (one order per level,
account ``lobster-synthetic``, a replay id) and the replay starts at message 2;
a partial cancel or delete of an order that was never submitted (an
*orphan*) takes its size from that synthetic liquidity at its price and side.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TextIO

from ringmatch.engine.book.matching import MatchingEngine
from ringmatch.engine.core.kernel_choice import new_kernel
from ringmatch.engine.replay import outputs
from ringmatch.engine.replay.lobster import (
    EMPTY_ASK_PRICE,
    EMPTY_BID_PRICE,
    SYNTHETIC_ID_BASE,
    LobsterFileError,
    Messages,
    OrderbookRows,
    read_messages,
    read_orderbook,
)
from ringmatch.engine.replay.lobster_records import (
    PlainCounts,
    PlainLobsterReplay,
    compiled_lobster_parser,
    read_message_columns,
)
from ringmatch.engine.replay.outputs import EventLinesWriter
from ringmatch.engine.replay.pacing import Pacer
from ringmatch.engine.replay.progress_bar import ReplayProgress
from ringmatch.engine.replay.summary import ReplaySummary
from ringmatch.engine.schema.commands import Cancel, Command, NewOrder, Replace
from ringmatch.engine.schema.enums import OrderType, Side, StpMode, TimeInForce
from ringmatch.engine.schema.events import Event, Rejected, Trade
from ringmatch.engine.schema.views import BookOrder

REAL_ACCOUNT = "lobster"
"""Owner of the orders the file submits and of the execution takers."""
SYNTHETIC_ACCOUNT = "lobster-synthetic"
"""Owner of the liquidity the replay invents: the seed and resync orders."""

# The CSV replay's trade columns, after the two a LOBSTER trade needs: its file time
# and its kind (visible, hidden or cross).
TRADES_HEADER = ("ts_ns", "kind", *outputs.TRADES_HEADER)
MISMATCHES_SHOWN = 10
CHUNK = 4096  # rows per engine batch (when nothing needs the book row by row) and per
# progress-bar update

BUY = Side.BUY
SELL = Side.SELL
LIMIT = OrderType.LIMIT
IOC = TimeInForce.IOC
STP_NONE = StpMode.NONE


@dataclass(slots=True)
class Counts:
    """What the replay did, for the summary."""

    by_type: list[int] = field(default_factory=lambda: [0] * 8)
    orphans: int = 0  # type 2/3/4 on an id the file never submitted
    gone: int = 0  # type 2/3 on a submitted order that no longer rests in the engine
    short: int = 0  # lots a 2/3 could not find in the book, or a 4 could not trade
    rejected: int = 0  # engine rejects of replay commands
    trades: int = 0  # the engine's trades (a visible execution's IOC; hidden ones are not)
    resyncs: int = 0
    compared: int = 0
    matched: int = 0
    matched_above: int = 0  # top N-1 levels
    mismatches: list[str] = field(default_factory=list)


def symbol_of(path: str) -> str:
    """``AMZN`` for ``AMZN_2012-06-21_..._message_1.csv``: LOBSTER names start with it."""
    head = Path(path).stem.split("_", 1)[0]
    return head if head.isascii() and head.isalnum() else "LOBSTER"


class LobsterReplay:
    """One symbol's replay: the engine, the id spaces and the invented liquidity.

    With ``seeded`` (an orderbook file is given) the replay keeps an index of the
    orders at each price, so that it can correct a level: resync, and events whose
    size the named order no longer has in the engine.
    """

    def __init__(
        self, symbol: str, levels: int, record_events: bool = False, seeded: bool = False
    ) -> None:
        self.symbol = symbol
        self.levels = levels
        self.engine = MatchingEngine()
        self.counts = Counts()
        self.record_events = record_events
        self.seeded = seeded
        self.events: list[Event] = []  # filled only when record_events
        self._next_id = SYNTHETIC_ID_BASE
        self._submitted: set[int] = set()
        # (side, price) -> ids of the orders that went to rest there, oldest first;
        # a price never changes (a type 2 keeps it), and ids that no longer rest are
        # pruned when the level is next looked at.
        self._level_ids: dict[tuple[Side, int], list[int]] = {}

    # -- commands ------------------------------------------------------------------

    def _process(self, cmds: list[Command]) -> None:
        events = self.engine.process_batch(cmds)
        counts = self.counts
        for event in events:
            if type(event) is Trade:
                counts.trades += 1
            elif type(event) is Rejected:
                counts.rejected += 1
        if self.record_events:
            self.events.extend(events)

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def _add_synthetic(self, side: Side, price: int, qty: int, ts_ns: int) -> None:
        oid = self._new_id()
        cmd = NewOrder(oid, SYNTHETIC_ACCOUNT, self.symbol, side, LIMIT, price, qty, ts_ns=ts_ns)
        self._process([cmd])
        self._level_ids.setdefault((side, price), []).append(oid)

    def _level(self, side: Side, price: int) -> list[BookOrder]:
        """The orders resting at one price, in queue order (seeded replays only)."""
        key = (side, price)
        ids = self._level_ids.get(key)
        if not ids:
            return []
        order = self.engine.order
        orders = [o for oid in ids if (o := order(oid)) is not None]
        if len(orders) != len(ids):
            if orders:
                self._level_ids[key] = [o.order_id for o in orders]
            else:
                del self._level_ids[key]
        return orders

    def _take(self, side: Side, price: int, qty: int, ts_ns: int) -> None:
        """Take ``qty`` lots that an event removes but its named order does not have
        (never submitted, or no longer resting or smaller in the engine) from the
        other orders at that price. Without a seed there is nothing to take from."""
        if self.seeded:
            qty = self._remove(self._level(side, price), price, qty, ts_ns)
        self.counts.short += qty

    def _reduce(
        self, oid: int, side: Side, price: int, size: int, delete: bool, ts_ns: int
    ) -> None:
        """Type 2 (``size`` cancelled) or 3 (``delete``: all of it) of a named order."""
        c = self.counts
        o = self.engine.order(oid)
        if o is None:
            if oid in self._submitted:
                c.gone += 1
            else:
                c.orphans += 1
            self._take(side, price, size, ts_ns)
            return
        left = o.qty - size
        if left > 0 and not delete:
            self._process([Replace(oid, REAL_ACCOUNT, o.price, left, ts_ns)])
            return
        self._process([Cancel(oid, REAL_ACCOUNT, ts_ns)])
        if left < 0:
            self._take(side, price, -left, ts_ns)

    # -- the book, as the orderbook file writes it ----------------------------------

    def book_row(self) -> list[int]:
        """The engine's top ``levels`` levels in orderbook-file order."""
        if self.levels == 1:
            b = self.engine.bbo(self.symbol)
            return [
                EMPTY_ASK_PRICE if b.ask_price is None else b.ask_price,
                b.ask_qty,
                EMPTY_BID_PRICE if b.bid_price is None else b.bid_price,
                b.bid_qty,
            ]
        d = self.engine.depth(self.symbol, self.levels)
        asks, bids = d.asks, d.bids
        row: list[int] = []
        for i in range(self.levels):
            row += asks[i] if i < len(asks) else (EMPTY_ASK_PRICE, 0)
            row += bids[i] if i < len(bids) else (EMPTY_BID_PRICE, 0)
        return row

    def reconcile(self, row: list[int], ts_ns: int) -> None:
        """Make the engine's book agree with a recorded row (seeding is this on an
        empty book). Within the row's window a level the row lacks is cancelled and a
        level's size is corrected (synthetic liquidity added at the back, or taken
        away: synthetic first, then real orders from the back of the queue). A side
        with all its levels recorded says nothing about prices beyond its worst one:
        those are left alone."""
        recorded: dict[Side, dict[int, int]] = {SELL: {}, BUY: {}}
        for i in range(0, len(row), 4):
            if row[i] != EMPTY_ASK_PRICE:
                recorded[SELL][row[i]] = row[i + 1]
            if row[i + 2] != EMPTY_BID_PRICE:
                recorded[BUY][row[i + 2]] = row[i + 3]
        cmds: list[Command] = []
        for side, wanted in recorded.items():
            for price in self._window(side, wanted):
                if price not in wanted:
                    cmds += [Cancel(o.order_id, o.account, ts_ns) for o in self._level(side, price)]
        # Cancels first: a level added below can then never cross a stale one.
        if cmds:
            self._process(cmds)
        for side, wanted in recorded.items():
            for price, qty in wanted.items():
                orders = self._level(side, price)
                have = sum(o.qty for o in orders)
                if have < qty:
                    self._add_synthetic(side, price, qty - have, ts_ns)
                elif have > qty:
                    self._remove(orders, price, have - qty, ts_ns)

    def _window(self, side: Side, wanted: dict[int, int]) -> list[int]:
        """The engine's prices on ``side`` that the recorded levels ``wanted`` speak for."""
        sign = 1 if side is SELL else -1  # sign * price: smaller is better
        if len(wanted) < self.levels:  # the recorded side shows all of itself
            bound = 1 << 62
        else:
            bound = sign * (max(wanted) if sign == 1 else min(wanted))
        n = self.levels + 8
        while True:
            depth = self.engine.depth(self.symbol, n)
            levels = depth.asks if side is SELL else depth.bids
            if len(levels) < n or sign * levels[-1][0] > bound:
                return [p for p, _ in levels if sign * p <= bound]
            n *= 4

    def _remove(self, orders: list[BookOrder], price: int, excess: int, ts_ns: int) -> int:
        """Take ``excess`` lots off ``orders``: synthetic first, then the others, newest
        first (a reduced order keeps its place). Return what could not be found."""
        cmds: list[Command] = []
        synthetic_last = sorted(orders, key=lambda o: o.account == SYNTHETIC_ACCOUNT)
        for o in reversed(synthetic_last):
            if not excess:
                break
            if o.qty <= excess:
                cmds.append(Cancel(o.order_id, o.account, ts_ns))
                excess -= o.qty
            else:
                cmds.append(Replace(o.order_id, o.account, price, o.qty - excess, ts_ns))
                excess = 0
        if cmds:
            self._process(cmds)
        return excess

    # -- the replay loop ---------------------------------------------------------

    def run(
        self,
        msgs: Messages,
        start: int,
        per_row: Callable[[int], None] | None,
        on_hidden: Callable[[int], None] | None,
        pacer: Pacer | None,
        progress: Callable[[int], None] | None,
    ) -> None:
        """Replay messages ``start``.. . ``per_row(i)`` runs after message i is applied
        (verification, outputs); without it commands go to the engine in batches."""
        symbol = self.symbol
        kinds, ids, sizes, prices = msgs.type, msgs.order_id, msgs.size, msgs.price
        dirs, stamps = msgs.direction, msgs.ts_ns
        submitted = self._submitted
        add_submitted = submitted.add
        process = self._process
        reduce = self._reduce
        pending: list[Command] = []
        append = pending.append
        wait = pacer.wait_until if pacer is not None else None
        seeded = self.seeded
        level_ids = self._level_ids
        counts = self.counts
        for kind, n in Counter(kinds[start:]).items():
            counts.by_type[kind] += n
        # Chunks of rows: batches for the engine and progress updates between them,
        # so that the per-row loop tests as little as possible.
        for chunk in range(start, len(kinds), CHUNK):
            for i in range(chunk, min(chunk + CHUNK, len(kinds))):
                kind = kinds[i]
                ts = stamps[i]
                if wait is not None:
                    wait(ts)
                if kind == 1:
                    oid = ids[i]
                    side = BUY if dirs[i] == 1 else SELL
                    append(NewOrder(oid, REAL_ACCOUNT, symbol, side, LIMIT, prices[i], sizes[i],
                                    None, False, STP_NONE, ts))  # fmt: skip
                    add_submitted(oid)
                    if seeded:
                        level_ids.setdefault((side, prices[i]), []).append(oid)
                elif kind == 4:
                    self._next_id += 1
                    if ids[i] not in submitted:
                        counts.orphans += 1
                    taker_side = SELL if dirs[i] == 1 else BUY
                    append(NewOrder(self._next_id, REAL_ACCOUNT, symbol, taker_side, LIMIT,
                                    prices[i], sizes[i], IOC, False, STP_NONE, ts))  # fmt: skip
                elif kind == 3:
                    oid = ids[i]
                    # Unseeded, there is nothing to correct a level with: a plain cancel.
                    # Seeded, rows go one by one, so pending is empty and look-ups exact.
                    if not seeded:
                        if oid in submitted:
                            append(Cancel(oid, REAL_ACCOUNT, ts))
                        else:  # an orphan, and no synthetic liquidity to take it from
                            counts.orphans += 1
                            counts.short += sizes[i]
                    else:
                        reduce(oid, BUY if dirs[i] == 1 else SELL, prices[i], sizes[i], True, ts)
                elif kind == 2:
                    if pending:
                        process(pending)
                        pending.clear()
                    reduce(ids[i], BUY if dirs[i] == 1 else SELL, prices[i], sizes[i], False, ts)
                elif (kind == 5 or kind == 6) and on_hidden is not None:
                    on_hidden(i)
                if per_row is not None:
                    if pending:
                        process(pending)
                        pending.clear()
                    per_row(i)
            if pending:
                process(pending)
                pending.clear()
            if progress is not None:
                progress(min(chunk + CHUNK, len(kinds)))


# -- outputs ---------------------------------------------------------------------


def _format_row(row: list[int]) -> str:
    return ",".join(map(str, row)) + "\n"


def _describe(engine_row: list[int], recorded: list[int]) -> str:
    """What differs between two orderbook rows, level by level."""
    parts = []
    for i in range(0, len(recorded), 2):
        if engine_row[i : i + 2] != recorded[i : i + 2]:
            level = i // 4 + 1
            side = "ask" if i % 4 == 0 else "bid"

            def show(p: int, q: int) -> str:
                return "empty" if q == 0 and abs(p) == EMPTY_ASK_PRICE else f"{q}@{p}"

            parts.append(
                f"{side} {level}: engine {show(*engine_row[i : i + 2])}, "
                f"recorded {show(*recorded[i : i + 2])}"
            )
    return "; ".join(parts)


class TradeFile:
    """``--trades-out``: visible trades as the engine made them, plus the hidden
    executions (type 5, kind ``hidden``) and cross trades (type 6, kind ``cross``)
    that the engine never sees; those have no trade id and no taker."""

    def __init__(self, stream: TextIO, symbol: str) -> None:
        self._writer = csv.writer(stream, lineterminator="\n")
        self._writer.writerow(TRADES_HEADER)
        self._symbol = symbol

    def visible(self, trades: list[Trade], ts_ns: int) -> None:
        self._writer.writerows(
            (ts_ns, "visible", t.trade_id, t.symbol, t.price, t.qty, t.maker_order_id,
             t.taker_order_id, t.maker_account, t.taker_account, t.taker_side.value)
            for t in trades
        )  # fmt: skip

    def hidden(self, msgs: Messages, i: int) -> None:
        kind = "hidden" if msgs.type[i] == 5 else "cross"
        taker_side = SELL if msgs.direction[i] == 1 else BUY  # direction: the resting side
        self._writer.writerow(
            (msgs.ts_ns[i], kind, "", self._symbol, msgs.price[i], msgs.size[i],
             msgs.order_id[i], "", REAL_ACCOUNT, "", taker_side.value)
        )  # fmt: skip


# -- the command ---------------------------------------------------------------


def run(
    args: argparse.Namespace,
    *,
    clock: Callable[[], int] = time.monotonic_ns,
    sleep: Callable[[float], None] = time.sleep,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Replay ``args.file``; 0 when done, 1 when ``--skip-bad`` skipped rows, 2 on bad
    input or arguments. Errors, the progress bar and the summary go to ``stderr``,
    as every replay's do; nothing goes to ``stdout`` (accepted for callers that pass
    both)."""
    del stdout
    err = sys.stderr if stderr is None else stderr
    levels: int = args.levels if args.levels is not None else 1
    if levels < 1:
        print(f"--levels: {levels} must be >= 1", file=err)
        return 2
    if args.resync and args.orderbook is None:
        print("--resync needs --orderbook (the recorded book to resync to)", file=err)
        return 2
    if args.speed is not None and not args.speed > 0:
        print(f"--speed: {args.speed} must be > 0", file=err)
        return 2

    bad_rows: list[LobsterFileError] = []

    def skip(error: LobsterFileError) -> None:
        bad_rows.append(error)
        print(f"{error} (skipped)", file=err)

    on_bad = skip if args.skip_bad else None
    started = time.perf_counter()
    if _is_plain(args) and compiled_lobster_parser():
        return _run_plain(args, on_bad, bad_rows, started, err)
    try:
        msgs = read_messages(args.file, on_bad)
        book = None if args.orderbook is None else read_orderbook(args.orderbook, levels, on_bad)
        if book is not None:
            _check_rows_agree(msgs, book)
    except LobsterFileError as exc:
        print(exc, file=err)
        return 2
    except OSError as exc:
        print(f"{exc.filename}: cannot read: {exc.strerror}", file=err)
        return 2

    symbol = symbol_of(args.file)
    record = args.trades_out is not None or args.events_out is not None
    replay = LobsterReplay(symbol, levels, record_events=record, seeded=book is not None)
    files: list[IO[str] | IO[bytes]] = []
    try:
        book_out = _open_text(args.book_out, files)
        trades = TradeFile(t, symbol) if (t := _open_text(args.trades_out, files)) else None
        events = None
        if args.events_out is not None:
            events_stream = open(args.events_out, "wb")  # noqa: SIM115 (closed below)
            files.append(events_stream)
            events = EventLinesWriter(events_stream)
    except OSError as exc:
        for f in files:
            f.close()
        print(f"{exc.filename}: cannot write: {exc.strerror}", file=err)
        return 2

    try:
        _replay(replay, msgs, book, args, book_out, trades, events, clock, sleep, err)
    finally:
        for f in files:
            f.close()
    elapsed = time.perf_counter() - started
    _summary(replay.counts, replay.levels, msgs.name, len(msgs), book, args, len(bad_rows),
             elapsed, err)  # fmt: skip
    return _status(bad_rows)


def _status(bad_rows: list[LobsterFileError]) -> int:
    """0, or 1 where ``--skip-bad`` left rows out (the CSV replay's EXIT_ROWS_SKIPPED)."""
    return 1 if bad_rows else 0


def _is_plain(args: argparse.Namespace) -> bool:
    """A replay that needs no book after each message: records through the kernel."""
    return (
        args.orderbook is None
        and args.book_out is None
        and args.trades_out is None
        and args.events_out is None
        and args.speed is None
    )


def _run_plain(
    args: argparse.Namespace,
    on_bad: Callable[[LobsterFileError], None] | None,
    bad_rows: list[LobsterFileError],
    started: float,
    err: TextIO,
) -> int:
    """run() for a plain replay: lobster_records, through the kernel in batches."""
    try:
        cols = read_message_columns(args.file, on_bad)
    except LobsterFileError as exc:
        print(exc, file=err)
        return 2
    except OSError as exc:
        print(f"{exc.filename}: cannot read: {exc.strerror}", file=err)
        return 2
    replay = PlainLobsterReplay(symbol_of(args.file), new_kernel())
    with ReplayProgress(len(cols), "messages", err) as bar:
        replay.run(cols, bar.update if bar.enabled else None)
        bar.finish()
    elapsed = time.perf_counter() - started
    _summary(replay.counts, 1, cols.name, len(cols), None, args, len(bad_rows), elapsed, err)
    return _status(bad_rows)


def _open_text(path: str | None, files: list[IO[str] | IO[bytes]]) -> TextIO | None:
    if path is None:
        return None
    stream = open(path, "w", newline="")  # noqa: SIM115 (closed by run)
    files.append(stream)
    return stream


def _check_rows_agree(msgs: Messages, book: OrderbookRows) -> None:
    """Row k of the orderbook must exist for message k, and the seed row be good."""
    if book.lines_in_file != msgs.lines_in_file:
        line = min(book.lines_in_file, msgs.lines_in_file) + 1
        raise LobsterFileError(
            book.name,
            line,
            f"{book.lines_in_file} rows, but {msgs.name} has {msgs.lines_in_file} "
            "(orderbook row k must be the book after message k)",
        )
    if len(msgs) and msgs.line[0] not in book.rows:
        raise LobsterFileError(
            book.name, msgs.line[0], "bad row where the book is seeded: cannot replay without it"
        )


def _replay(
    replay: LobsterReplay,
    msgs: Messages,
    book: OrderbookRows | None,
    args: argparse.Namespace,
    book_out: TextIO | None,
    trades: TradeFile | None,
    events: EventLinesWriter | None,
    clock: Callable[[], int],
    sleep: Callable[[float], None],
    err: TextIO,
) -> None:
    counts = replay.counts
    lines = msgs.line
    start = 0
    if book is not None and len(msgs):
        replay.reconcile(book.rows[lines[0]], msgs.ts_ns[0])
        counts.by_type[msgs.type[0]] += 1
        start = 1
        if book_out is not None:
            book_out.write(_format_row(replay.book_row()))
        if events is not None:
            events.write(replay.events)
        replay.events.clear()

    recorded_rows = book.rows if book is not None else None
    resync = bool(args.resync)
    above = 4 * (replay.levels - 1)
    mismatches = counts.mismatches
    book_row = replay.book_row
    recorded_events = replay.events
    stamps = msgs.ts_ns

    def per_row(i: int) -> None:
        row = book_row()
        if book_out is not None:
            book_out.write(_format_row(row))
        if recorded_events:
            if trades is not None:
                trades.visible([e for e in recorded_events if type(e) is Trade], stamps[i])
            if events is not None:
                events.write(recorded_events)
            recorded_events.clear()
        if recorded_rows is None:
            return
        recorded = recorded_rows.get(lines[i])
        if recorded is None:  # a bad orderbook row, skipped
            return
        counts.compared += 1
        if row == recorded:
            counts.matched += 1
            counts.matched_above += 1
            return
        if row[:above] == recorded[:above]:
            counts.matched_above += 1
        if len(mismatches) < MISMATCHES_SHOWN:
            mismatches.append(f"line {lines[i]}: {_describe(row, recorded)}")
        if resync:
            counts.resyncs += 1
            replay.reconcile(recorded, stamps[i])
            if events is not None:
                events.write(recorded_events)
            recorded_events.clear()

    needs_rows = (
        book is not None or book_out is not None or trades is not None or events is not None
    )
    pacer = Pacer(args.speed, clock, sleep) if args.speed is not None else None
    with ReplayProgress(len(msgs), "messages", err) as bar:
        bar.update(start)
        replay.run(
            msgs,
            start,
            per_row if needs_rows else None,
            (lambda i: trades.hidden(msgs, i)) if trades is not None else None,
            pacer,
            bar.update if bar.enabled else None,
        )
        bar.finish()


def _summary(
    c: Counts | PlainCounts,
    levels: int,
    name: str,
    n: int,
    book: OrderbookRows | None,
    args: argparse.Namespace,
    bad_rows: int,
    elapsed: float,
    err: TextIO,
) -> None:
    """The replays' shared summary (ringmatch.engine.replay.summary), with LOBSTER's
    message types and, verified against an orderbook file, how the book agreed."""
    names = ["", "new", "partial cancel", "delete", "execution", "hidden", "cross", "halt"]
    kinds = ", ".join(f"{c.by_type[k]:,} {names[k]}" for k in range(1, 8) if c.by_type[k])
    stopped = ""
    if bad_rows:
        noun = "row" if bad_rows == 1 else "rows"
        stopped = f"{bad_rows:,} bad {noun} skipped, left out of every output"
    summary = ReplaySummary(
        name,
        "lobster",
        "messages",
        read=n,
        bad=bad_rows,
        accepted=None,
        rejected=c.rejected,
        trades=c.trades,
        seconds=elapsed,
        stopped=stopped,
        details=[
            ("by type", kinds or "-"),
            ("orphans", f"{c.orphans:,} events on orders the file never submitted"),
            ("gone", f"{c.gone:,} events on submitted orders no longer resting"),
            ("short", f"{c.short:,} lots not found in the book"),
        ],
    )
    if book is not None and not isinstance(c, PlainCounts):
        summary.report = _verification(c, levels, book, args)
    print(summary.render(), file=err)


def _verification(
    c: Counts, levels: int, book: OrderbookRows, args: argparse.Namespace
) -> list[str]:
    """How the engine's book agreed with the recorded one, row by row."""

    def pct(k: int) -> str:
        return f"{k} ({100 * k / c.compared:.2f}%)" if c.compared else "0"

    lines = [
        f"verified against {book.name} (row 1 seeded the book):",
        f"  rows compared: {c.compared}",
        f"  top {levels} level(s) matched: {pct(c.matched)}",
    ]
    if levels > 1:
        lines.append(f"  top {levels - 1} level(s) matched: {pct(c.matched_above)}")
    if args.resync:
        lines.append(f"  resyncs: {c.resyncs}")
    if c.mismatches:
        lines.append(f"  first {len(c.mismatches)} mismatching rows:")
        lines += [f"    {line}" for line in c.mismatches]
    return lines
