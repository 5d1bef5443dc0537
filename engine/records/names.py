"""The directory of names: symbol and account names <-> the small ids records carry.

Ids are dense, from 1, in the order names are first seen (a configuration's
names first, in its order). The core is the one place that assigns them: the
first input that names something new is preceded, in the journal and on the
kernel's input, by a DEFINE_SYMBOL or DEFINE_ACCOUNT record, and the kernel
answers it with a NAME event, so the journal, the event ring and every reader
of either rebuild the same directory from the records alone.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable

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


def new_definitions(
    directory: Directory, symbols: Iterable[str] = (), accounts: Iterable[str] = ()
) -> np.ndarray:
    """Give each of ``symbols`` and ``accounts`` that ``directory`` lacks the next id;
    the DEFINE records that say so, symbols first (empty if every name has one)."""
    out: list[np.ndarray] = []
    for names, kind, wanted in (
        (directory.symbols, layout.DEFINE_SYMBOL, symbols),
        (directory.accounts, layout.DEFINE_ACCOUNT, accounts),
    ):
        for name in wanted:
            if not names.get(name):
                out.append(define_record(kind, names.add(name), name))
    if not out:
        return np.zeros(0, layout.INPUT_DTYPE)
    return layout.join_records(out, layout.INPUT_DTYPE)


# -- the directory file ---------------------------------------------------------------------

DIRECTORY_FILE = "directory.rec"
"""The core's directory, in its data directory: written at every start, before it says ready.

The format is the DEFINE records themselves (layout.INPUT_DTYPE, LAYOUT_VERSION
1): every symbol's DEFINE_SYMBOL in id order, then every account's
DEFINE_ACCOUNT, each followed by the continuation records of its name, so the
file is a whole number of 64-byte records. It is replaced atomically (a
temporary file, fsync, rename, fsync of the directory): a reader sees the old
file or the new one, never a part. Writers of the input rings (gateway
workers, the risk process) and readers of the event ring (the feed) load it at
start, after the core is ready (ringmatch.supervisor starts them then).
"""


class DirectoryFileError(ValueError):
    """A directory file that is not a run of DEFINE records with dense ids."""


def directory_path(data_dir: str | os.PathLike[str]) -> str:
    return os.path.join(os.fspath(data_dir), DIRECTORY_FILE)


def write_directory(data_dir: str | os.PathLike[str], directory: Directory) -> str:
    """Replace the data directory's directory file with ``directory``, atomically; the path."""
    path = directory_path(data_dir)
    tmp = f"{path}.tmp.{os.getpid()}"
    data = directory.define_records().tobytes()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    dir_fd = os.open(os.path.dirname(path) or ".", os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fsync(dir_fd)  # the rename is durable too
    finally:
        os.close(dir_fd)
    return path


def read_directory(data_dir: str | os.PathLike[str]) -> Directory:
    """The directory the core wrote in ``data_dir``; FileNotFoundError (saying that the
    core writes it before it is ready) or DirectoryFileError (naming the record)."""
    path = directory_path(data_dir)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise FileNotFoundError(
            f"{path}: no directory file; the core writes it at start, before it says "
            "ready (start this process after the core is ready)"
        ) from None
    return parse_directory(data, path)


def read_directory_or_empty(
    data_dir: str | os.PathLike[str], say: Callable[[str], object]
) -> Directory:
    """``read_directory``, or an empty Directory (``say`` told why) when there is no
    file: for a reader that also learns names from the event ring's NAME events."""
    try:
        return read_directory(data_dir)
    except FileNotFoundError as exc:
        say(f"{exc}; starting with no names")
        return Directory()


def parse_directory(data: bytes, where: str = "directory file") -> Directory:
    """The Directory that a run of DEFINE records (``define_records``' bytes) defines."""
    if len(data) % layout.INPUT_SIZE:
        raise DirectoryFileError(
            f"{where}: {len(data)} bytes, not a whole number of {layout.INPUT_SIZE}-byte records"
        )
    records = np.frombuffer(data, layout.INPUT_DTYPE)
    directory = Directory()
    i = 0
    while i < len(records):
        rec = records[i]
        kind, qty = int(rec["kind"]), int(rec["qty"])
        if kind not in (layout.DEFINE_SYMBOL, layout.DEFINE_ACCOUNT):
            raise DirectoryFileError(f"{where}: record {i}: kind {kind}, not a DEFINE")
        n = layout.continuation_records(qty) if 0 < qty <= layout.MAX_NAME else -1
        if n < 0 or i + 1 + n > len(records):
            raise DirectoryFileError(f"{where}: record {i}: a name of {qty} bytes")
        raw = records[i + 1 : i + 1 + n].tobytes()[:qty]
        symbol = kind == layout.DEFINE_SYMBOL
        names = directory.symbols if symbol else directory.accounts
        ident = int(rec["symbol" if symbol else "account"])
        if ident != len(names) + 1:
            raise DirectoryFileError(
                f"{where}: record {i}: id {ident}, not the next one ({len(names) + 1})"
            )
        try:
            name = raw.decode()
            if names.get(name):
                raise BadName(f"name {name!r} defined twice")
            names.add(name)
        except (UnicodeDecodeError, BadName) as exc:
            raise DirectoryFileError(f"{where}: record {i}: {exc}") from None
        i += 1 + n
    return directory
