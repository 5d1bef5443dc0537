"""What ``ringmatch feed`` shows: the books and the last trades, drawn with rich.

``FeedView`` is the state (the client's books, the last trades with the time each
was received) and turns it into a rich renderable: per symbol a depth ladder in
decimal prices (ticks times the symbol's ``tick_size``), the spread and the mid
(and, outside CONTINUOUS, the trading phase and a call phase's indicative uncross),
then the trade tape. ``Screen`` draws it through rich's ``Live`` display: on a
message when the last draw is at least ``interval`` old, and on a timer
(``tick``, called by the feed's redraw task) whenever something changed since
the last draw, so the last update of a burst is on screen within one interval
even when no further message comes. The clock is injected, so tests drive it.
"""

from __future__ import annotations

import io
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from rich import box
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from ringmatch.gateway.feed.client import SubscriberBook
from ringmatch.gateway.feed.protocol import TradePrint

TRADES_SHOWN = 10
REFRESH_S = 0.15
"""The timer's interval: the screen is never more than this behind the feed."""
ONE_TICK = Decimal(1)


def places(tick: Decimal) -> int:
    """The decimals a price at ``tick`` needs: 2 for 0.01, 1 for 0.50, 0 for 5."""
    exponent = tick.normalize().as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def price_text(ticks: int | None, tick: Decimal) -> str:
    """``ticks`` in the symbol's decimals: 10092 at tick 0.01 is ``100.92``."""
    if ticks is None:
        return "-"
    return f"{ticks * tick:.{places(tick)}f}"


def mid_text(bid: int, ask: int, tick: Decimal) -> str:
    """The mid of ``bid`` and ``ask`` (ticks): one more decimal than the tick where
    the two are an odd number of ticks apart."""
    return f"{(bid + ask) * tick / 2:.{places(tick) + (bid + ask) % 2}f}"


@dataclass(frozen=True, slots=True)
class SeenTrade:
    """A trade print and the wall-clock time this subscriber received it (the
    feed's trade message carries no time of its own)."""

    trade: TradePrint
    received: float


class FeedView:
    """The books and the last trades, as rich renderables."""

    def __init__(
        self,
        books: Mapping[str, SubscriberBook],
        tick_sizes: Mapping[str, Decimal] | None = None,
        default_tick: Decimal = ONE_TICK,
        trades_shown: int = TRADES_SHOWN,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.books = books
        self.tick_sizes = dict(tick_sizes or {})
        self.default_tick = default_tick
        self.trades: deque[SeenTrade] = deque(maxlen=trades_shown)
        self._wall_clock = wall_clock

    def tick(self, symbol: str) -> Decimal:
        return self.tick_sizes.get(symbol, self.default_tick)

    def on_trade(self, trade: TradePrint) -> None:
        self.trades.appendleft(SeenTrade(trade, self._wall_clock()))

    def render(self) -> RenderableType:
        parts: list[RenderableType] = [self._book(s, b) for s, b in self.books.items()]
        parts.append(self._tape())
        return Group(*parts)

    def _book(self, symbol: str, book: SubscriberBook) -> RenderableType:
        tick = self.tick(symbol)
        bids, asks = book.depth()
        state = "stale, waiting for a snapshot" if book.stale else f"seq {book.seq}"
        head = Text.assemble(
            (symbol, "bold"), f"  last {price_text(book.last_price, tick)}  ({state})"
        )
        if bids and asks:
            bid, ask = bids[0][0], asks[0][0]
            if ask < bid:  # a call phase's book: nothing matches until the uncross
                head.append(f"  crossed  mid {mid_text(bid, ask, tick)}")
            else:
                head.append(
                    f"  spread {price_text(ask - bid, tick)}  mid {mid_text(bid, ask, tick)}"
                )
        else:
            head.append("  spread -  mid -")
        if tick == ONE_TICK and symbol not in self.tick_sizes:
            head.append("  (prices in ticks)", "dim")
        if book.phase != "CONTINUOUS":  # the venue's sessions: said only when not trading
            head.append(f"\n{book.phase}", "bold yellow")
            if book.indicative is not None:
                price, volume, side, imbalance = book.indicative
                head.append(f"  indicative {price_text(price, tick)} for {volume}")
                head.append(f", imbalance {imbalance} {side}" if side else ", no imbalance")
        table = Table(box=box.SIMPLE_HEAD, padding=(0, 1), show_edge=False)
        table.add_column("bid qty", justify="right")
        table.add_column("bid", justify="right", style="green")
        table.add_column("ask", justify="left", style="red")
        table.add_column("ask qty", justify="left")
        for i in range(max(len(bids), len(asks))):
            b = bids[i] if i < len(bids) else None
            a = asks[i] if i < len(asks) else None
            table.add_row(
                str(b[1]) if b else "",
                price_text(b[0], tick) if b else "",
                price_text(a[0], tick) if a else "",
                str(a[1]) if a else "",
            )
        return Group(head, table)

    def _tape(self) -> RenderableType:
        table = Table(title="last trades", title_justify="left", box=box.SIMPLE_HEAD)
        for name, justify in (
            ("time", "left"),
            ("symbol", "left"),
            ("qty", "right"),
            ("price", "right"),
            ("taker", "left"),
        ):
            table.add_column(name, justify=justify)  # type: ignore[arg-type]
        for seen in self.trades:
            t = seen.trade
            stamp = datetime.fromtimestamp(seen.received).strftime("%H:%M:%S.%f")[:-3]
            table.add_row(stamp, t.symbol, str(t.qty), price_text(t.price, self.tick(t.symbol)),
                          t.taker_side)  # fmt: skip
        return table


def snapshot_text(view: FeedView, width: int = 100) -> str:
    """The view as plain text, as ``--once`` prints it."""
    console = Console(width=width, record=True, file=io.StringIO(), color_system=None)
    console.print(view.render())
    return "".join(line.rstrip() + "\n" for line in console.export_text().splitlines())


class Screen:
    """The view on a rich ``Live`` display, redrawn on messages and on a timer."""

    def __init__(
        self,
        view: FeedView,
        live: Live,
        interval: float = REFRESH_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.view = view
        self.live = live
        self.interval = interval
        self._clock = clock
        self._drawn_at: float | None = None
        self.dirty = True
        self.draws = 0

    def changed(self) -> None:
        """A message was applied: draw now if the last draw is an interval old."""
        self.dirty = True
        if self._drawn_at is None or self._clock() - self._drawn_at >= self.interval:
            self.draw()

    def tick(self) -> None:
        """The timer: draw whatever changed since the last draw."""
        if self.dirty:
            self.draw()

    def draw(self) -> None:
        self.live.update(self.view.render(), refresh=True)
        self._drawn_at = self._clock()
        self.dirty = False
        self.draws += 1
