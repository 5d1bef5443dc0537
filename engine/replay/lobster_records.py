"""The plain LOBSTER replay at kernel speed: messages -> columns -> input records -> kernel.

The message file is parsed into columns in one compiled pass (``_lobster_parse``;
where the file is not plain, lobster.read_messages reads it as before, naming
every bad row). The compiled MessageTranslator turns the columns into input
records, a batch at a time, with the rules of lobster_replay.LobsterReplay.run
for an unseeded replay; the records go to the kernel through one reused event
buffer. Where the extension was not built, lobster_replay runs LobsterReplay.

The one message that needs the book is a partial cancel (type 2): it becomes a
REPLACE to the order's remaining size less the cancelled one, so the replay
must know what the order has left. The records before it run first, then the
kernel's l3 view gives the order (what the Kernel protocol offers today; an
``order(order_id)`` look-up, or a REDUCE input that cancels a number of lots,
would make it O(1)). The AMZN day has 16 of them in 57,515 messages.

What is replayed here is what LobsterReplay does without an orderbook file and
without outputs; the verified replay (--orderbook), --book-out, --trades-out,
--events-out and --speed need the book after every message and stay with
LobsterReplay.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from ringmatch.engine.kernel.api import Kernel
from ringmatch.engine.records import layout as L
from ringmatch.engine.records.names import Directory
from ringmatch.engine.replay.kernel_feed import KernelFeed
from ringmatch.engine.replay.lobster import (
    SYNTHETIC_ID_BASE,
    OnBadRow,
    message_problems,
    read_messages,
)

if TYPE_CHECKING:
    from ringmatch.engine.replay._lobster_parse import MessageTranslator

IntArray = npt.NDArray[np.int64]

REAL_ACCOUNT_ID = 1  # "lobster": the one account a plain replay defines
SYMBOL_ID = 1


@dataclass(frozen=True, slots=True)
class MessageColumns:
    """The good rows of a message file as numpy columns; ``line[i]`` is row i's line."""

    name: str
    line: IntArray
    ts_ns: IntArray
    type: IntArray
    order_id: IntArray
    size: IntArray
    price: IntArray
    direction: IntArray
    lines_in_file: int

    def __len__(self) -> int:
        return len(self.line)


def read_message_columns(path: str | Path, on_bad: OnBadRow | None = None) -> MessageColumns:
    """read_messages' rows as columns: compiled where the file is plain and good."""
    name = str(path)
    data = Path(path).read_bytes()
    fast = _compiled_columns(name, data)
    if fast is not None:
        return fast
    msgs = read_messages(path, on_bad)  # every bad row named (or skipped) as before
    return MessageColumns(
        msgs.name,
        np.array(msgs.line, np.int64),
        np.array(msgs.ts_ns, np.int64),
        np.array(msgs.type, np.int64),
        np.array(msgs.order_id, np.int64),
        np.array(msgs.size, np.int64),
        np.array(msgs.price, np.int64),
        np.array(msgs.direction, np.int64),
        msgs.lines_in_file,
    )


def _compiled_columns(name: str, data: bytes) -> MessageColumns | None:
    try:
        from ringmatch.engine.replay._lobster_parse import parse_messages
    except ImportError:
        return None
    room = len(data) // 12 + 1  # a row is 12 bytes at least ("0,1,0,1,1,1\n")
    cols = [np.empty(room, np.int64) for _ in range(6)]
    lines = parse_messages(data, *cols)
    if lines < 0:
        return None
    ts_ns, kind, oid, size, price, direction = (col[:lines] for col in cols)
    time = ts_ns / 1e9  # only for the order check: exact to well under a nanosecond
    if message_problems(time, kind, oid, size, price, direction):
        return None
    return MessageColumns(
        name, np.arange(1, lines + 1), ts_ns, kind, oid, size, price, direction, lines
    )


def compiled_lobster_parser() -> bool:
    """True where the compiled LOBSTER message parser was built."""
    try:
        from ringmatch.engine.replay._lobster_parse import parse_messages  # noqa: F401
    except ImportError:
        return False
    return True


# -- messages -> records -> kernel --------------------------------------------------------


@dataclass(slots=True)
class PlainCounts:
    """What a plain replay counts (lobster_replay.Counts' fields that it fills)."""

    by_type: list[int]
    orphans: int = 0
    gone: int = 0
    short: int = 0
    rejected: int = 0
    trades: int = 0


BATCH = 1 << 16
"""Input records per batch for the kernel."""


class PlainLobsterReplay:
    """One symbol's unseeded replay through a kernel, without per-row outputs.

    The messages become records in the compiled ``MessageTranslator`` (the rules
    of LobsterReplay.run), a batch at a time; a partial cancel is handled here.
    """

    def __init__(self, symbol: str, kernel: Kernel) -> None:
        self.symbol = symbol
        self.feed = KernelFeed(kernel)
        self.counts = PlainCounts([0] * 8)

    def run(self, cols: MessageColumns, progress: Callable[[int], None] | None = None) -> None:
        from ringmatch.engine.replay._lobster_parse import MessageTranslator

        c = self.counts
        c.by_type = np.bincount(cols.type, minlength=8).tolist()[:8]
        self.feed.kernel.process(Directory([self.symbol], ["lobster"]).define_records())
        translator = MessageTranslator(REAL_ACCOUNT_ID, SYMBOL_ID, SYNTHETIC_ID_BASE)
        columns = (cols.ts_ns, cols.type, cols.order_id, cols.size, cols.price, cols.direction)
        out = np.zeros(BATCH, L.INPUT_DTYPE)
        view = out.view(np.uint8)
        kinds = cols.type
        i, n = 0, len(cols)
        while i < n:
            i, written = translator.translate(*columns, i, view)
            self._run(out[:written])
            if i < n and kinds[i] == 2:
                self._partial_cancel(cols, i, translator)
                i += 1
            if progress is not None:
                progress(i)
        c.orphans += translator.orphans
        c.short += translator.short

    def _run(self, records: np.ndarray) -> None:
        for events in self.feed.run(records):
            kinds = events["kind"]
            self.counts.rejected += int(np.count_nonzero(kinds == L.REJECTED))
            # two records a trade, the maker's and the taker's
            self.counts.trades += int(np.count_nonzero(kinds == L.TRADE)) // 2

    def _partial_cancel(self, cols: MessageColumns, i: int, translator: MessageTranslator) -> None:
        """Type 2: ``size`` of the order cancelled, keeping its place (LobsterReplay._reduce
        without synthetic liquidity to take a shortfall from)."""
        c = self.counts
        oid, size = int(cols.order_id[i]), int(cols.size[i])
        # The kernel's whole book for one order: what the Kernel protocol offers (l3).
        book = self.feed.kernel.l3(SYMBOL_ID)
        mine = book[book["order_id"] == oid]
        if not len(mine):
            if translator.was_submitted(oid):
                c.gone += 1
            else:
                c.orphans += 1
            c.short += size
            return
        left = int(mine["qty"][0]) - size
        record = np.zeros(1, L.INPUT_DTYPE)
        record["account"] = REAL_ACCOUNT_ID
        record["order_id"] = oid
        record["ts_ns"] = cols.ts_ns[i]
        record["seq"] = translator.next_seq
        translator.next_seq += 1
        if left > 0:
            record["kind"] = L.REPLACE
            record["price"] = mine["price"][0]
            record["qty"] = left
        else:
            record["kind"] = L.CANCEL
            c.short += -left
        self._run(record)
