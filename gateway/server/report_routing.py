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

from ringmatch.engine.records import layout as L
from ringmatch.engine.records.names import Directory
from ringmatch.gateway.config import Config

if TYPE_CHECKING:
    from ringmatch.gateway.server.session import Session


class ReportRouter:
    __slots__ = ("_config", "conversion", "names", "sessions", "slot_of_account", "wire_symbol")

    def __init__(self, names: Directory, config: Config, conversion: ModuleType) -> None:
        self.conversion = conversion
        self.names = names
        self._config = config
        self.sessions: dict[int, list[Session]] = {}  # record account id -> its sessions here
        self.slot_of_account = np.full(len(names.accounts) + 1, -1, np.int32)
        self.wire_symbol = np.zeros(0, np.uint32)
        self._map_symbols()

    def _map_symbols(self) -> None:
        """record symbol id -> the wire's (its position in the configured list; 0: none)."""
        wire = np.zeros(len(self.names.symbols) + 1, np.uint32)
        for position, symbol in enumerate(self._config.symbols, 1):
            ident = self.names.symbols.get(symbol.name)
            if ident:
                wire[ident] = position
        self.wire_symbol = wire

    def add(self, session: Session, account: int) -> None:
        if account >= len(self.slot_of_account):
            grown = np.full(account + 1, -1, np.int32)
            grown[: len(self.slot_of_account)] = self.slot_of_account
            self.slot_of_account = grown
        self.sessions.setdefault(account, []).append(session)
        self.slot_of_account[account] = account

    def remove(self, session: Session, account: int) -> bool:
        """Forget ``session``; True if it was its account's last here."""
        peers = self.sessions.get(account)
        if peers is None or session not in peers:
            return False
        peers.remove(session)
        if peers:
            return False
        del self.sessions[account]
        self.slot_of_account[account] = -1
        return True

    def route(self, events: np.ndarray) -> tuple[int, Iterable[tuple[list[Session], bytes]]]:
        """(the highest seq of ``events``, (sessions, their reports) per account here)."""
        if len(events) and (events["kind"] == L.NAME).any():
            self.names.learn(events)  # names the core defined while running: rare
            self._map_symbols()
        chunks, max_seq = self.conversion.events_to_slot_bytes(
            events, self.slot_of_account, self.wire_symbol
        )
        sessions = self.sessions
        return max_seq, [(list(sessions[slot]), data) for slot, data in chunks]
