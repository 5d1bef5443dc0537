"""Inputs as records for a writer of an input ring: names must already have ids.

The core alone assigns ids (it journals the DEFINE records at start and
writes its directory file, ringmatch.engine.records.names). A gateway worker
or the risk process packs its inputs through that directory with
``RecordWriter``: an InputPacker that, meeting a name without an id, raises
``UnknownName`` (and leaves nothing of that input in the buffer) instead of
defining it: a DEFINE from a ring is dropped by the core, so defining it here
would only make the kernel answer UNKNOWN_*.
"""

from __future__ import annotations

import struct
from typing import Final

from ringmatch.engine.records import layout as L
from ringmatch.engine.records.inputs import InputPacker
from ringmatch.engine.records.names import Names
from ringmatch.engine.schema.commands import Input


class UnknownName(LookupError):
    """An input names a symbol or an account the core's directory has no id for."""

    def __init__(self, what: str, name: str) -> None:
        super().__init__(f"{what} {name!r} has no id in the core's directory (not configured)")
        self.what = what
        self.name = name


class RecordWriter(InputPacker):
    """``add(input)`` packs one input (seq 0: the core stamps it); ``records()`` the batch.

    UnknownName for a name without an id; struct.error or OverflowError for a
    value no record holds. Either way nothing of that input is in the buffer.
    """

    __slots__ = ()

    SEQ: Final = 0

    def add(self, inp: Input, seq: int = 0) -> None:
        keep = self._n
        try:
            super().add(inp, seq)
        except (UnknownName, struct.error, OverflowError):
            self._n = keep
            raise

    def _id(self, names: Names, name: str | None, kind: int) -> int:
        if not name:
            return 0
        ident = names.get(name)
        if not ident:
            raise UnknownName("symbol" if kind == L.DEFINE_SYMBOL else "account", name)
        return ident
