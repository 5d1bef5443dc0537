"""Live sessions per account, across every gateway worker: where cancel-on-disconnect is decided.

Each gateway worker tells the core about its sessions through its input ring
(ringmatch.engine.schema.commands: SessionOpened, SessionClosed, WorkerStarted). Those inputs
are sequenced and journalled like every other, and this table is rebuilt from
them by recovery (and held in snapshots), so the live core and a replay agree
on which sessions are open and on when an account's orders are cancelled.

Rules (docs/PIPELINE.md, "Sessions and cancel-on-disconnect"):

* An account is *armed* from the first logon with cancel-on-disconnect until
  its last live session ends; a later logon without the flag does not disarm it.
* When an armed account's last live session ends (on whichever worker), the
  ``apply`` result names it: the core then runs
  ``MassCancel(account, reason=DISCONNECT)`` under that input's seq.
* WorkerStarted(k, n) closes the sessions still counted for worker k, and for
  any worker number >= n: they belong to a run that is gone.
* Closing a session the table does not hold changes nothing (it was closed
  already by a WorkerStarted, or its opening was never journalled).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ringmatch.engine.schema.commands import (
    SessionClosed,
    SessionInput,
    SessionOpened,
    WorkerStarted,
)

SessionKey = tuple[int, int]  # (worker, session number within that worker's run)


class SessionTable:
    """``order``: how WorkerStarted takes the accounts it closes (default: by name; the
    reference kernel orders them by account id, as the compiled kernel does)."""

    __slots__ = ("_armed", "_live", "order")

    def __init__(
        self, live: Iterable[tuple[str, int, int]] = (), armed: Iterable[str] = ()
    ) -> None:
        self._live: dict[str, set[SessionKey]] = {}
        for account, worker, session in live:
            self._live.setdefault(account, set()).add((worker, session))
        self._armed = set(armed)
        self.order: Callable[[str], tuple[int, str]] | None = None
        unknown = self._armed - self._live.keys()
        if unknown:
            raise ValueError(f"armed accounts with no live session: {sorted(unknown)}")

    def apply(self, inp: SessionInput) -> list[str]:
        """Record ``inp``; the accounts whose orders it cancels, in ``order``."""
        if isinstance(inp, SessionOpened):
            self._live.setdefault(inp.account, set()).add((inp.worker, inp.session))
            if inp.cancel_on_disconnect:
                self._armed.add(inp.account)
            return []
        if isinstance(inp, SessionClosed):
            return self._close(inp.account, lambda key: key == (inp.worker, inp.session))
        assert isinstance(inp, WorkerStarted)
        worker, workers = inp.worker, inp.workers
        gone: list[str] = []
        for account in sorted(self._live, key=self.order):
            gone += self._close(account, lambda key: key[0] == worker or key[0] >= workers)
        return gone

    def _close(self, account: str, closes: Callable[[SessionKey], bool]) -> list[str]:
        live = self._live.get(account)
        if live is None:
            return []
        live.difference_update([key for key in live if closes(key)])
        if live:
            return []
        del self._live[account]
        if account in self._armed:
            self._armed.discard(account)
            return [account]
        return []

    # -- views and snapshots ----------------------------------------------------------

    def sessions(self, account: str) -> frozenset[SessionKey]:
        """The (worker, session) pairs live for ``account``."""
        return frozenset(self._live.get(account, ()))

    def armed(self) -> list[str]:
        """Accounts whose last session's end will cancel their orders, sorted."""
        return sorted(self._armed)

    def entries(self) -> list[tuple[str, int, int]]:
        """Every live session as (account, worker, session), sorted: for snapshots."""
        return sorted((a, w, s) for a, keys in self._live.items() for w, s in keys)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SessionTable):
            return NotImplemented
        return self._live == other._live and self._armed == other._armed

    __hash__ = None  # type: ignore[assignment]
