"""The stage chain's state at one sequence number: the reference kernel's dump, and
the snapshot files of the version before records.

``take`` / ``restore`` (an ``EngineSnapshot``: engine, client-id registry,
sessions, the pre-trade stage's spec and state) are what the reference
kernel's ``dump()`` holds (ringmatch.engine.core.reference_kernel); the core's
snapshot files are now ringmatch.engine.core.kernel_snapshot's (RMS3). The
files below (RMS1) are what the version before records wrote; recovery passes
them over (their names have no ids), and ``write`` / ``load_latest`` remain
for the engine's own round-trip tests.

Recovery loaded the newest valid snapshot and replayed only the journal after
it. A snapshot file is written to a temporary name, synced, then renamed into
place (and the directory synced), so a crash leaves either the old set of
snapshots or the new one, never a half file under a real name. Each file
carries a checksum; a damaged one is reported and skipped in favour of an
older one (or of the journal from the start).

File layout: ``snapshot-<seq, 20 digits>.rms`` holding a 16-byte header
(magic ``RMS1``, crc32 of the body, body length as 8 bytes) then the msgpack
body of an ``EngineSnapshot``.

Version 2 adds the core's own state at the same seq: the client order id
registry (ringmatch.engine.core.client_ids) and the pre-trade stage's opaque state, if it
has any (ringmatch.engine.core.stage_chain.StatefulStage); and the order in which the resting
orders entered the book (a MassCancel cancels in that order, which the books'
price-time queues alone do not give). A version 1 file lacks them and is
refused (skipped with a warning): recovery then replays the journal from
further back, which is slower but right.

Also in version 2, as trailing fields a file written before them lacks (and
then reads as empty, which is what the core held then): the live sessions per
account and the accounts armed for cancel-on-disconnect (ringmatch.engine.core.sessions);
and the spec of the pre-trade stage the journal had named by that seq
(ringmatch.engine.schema.commands.StageChain; None: none), whose state ``pretrade`` is. A file
without it but with stage state was written before snapshots named their
stage: ringmatch.engine.core.recovery refuses it (replaying the journal from further
back), since the journal before it names no stage.
"""

from __future__ import annotations

import os
import struct
import warnings
import zlib
from collections.abc import Iterable
from pathlib import Path

import msgspec

from ringmatch.engine.book.book import OrderBook, RestingOrder
from ringmatch.engine.book.matching import MatchingEngine
from ringmatch.engine.core.client_ids import ClientIds
from ringmatch.engine.core.sessions import SessionTable
from ringmatch.engine.schema.commands import NewOrder
from ringmatch.engine.schema.enums import Side, TradingPhase

MAGIC = b"RMS1"
HEADER = struct.Struct("<4sIQ")
VERSION = 2


class SnapshotOrder(msgspec.Struct, array_like=True, gc=False):
    origin: NewOrder
    price: int
    qty: int
    # The venue's (VENUE_RULES.md), trailing so that a dump from before them decodes.
    hidden: int = 0  # an iceberg's quantity behind its slice
    trigger: int = 0  # a held stop's trigger price
    new_seq: int = 0  # the seq of its NEW, for DAY and GTD orders and those of a phase


class BookSnapshot(msgspec.Struct, array_like=True):
    symbol: str
    bids: list[SnapshotOrder]  # best first, queue order within a price
    asks: list[SnapshotOrder]
    phase: TradingPhase = TradingPhase.CONTINUOUS
    last_price: int | None = None
    stops: list[SnapshotOrder] = []  # held stops, in release order
    waiting: list[SnapshotOrder] = []  # market orders waiting in a call phase, seq order
    day_orders: list[int] = []  # live DAY orders' ids, in seq order of their NEW
    indicative: tuple[int | None, int, Side | None, int] | None = None  # last published


class EngineSnapshot(msgspec.Struct, array_like=True):
    version: int
    last_seq: int
    trade_id: int
    used_ids: list[int]
    books: list[BookSnapshot]
    client_ids: list[tuple[str, int, int]] = []  # (account, client order id, order id)
    pretrade: bytes | None = None  # the pre-trade stage's own state, if it keeps one
    entry_order: list[int] = []  # resting order ids, oldest entry into the book first
    sessions: list[tuple[str, int, int]] = []  # live (account, worker, session)
    armed: list[str] = []  # accounts whose last session's end cancels their orders
    stage_chain: str | None = None  # the pre-trade stage's spec, as the journal named it
    # The venue's: the time (V-TIME-1), the GTD orders by (expire_ts, new_seq, id), and
    # the configured reference prices of the auctions (V-AUC-2).
    now: int = 0
    expiries: list[tuple[int, int, int]] = []
    references: dict[str, int] = {}


class SnapshotDamaged(UserWarning):
    """A snapshot file failed its checks and was skipped."""


def take(
    engine: MatchingEngine,
    client_ids: ClientIds | None = None,
    pretrade: bytes | None = None,
    sessions: SessionTable | None = None,
    stage_chain: str | None = None,
) -> EngineSnapshot:
    """Capture ``engine``'s state (books in priority order, ids used, counters),
    and the core's registry, pre-trade stage (spec and state) and session table
    at the same seq."""
    books = []
    for symbol in engine.symbols():
        book = engine._books[symbol]
        books.append(
            BookSnapshot(
                symbol,
                _side(book.bids.orders()),
                _side(book.asks.orders()),
                book.phase,
                book.last_price,
                _side(book.stops.values()),
                _side(book.waiting.values()),
                list(book.day_orders),
                book.indicative,
            )
        )
    ids = [] if client_ids is None else list(client_ids.entries())
    return EngineSnapshot(
        VERSION,
        engine.last_seq,
        engine._trade_id,
        sorted(engine._used_ids),
        books,
        ids,
        pretrade,
        list(engine._orders),  # a MassCancel cancels in this order
        [] if sessions is None else sessions.entries(),
        [] if sessions is None else sessions.armed(),
        stage_chain,
        engine._now,
        sorted(engine._expiries),
        dict(engine._references),
    )


def _side(orders: Iterable[RestingOrder]) -> list[SnapshotOrder]:
    return [SnapshotOrder(o.origin, o.price, o.qty, o.hidden, o.trigger, o.new_seq) for o in orders]


def restore(snap: EngineSnapshot) -> MatchingEngine:
    """A new engine in exactly the captured state."""
    if snap.version != VERSION:
        raise ValueError(f"snapshot version {snap.version} is not {VERSION}")
    engine = MatchingEngine(snap.references)
    engine.last_seq = snap.last_seq
    engine._trade_id = snap.trade_id
    engine._used_ids = set(snap.used_ids)
    engine._now = snap.now
    engine._expiries = list(snap.expiries)  # sorted: a valid heap
    orders = engine._orders
    for b in snap.books:
        book = engine._books[b.symbol] = OrderBook(b.symbol)
        book.phase = b.phase
        book.last_price = b.last_price
        book.indicative = b.indicative
        for side, saved in ((book.bids, b.bids), (book.asks, b.asks)):
            # Saved best first: re-adding in that order rebuilds every queue.
            for s in saved:
                side.add(orders.setdefault(s.origin.order_id, _order(s)))
        for off_book, saved in ((book.stops, b.stops), (book.waiting, b.waiting)):
            for s in saved:
                off_book[s.origin.order_id] = orders.setdefault(s.origin.order_id, _order(s))
        try:
            book.day_orders = {oid: orders[oid] for oid in b.day_orders}
        except KeyError as e:
            raise ValueError(f"snapshot's DAY orders name order {e} that is not live") from None
    if sorted(snap.entry_order) != sorted(orders):
        raise ValueError("snapshot's entry order does not list exactly its live orders")
    engine._orders = {oid: orders[oid] for oid in snap.entry_order}
    return engine


def _order(s: SnapshotOrder) -> RestingOrder:
    return RestingOrder(s.qty, s.price, s.origin.account, s.origin, s.hidden, s.trigger, s.new_seq)


def snapshot_path(data_dir: str | os.PathLike[str], seq: int) -> Path:
    return Path(data_dir) / f"snapshot-{seq:020d}.rms"


def write(
    data_dir: str | os.PathLike[str],
    engine: MatchingEngine,
    client_ids: ClientIds | None = None,
    pretrade: bytes | None = None,
    sessions: SessionTable | None = None,
    stage_chain: str | None = None,
) -> Path:
    """Write a snapshot of ``engine`` (and the core's state, see ``take``) durably."""
    body = msgspec.msgpack.encode(take(engine, client_ids, pretrade, sessions, stage_chain))
    path = snapshot_path(data_dir, engine.last_seq)
    tmp = path.with_suffix(".tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(HEADER.pack(MAGIC, zlib.crc32(body), len(body)))
            f.write(body)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a full disk: leave no half file taking up room
        raise
    dir_fd = os.open(data_dir, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return path


_decoder = msgspec.msgpack.Decoder(EngineSnapshot)


def read(path: str | os.PathLike[str]) -> EngineSnapshot:
    """Decode one snapshot file; ValueError naming the file if it is damaged."""
    data = Path(path).read_bytes()
    if len(data) < HEADER.size:
        raise ValueError(f"{path}: shorter than a snapshot header ({len(data)} bytes)")
    magic, crc, length = HEADER.unpack_from(data)
    body = data[HEADER.size :]
    if magic != MAGIC:
        raise ValueError(f"{path}: not a snapshot (magic {magic!r})")
    if length != len(body):
        raise ValueError(f"{path}: body is {len(body)} bytes, header says {length}")
    if zlib.crc32(body) != crc:
        raise ValueError(f"{path}: checksum mismatch")
    try:
        return _decoder.decode(body)
    except msgspec.DecodeError as e:
        raise ValueError(f"{path}: undecodable snapshot: {e}") from e


def load_latest(data_dir: str | os.PathLike[str]) -> MatchingEngine | None:
    """The engine of the newest valid snapshot, or None if there is none."""
    found = load_latest_snapshot(data_dir)
    return None if found is None else found[1]


def load_latest_snapshot(
    data_dir: str | os.PathLike[str],
) -> tuple[EngineSnapshot, MatchingEngine] | None:
    """The newest valid snapshot and its restored engine, or None if there is none."""
    for path in sorted(Path(data_dir).glob("snapshot-*.rms"), reverse=True):
        try:
            snap = read(path)
            if snap.version != VERSION:
                raise ValueError(f"{path}: snapshot version {snap.version}, this reads {VERSION}")
            return snap, restore(snap)
        except ValueError as e:
            warnings.warn(SnapshotDamaged(f"{e}; trying an older one"), stacklevel=3)
    return None
