"""The client order id registry: (account, client order id) -> engine order id.

A client knows its orders by ``client_order_id``, unique per account; the
engine knows them by ``order_id``, unique engine-wide. A NewOrder from a
gateway arrives with ``order_id=0``; the core gives it the input's seq (unique
and deterministic: recovery and replay give the same number) and remembers
the pair here, so that a Cancel or Replace naming only the client id finds it.

Entries are never dropped: a client id stays used once a NEW with it was
sequenced, whatever became of the order (like the engine's order ids), so a
late cancel of a filled order still finds it and gets ORDER_NOT_RESTING.
Memory: one dict entry per client-id order ever sequenced (~150 bytes each).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator


class ClientIds:
    """The registry; only the core's logic stage touches it (single writer)."""

    __slots__ = ("_ids",)

    def __init__(self, entries: Iterable[tuple[str, int, int]] = ()) -> None:
        self._ids: dict[tuple[str, int], int] = {(a, c): o for a, c, o in entries}

    def lookup(self, account: str, client_order_id: int) -> int:
        """The engine order id of ``(account, client_order_id)``, or 0 if unknown."""
        return self._ids.get((account, client_order_id), 0)

    def add(self, account: str, client_order_id: int, order_id: int) -> bool:
        """Register the pair; False (and no change) if the client id is already used."""
        key = (account, client_order_id)
        ids = self._ids
        if key in ids:
            return False
        ids[key] = order_id
        return True

    def __len__(self) -> int:
        return len(self._ids)

    def entries(self) -> Iterator[tuple[str, int, int]]:
        """``(account, client order id, order id)`` in registration order (for snapshots)."""
        return ((a, c, o) for (a, c), o in self._ids.items())
