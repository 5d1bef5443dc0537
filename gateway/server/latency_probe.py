"""The engine's own share of a round trip: gateway in to report out, per order.

    frame read (Session.data_received) ─▶ … worker ─▶ ring ─▶ core ─▶ ring ─▶ worker
                                           … ─▶ the order's first report written to the session

Off unless the worker's environment has ``RINGMATCH_LATENCY_PROBE=1``; when off
the worker holds ``probe = None`` and pays one ``is not None`` test per request
and per session of a batch of reports. When on, for every NewOrder the core
accepts for processing (not one the gateway rejects or throttles):

- in: the time its frame was read, which the session already keeps as
  ``last_received`` (``time.monotonic()``, set first thing in data_received; on
  Linux monotonic and perf_counter are the same CLOCK_MONOTONIC, so no second
  clock read is added to the input path);
- out: ``time.monotonic_ns()`` right before the worker writes a batch of reports
  to the session's transport, once per session per batch (before, so that the
  share stays inside the client's round trip: after the write the client may
  read its clock first); an order's sample is taken at its first report
  (ACCEPTED or REJECTED).

hdrh is pure Python (~4.5 us per ``record_value``, half of what the worker spends
on an order), so the hot path only appends the difference to an int64 array;
the HdrHistogram is built from it when the session ends (equal values counted
first, as ringmatch.benchmarks.harness.report.record_all does) and written, in the standard
HdrHistogram encoding (base64 of the compressed form), to

    DATA_DIR/latency-probe/ACCOUNT-FIRSTID.hdr

where FIRSTID is the client order id of the session's first probed order: the
client knows it, so a benchmark finds its own session's file (``read``).
"""

from __future__ import annotations

import os
import time
from array import array
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from hdrh.histogram import HdrHistogram  # type: ignore[import-untyped]

from ringmatch.engine.records import layout as L
from ringmatch.gateway.protocol.messages import NewOrder

if TYPE_CHECKING:
    from ringmatch.gateway.server.session import Session

ENV = "RINGMATCH_LATENCY_PROBE"
DIRECTORY = "latency-probe"
LOWEST_NS, HIGHEST_NS, SIGNIFICANT_DIGITS = (
    1,
    60 * 1_000_000_000,
    3,
)  # as ringmatch.benchmarks.harness.report


class _SessionShare:
    """One session's samples: the first probed client order id and the differences in ns."""

    __slots__ = ("account", "first_id", "samples")

    def __init__(self, account: str, first_id: int) -> None:
        self.account = account
        self.first_id = first_id
        self.samples = array("q")


class LatencyProbe:
    def __init__(self, out_dir: Path, clock_ns: Any = time.monotonic_ns) -> None:
        self.out_dir = out_dir
        self._clock_ns = clock_ns
        self._shares: dict[Session, _SessionShare] = {}
        # (account, client order id) -> (frame read at, ns; the ordering session's share)
        self._pending: dict[tuple[str, int], tuple[int, _SessionShare]] = {}

    @classmethod
    def from_env(cls, data_dir: str) -> LatencyProbe | None:
        """A probe writing under ``data_dir`` if RINGMATCH_LATENCY_PROBE=1, else None."""
        value = os.environ.get(ENV, "")
        if value in ("", "0"):
            return None
        if value != "1":
            raise ValueError(f"{ENV} must be 1 (on) or 0 (off), got {value!r}")
        return cls(Path(data_dir) / DIRECTORY)

    def received(self, session: Session, request: Any) -> None:
        """A request of ``session`` went to the core; probe it if it is a NewOrder."""
        if type(request) is NewOrder:
            self._expect(session, [request.client_order_id])

    def received_records(self, session: Session, records: np.ndarray) -> None:
        """``records`` (INPUT_DTYPE) of ``session`` went to the core: probe its NEW ones."""
        cids = records["client_order_id"][records["kind"] == L.NEW].tolist()
        if cids:
            self._expect(session, cids)

    def _expect(self, session: Session, cids: list[int]) -> None:
        """Orders ``cids`` of ``session``, read with its last frame, await their first report."""
        account = session.account
        assert account is not None
        share = self._shares.get(session)
        if share is None:
            share = self._shares[session] = _SessionShare(account, cids[0])
        # last_received is monotonic() seconds as a double: exact to ~1 ns for years of uptime.
        received_ns = round(session.last_received * 1e9)
        pending = self._pending
        for cid in cids:
            pending[account, cid] = (received_ns, share)

    def writing_events(self, session: Session, events: np.ndarray) -> None:
        """Reports of ``events`` (EVENT_DTYPE) are being written to ``session``: those of
        its account are; a probed order's first is a sample."""
        pending = self._pending
        if not pending or session.transport is None:
            return
        now = self._clock_ns()
        account = session.account
        mine = events["client_order_id"][events["account"] == session.account_id]
        for cid in mine.tolist():
            probed = pending.pop((account, cid), None)  # type: ignore[arg-type]
            if probed is not None:
                probed[1].samples.append(now - probed[0])

    def closed(self, session: Session) -> Path | None:
        """``session`` ended: write its histogram (if it sent probed orders); the file."""
        share = self._shares.pop(session, None)
        if share is None:
            return None
        # Orders still unanswered will never be written to this session.
        for key in [k for k, (_, s) in self._pending.items() if s is share]:
            del self._pending[key]
        hist = histogram(share.samples)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        path = self.out_dir / file_name(share.account, share.first_id)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(hist.encode())
        os.replace(tmp, path)  # a reader never sees half a file
        return path


def histogram(samples_ns: Any) -> HdrHistogram:
    """An HdrHistogram (1 ns .. 60 s, 3 digits) of ``samples_ns``, each clamped into range."""
    hist = HdrHistogram(LOWEST_NS, HIGHEST_NS, SIGNIFICANT_DIGITS)
    counts: dict[int, int] = {}
    get = counts.get
    for v in samples_ns:
        counts[v] = get(v, 0) + 1
    for v, n in counts.items():
        hist.record_value(min(max(v, LOWEST_NS), HIGHEST_NS), n)
    return hist


def file_name(account: str, first_id: int) -> str:
    return f"{account}-{first_id}.hdr"


def read(probe_dir: Path, account: str, first_id: int, timeout_s: float = 10.0) -> HdrHistogram:
    """The histogram of the session whose first order was ``first_id``.

    The worker writes it when it sees the session end, which may be a moment after
    the client closed its socket: wait up to ``timeout_s`` for it to appear.
    """
    path = probe_dir / file_name(account, first_id)
    deadline = time.monotonic() + timeout_s
    while not path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"{path}: no latency probe file after {timeout_s} s"
                f" (is {ENV}=1 set in the server's environment?)"
            )
        time.sleep(0.005)
    return HdrHistogram.decode(path.read_bytes())
