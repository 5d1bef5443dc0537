"""The directory of names: symbol and account names <-> the small ids records carry.

Ids are dense, from 1, in the order names are first seen (a configuration's
names first, in its order). The core is the one place that assigns them: the
first input that names something new is preceded, in the journal and on the
kernel's input, by a DEFINE_SYMBOL or DEFINE_ACCOUNT record, and the kernel
answers it with a NAME event, so the journal, the event ring and every reader
of either rebuild the same directory from the records alone.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ringmatch.engine.records import layout


class BadName(ValueError):
    """A name that cannot have an id: empty, or longer than layout.MAX_NAME bytes."""


class Names:
    """One kind of name (symbols, or accounts): id <-> name, ids from 1."""

    __slots__ = ("_ids", "_names", "limit")

    def __init__(self, limit: int, names: Iterable[str] = ()) -> None:
        self.limit = limit
        self._names: list[str] = [""]  # index = id; 0 is "none"
        self._ids: dict[str, int] = {}
        for name in names:
            self.add(name)

    def __len__(self) -> int:
        return len(self._names) - 1

    def get(self, name: str) -> int:
        """The id of ``name``, or 0 if it has none yet."""
        return self._ids.get(name, 0)

    def name(self, ident: int) -> str:
        """The name of id ``ident``; ``#<id>`` for an id never defined (a garbled record)."""
        if 0 < ident < len(self._names):
            return self._names[ident]
        return f"#{ident}"

    def add(self, name: str) -> int:
        """Define ``name`` as the next id (BadName if it cannot be one)."""
        raw = name.encode()
        if not raw or len(raw) > layout.MAX_NAME:
            raise BadName(
                f"name {name!r}: must be 1 to {layout.MAX_NAME} bytes of UTF-8, is {len(raw)}"
            )
        if len(self._names) > self.limit:
            raise BadName(f"name {name!r}: more than {self.limit} names")
        ident = len(self._names)
        self._names.append(name)
        self._ids[name] = ident
        return ident

    def names(self) -> list[str]:
        """Every name, in id order."""
        return self._names[1:]


class Directory:
    """Both kinds of name, and the DEFINE records that introduce new ones."""

    __slots__ = ("accounts", "symbols")

    def __init__(self, symbols: Iterable[str] = (), accounts: Iterable[str] = ()) -> None:
        self.symbols = Names(layout.MAX_SYMBOLS, symbols)
        self.accounts = Names(layout.MAX_ACCOUNTS, accounts)

    def define_records(self) -> np.ndarray:
        """DEFINE records for every name so far (a configured directory's start)."""
        out = [
            define_record(layout.DEFINE_SYMBOL, i, n) for i, n in enumerate(self.symbols.names(), 1)
        ]
        out += [
            define_record(layout.DEFINE_ACCOUNT, i, n)
            for i, n in enumerate(self.accounts.names(), 1)
        ]
        if not out:
            return np.zeros(0, layout.INPUT_DTYPE)
        return layout.join_records(out, layout.INPUT_DTYPE)

    def learn(self, events: np.ndarray) -> None:
        """Take the names of the NAME events in ``events`` (a reader of the event ring)."""
        named = events[events["kind"] == layout.NAME]
        raw = named.view(np.uint8).reshape(len(named), layout.EVENT_SIZE)
        for rec, row in zip(named, raw, strict=True):
            # From the record's bytes: numpy's S64 would strip trailing NULs.
            name = row[16 : 16 + rec["name_len"]].tobytes().decode(errors="replace")
            if len(name.encode()) > layout.MAX_NAME or not name.strip("\0"):
                # A name no reader can show (garbled records): the id still counts.
                name = f"#{int(rec['symbol'] or rec['account'])}"
            if rec["flags"] & layout.NAME_SYMBOL and rec["symbol"] == len(self.symbols) + 1:
                self.symbols.add(name)
            elif rec["flags"] & layout.NAME_ACCOUNT and rec["account"] == len(self.accounts) + 1:
                self.accounts.add(name)


def text_records(text: bytes) -> np.ndarray:
    """The continuation records that carry ``text`` (zero-padded to whole records)."""
    n = layout.continuation_records(len(text))
    buf = bytearray(n * layout.INPUT_SIZE)
    buf[: len(text)] = text
    return np.frombuffer(buf, layout.INPUT_DTYPE)  # no copy(): it would drop byte 7


def define_record(kind: int, ident: int, name: str) -> np.ndarray:
    """A DEFINE_SYMBOL / DEFINE_ACCOUNT record and its text: ``ident`` is ``name``."""
    raw = name.encode()
    head = np.zeros(1, layout.INPUT_DTYPE)
    head["kind"] = kind
    head["symbol" if kind == layout.DEFINE_SYMBOL else "account"] = ident
    head["qty"] = len(raw)
    return layout.join_records([head, text_records(raw)], layout.INPUT_DTYPE)
