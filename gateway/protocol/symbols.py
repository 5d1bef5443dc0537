"""The symbol directory of one session: symbol names <-> the wire's symbol ids.

Orders and reports name a symbol by a u32 id, its 1-based position in the
server's ``[[symbols]]`` list (0: none, or every symbol). A server's connection
is given the list; a client's connection learns it from the SymbolDirectory
messages that follow LogonAccepted. Both ends then translate through the same
table, so the Python API keeps names.
"""

from __future__ import annotations

from collections.abc import Iterable


class SymbolTable:
    """Names by id and ids by name; ``""`` is id 0 (no symbol)."""

    __slots__ = ("ids", "names")

    def __init__(self, names: Iterable[str] = ()) -> None:
        self.names: dict[int, str] = {}
        self.ids: dict[str, int] = {"": 0}  # "" included: a report without a symbol is id 0
        for symbol_id, name in enumerate(names, 1):
            self.add(symbol_id, name)

    def __len__(self) -> int:
        return len(self.names)

    def add(self, symbol_id: int, name: str) -> None:
        """Define ``symbol_id`` as ``name``; ValueError if either is already defined or empty."""
        if symbol_id <= 0 or not name:
            raise ValueError(f"symbol id {symbol_id} {name!r}: ids start at 1, names are not empty")
        if symbol_id in self.names:
            raise ValueError(f"symbol id {symbol_id} defined twice")
        if name in self.ids:
            raise ValueError(f"symbol {name!r} defined twice")
        self.names[symbol_id] = name
        self.ids[name] = symbol_id

    def id_of(self, name: str) -> int:
        """The id of ``name`` (0 for ""); ValueError naming the symbol and the known ones."""
        symbol_id = self.ids.get(name)
        if symbol_id is None:
            known = ", ".join(self.names.values()) or "none yet"
            raise ValueError(f"unknown symbol {name!r} (the server's symbols: {known})")
        return symbol_id
