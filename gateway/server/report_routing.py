"""Event records to the sessions of the accounts they name, by that field alone.

A worker needs no mirror of the book: every event record carries what its
report says (client order id, quantities, cum and leaves) and the account it
belongs to. ``slot_of_account`` holds, per record account id, the id itself
while this worker has a session of that account and -1 otherwise; the
compiled conversion skips every other account's records on that test alone
and writes one buffer of reports per account, which goes to each of its
sessions here (reports reach every session of the owning account).

Sessions of protocol versions 2 and 3 differ in their reports (the header's
version, and which events give one), so each version has its own table: a
batch is converted once per version that has sessions here, which is once
while every session speaks the same one.
"""

from __future__ import annotations

from collections.abc import Iterable
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np

from ringmatch.engine.records.names import Directory
from ringmatch.gateway.protocol.messages import PROTOCOL_VERSION, PROTOCOL_VERSIONS

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
        # Per version: record account id -> its sessions here, and the conversion's table.
        self.sessions: dict[int, dict[int, list[Session]]] = {v: {} for v in PROTOCOL_VERSIONS}
        self.slot_of_account = {
            v: np.full(len(names.accounts) + 1, -1, np.int32) for v in PROTOCOL_VERSIONS
        }
        # record symbol id -> the wire's (its position in the configured list; 0: none)
        self.wire_symbol = np.zeros(int(symbol_ids.max(initial=0)) + 1, np.uint32)
        self.wire_symbol[symbol_ids[1:]] = np.arange(1, len(symbol_ids), dtype=np.uint32)

    def add(self, session: Session, account: int, version: int = PROTOCOL_VERSION) -> None:
        slots = self.slot_of_account[version]
        if account >= len(slots):
            grown = np.full(account + 1, -1, np.int32)
            grown[: len(slots)] = slots
            self.slot_of_account[version] = slots = grown
        self.sessions[version].setdefault(account, []).append(session)
        slots[account] = account

    def remove(self, session: Session, account: int, version: int = PROTOCOL_VERSION) -> bool:
        """Forget ``session``; False if it was not here (never logged on, or removed)."""
        sessions = self.sessions[version]
        peers = sessions.get(account)
        if peers is None or session not in peers:
            return False
        peers.remove(session)
        if not peers:
            del sessions[account]
            self.slot_of_account[version][account] = -1
        return True

    def route(self, events: np.ndarray) -> tuple[int, Iterable[tuple[list[Session], bytes]]]:
        """(the highest seq of ``events``, (sessions, their reports) per account and version
        here)."""
        versions = [v for v in PROTOCOL_VERSIONS if self.sessions[v]] or [PROTOCOL_VERSION]
        deliveries: list[tuple[list[Session], bytes]] = []
        max_seq = 0
        for version in versions:  # the same max_seq each time: it counts every event
            chunks, max_seq = self.conversion.events_to_slot_bytes(
                events, self.slot_of_account[version], self.wire_symbol, version
            )
            sessions = self.sessions[version]
            deliveries.extend((list(sessions[slot]), data) for slot, data in chunks)
        return max_seq, deliveries
