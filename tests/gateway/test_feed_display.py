"""``ringmatch feed``'s view: decimal prices, spread, mid, trades with times, and a
screen that draws the end of a burst without waiting for another message."""

from __future__ import annotations

import asyncio
import io
import re
from decimal import Decimal

from rich.console import Console
from rich.live import Live

from ringmatch.gateway.feed.cli import _redraw_every
from ringmatch.gateway.feed.client import SubscriberBook
from ringmatch.gateway.feed.display import (
    FeedView,
    Screen,
    mid_text,
    price_text,
    snapshot_text,
)
from ringmatch.gateway.feed.protocol import Levels, Phase, Snapshot, TradePrint

CENT = Decimal("0.01")


def book_of(bids: list[tuple[int, int]], asks: list[tuple[int, int]]) -> SubscriberBook:
    book = SubscriberBook("ACME", 5)
    book.on_message(Snapshot("ACME", 11, 5, bids, asks, None))
    return book


def test_prices_are_decimals_of_the_tick() -> None:
    assert price_text(10092, CENT) == "100.92"
    assert price_text(7, Decimal("0.50")) == "3.5"
    assert price_text(7, Decimal("5")) == "35"
    assert price_text(None, CENT) == "-"
    assert mid_text(10050, 10092, CENT) == "100.71"
    assert mid_text(10050, 10091, CENT) == "100.705"  # an odd number of ticks apart


def test_the_view_shows_the_ladder_spread_mid_and_timed_trades() -> None:
    book = book_of([(10050, 5), (10040, 1)], [(10092, 60)])
    view = FeedView({"ACME": book}, {"ACME": CENT}, wall_clock=lambda: 1_700_000_000.25)
    view.on_trade(TradePrint("ACME", 12, 1, 10092, 5, "BUY"))
    text = snapshot_text(view)
    assert "ACME  last -  (seq 11)  spread 0.42  mid 100.71" in text
    assert re.search(r"\b5\s+100\.50\s+100\.92\s+60\b", text), text
    assert re.search(r"\b1\s+100\.40\b", text), text
    assert re.search(r"\d\d:\d\d:\d\d\.250\s+ACME\s+5\s+100\.92\s+BUY", text), text


def test_a_call_phase_shows_its_phase_and_its_indicative_uncross() -> None:
    book = SubscriberBook("ACME", 5)
    book.on_message(
        Snapshot("ACME", 11, 5, [(10100, 5)], [(10050, 3)], None, "CLOSING_AUCTION",
                 (10075, 3, "BUY", 2))
    )  # fmt: skip
    text = snapshot_text(FeedView({"ACME": book}, {"ACME": CENT}))
    assert "CLOSING_AUCTION  indicative 100.75 for 3, imbalance 2 BUY" in text, text
    assert "crossed  mid 100.75" in text, text
    assert book.on_message(Phase("ACME", 12, "CLOSED", "CLOSING_AUCTION")) is None
    text = snapshot_text(FeedView({"ACME": book}, {"ACME": CENT}))
    assert "CLOSED" in text and "indicative" not in text, text
    continuous = snapshot_text(FeedView({"ACME": book_of([(99, 1)], [(101, 1)])}))
    assert "CONTINUOUS" not in continuous and "indicative" not in continuous


def test_without_a_tick_size_prices_are_ticks_and_say_so() -> None:
    text = snapshot_text(FeedView({"ACME": book_of([(99, 1)], [(101, 1)])}))
    assert "spread 2  mid 100" in text and "(prices in ticks)" in text


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def screen_of(book: SubscriberBook, clock: FakeClock) -> tuple[Screen, io.StringIO]:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=100, color_system=None)
    live = Live(console=console, auto_refresh=False)  # only the screen draws: no thread
    live.start()
    view = FeedView({"ACME": book}, {"ACME": CENT})
    return Screen(view, live, interval=0.15, clock=clock), out


def test_the_last_update_of_a_burst_is_drawn_by_the_timer() -> None:
    clock = FakeClock()
    book = book_of([(10050, 5)], [(10092, 60)])
    screen, out = screen_of(book, clock)
    screen.changed()  # the snapshot: drawn at once
    assert "100.92" in out.getvalue() and screen.draws == 1
    # A burst within one interval: the best ask moves twice, the screen is not redrawn.
    for seq, gone, ask in ((12, 10092, 10093), (13, 10093, 10095)):
        clock.now += 0.01
        book.on_message(Levels("ACME", seq, [], [(gone, 0), (ask, 9)]))
        screen.changed()
    assert screen.draws == 1 and "100.95" not in out.getvalue()
    # No further message comes: the timer draws the burst's last state.
    clock.now += 0.15
    screen.tick()
    assert screen.draws == 2
    assert "100.95" in out.getvalue().rsplit("ACME", 1)[1]  # the latest frame's ask
    screen.tick()  # nothing changed since: nothing drawn
    assert screen.draws == 2
    screen.live.stop()


def test_the_feed_timer_redraws_without_a_message() -> None:
    async def go() -> None:
        clock = FakeClock()
        book = book_of([(10050, 5)], [(10092, 60)])
        screen, out = screen_of(book, clock)
        screen.changed()
        book.on_message(Levels("ACME", 12, [], [(10092, 0), (10095, 9)]))
        screen.changed()  # within the interval: not drawn by the message
        assert screen.draws == 1
        drawn = asyncio.Event()
        draw = screen.draw

        def draw_and_say() -> None:
            draw()
            drawn.set()

        screen.draw = draw_and_say  # type: ignore[method-assign]
        timer = asyncio.create_task(_redraw_every(screen, 0.01))
        try:
            await asyncio.wait_for(drawn.wait(), 10)
        finally:
            timer.cancel()
            screen.live.stop()
        assert "100.95" in out.getvalue().rsplit("ACME", 1)[1]

    asyncio.run(go())
