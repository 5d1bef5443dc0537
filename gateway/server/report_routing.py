"""Event records to the sessions of the accounts they name, by that field alone.

A worker needs no mirror of the book: every event record carries what its
report says (client order id, quantities, cum and leaves) and the account it
belongs to. ``slot_of_account`` holds, per record account id, the id itself
while this worker has a session of that account and -1 otherwise; the
compiled conversion skips every other account's records on that test alone
and writes one buffer of reports per account, which goes to each of its
sessions here (reports reach every session of the owning account).
"""

from __future__ import annotations

from collections.abc import Iterable
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np

from ringmatch.engine.records.names import Directory

if TYPE_CHECKING:
    from ringmatch.gateway.server.session import Session


class ReportRouter:
    """``symbol_ids``: wire symbol id -> the core's (OrderIntake's); its inverse maps the
    records' symbols back. The worker's names are fixed at start (``link.names``
    gives every configured name an id), so a NAME event changes nothing here: a
    symbol id past ``wire_symbol`` reads as 0 and an account past ``slot_of_account``
    as no session, in the conversion itself."""

    __slots__ = ("conversion", "sessions", "slot_of_account", "wire_symbol")

    def __init__(self, names: Directory, symbol_ids: np.ndarray, conversion: ModuleType) -> None:
        self.conversion = conversion
        self.sessions: dict[int, list[Session]] = {}  # record account id -> its sessions here
        self.slot_of_account = np.full(len(names.accounts) + 1, -1, np.int32)
        # record symbol id -> the wire's (its position in the configured list; 0: none)
        self.wire_symbol = np.zeros(int(symbol_ids.max(initial=0)) + 1, np.uint32)
        self.wire_symbol[symbol_ids[1:]] = np.arange(1, len(symbol_ids), dtype=np.uint32)

    def add(self, session: Session, account: int) -> None:
        if account >= len(self.slot_of_account):
            grown = np.full(account + 1, -1, np.int32)
            grown[: len(self.slot_of_account)] = self.slot_of_account
            self.slot_of_account = grown
        self.sessions.setdefault(account, []).append(session)
        self.slot_of_account[account] = account

    def remove(self, session: Session, account: int) -> bool:
        """Forget ``session``; False if it was not here (never logged on, or removed)."""
        peers = self.sessions.get(account)
        if peers is None or session not in peers:
            return False
        peers.remove(session)
        if not peers:
            del self.sessions[account]
            self.slot_of_account[account] = -1
        return True

    def route(self, events: np.ndarray) -> tuple[int, Iterable[tuple[list[Session], bytes]]]:
        """(the highest seq of ``events``, (sessions, their reports) per account here)."""
        chunks, max_seq = self.conversion.events_to_slot_bytes(
            events, self.slot_of_account, self.wire_symbol
        )
        sessions = self.sessions
        return max_seq, [(list(sessions[slot]), data) for slot, data in chunks]
