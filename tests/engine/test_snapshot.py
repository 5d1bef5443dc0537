"""Snapshot, restore, same state: the restored engine is indistinguishable from the original."""

from __future__ import annotations

import random
import warnings
from pathlib import Path

import msgspec
import pytest
from hypothesis import given, settings

from ringmatch.engine.book.matching import MatchingEngine
from ringmatch.engine.core import snapshot
from ringmatch.engine.core.recovery import recover
from ringmatch.engine.core.reference_kernel import ReferenceKernel
from ringmatch.engine.journal.log import JournalWriter
from ringmatch.engine.records.inputs import seqs_of
from ringmatch.engine.schema.commands import NewOrder
from ringmatch.engine.schema.enums import OrderType, Side, TradingPhase
from tests.engine.live_kernel import LiveKernel
from tests.engine.strategies import command_streams, journalable, random_stream
from tests.engine.venue_strategies import REFERENCE_PRICES, venue_streams


def state(engine: MatchingEngine) -> bytes:
    """Everything observable about an engine's books, as bytes to compare."""
    return msgspec.msgpack.encode(
        [(s, engine.l3(s), engine.depth(s, 100)) for s in engine.symbols()]
    )


@settings(max_examples=150, deadline=None)
@given(command_streams(), command_streams())
def test_restored_engine_behaves_like_the_original(before, after) -> None:
    original = MatchingEngine()
    original.process_batch(before)
    restored = snapshot.restore(
        msgspec.msgpack.decode(
            msgspec.msgpack.encode(snapshot.take(original)), type=snapshot.EngineSnapshot
        )
    )
    assert state(restored) == state(original)
    assert restored.last_seq == original.last_seq
    # Same future: ids used, trade ids and queue order all carried over.
    assert original.process_batch(after) == restored.process_batch(after)
    assert state(restored) == state(original)


def test_recovery_starts_from_the_newest_snapshot_and_replays_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(7)
    cmds = journalable(random_stream(rng, 3000))
    # The live core's side: records through a reference kernel, a snapshot at 1600.
    live = LiveKernel()
    writer = JournalWriter(tmp_path)
    for i in range(0, len(cmds), 100):
        batch = [(live.last_seq + 1 + j, c) for j, c in enumerate(cmds[i : i + 100])]
        writer.append_batch(batch)
        live.batch(batch)
        if i == 1500:
            live.snapshot(tmp_path)
    writer.close()
    replayed: list[int] = []
    real_process_into = ReferenceKernel.process_into

    def counting(self, inputs, events):  # type: ignore[no-untyped-def]
        replayed.extend(seqs_of(inputs).tolist())
        return real_process_into(self, inputs, events)

    monkeypatch.setattr(ReferenceKernel, "process_into", counting)
    recovered, last_seq = recover(tmp_path)
    assert last_seq == live.last_seq == len(cmds)
    assert state(recovered) == state(live.logic.engine)
    # Only the journal after the snapshot (taken at seq 1600) was replayed.
    assert replayed == list(range(1601, len(cmds) + 1))


def test_a_damaged_snapshot_is_skipped_for_an_older_one(tmp_path: Path) -> None:
    eng = MatchingEngine()
    eng.process(NewOrder(1, "a", "X", Side.BUY, OrderType.LIMIT, 100, 5))
    snapshot.write(tmp_path, eng)
    eng.process(NewOrder(2, "a", "X", Side.BUY, OrderType.LIMIT, 101, 5))
    newest = snapshot.write(tmp_path, eng)
    data = bytearray(newest.read_bytes())
    data[-1] ^= 0xFF
    newest.write_bytes(bytes(data))
    with pytest.warns(snapshot.SnapshotDamaged, match="checksum mismatch"):
        loaded = snapshot.load_latest(tmp_path)
    assert loaded is not None and loaded.last_seq == 1
    with pytest.raises(ValueError, match=str(newest.name)):
        snapshot.read(newest)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert snapshot.load_latest(tmp_path / "nothing-here") is None


def venue_state(engine: MatchingEngine) -> bytes:
    """``state`` and the venue's views: held and waiting orders, phases, indicatives, time."""
    return msgspec.msgpack.encode(
        [
            (s, engine.l3(s), engine.held(s), engine.phase(s), engine.indicative(s))
            for s in engine.symbols()
        ]
        + [engine.now]
    )


@settings(max_examples=100, deadline=None)
@given(venue_streams(), venue_streams())
def test_a_restored_venue_engine_behaves_like_the_original(before, after) -> None:
    """Held stops, icebergs, DAY and GTD orders, phases and the time carry over."""
    original = MatchingEngine(REFERENCE_PRICES)
    original.process_batch(before)
    restored = snapshot.restore(
        msgspec.msgpack.decode(
            msgspec.msgpack.encode(snapshot.take(original)), type=snapshot.EngineSnapshot
        )
    )
    assert venue_state(restored) == venue_state(original)
    assert original.process_batch(after) == restored.process_batch(after)
    assert venue_state(restored) == venue_state(original)


def test_a_dump_from_before_the_venue_fields_still_decodes() -> None:
    """The venue's fields are trailing: an older dump reads as a CONTINUOUS, timeless book."""
    eng = MatchingEngine()
    eng.process(NewOrder(1, "a", "S", Side.BUY, OrderType.LIMIT, 100, 5))
    snap = snapshot.take(eng)
    old = msgspec.msgpack.encode(snap)
    # An EngineSnapshot of the version before: its first eleven fields, books of three.
    body = msgspec.msgpack.decode(old)
    body = body[:11]
    body[4] = [[b[0], [o[:3] for o in b[1]], [o[:3] for o in b[2]]] for b in body[4]]
    restored = snapshot.restore(
        msgspec.msgpack.decode(msgspec.msgpack.encode(body), type=snapshot.EngineSnapshot)
    )
    assert restored.l3("S") == eng.l3("S")
    assert restored.now == 0 and restored.phase("S") is TradingPhase.CONTINUOUS
