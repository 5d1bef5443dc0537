"""Snapshots of the kernel: its state and the directory of names, at one seq.

Recovery loads the newest valid snapshot its kernel can load and feeds the
kernel only the journal after it. A file is written to a temporary name,
synced, renamed into place and the directory synced, so a crash leaves the
old set of snapshots or the new one, never a half file under a real name;
each carries a checksum, and a damaged one is skipped (with a warning) for
an older one, or for the journal from its start.

``snapshot-<last seq, 20 digits>.rms``, every integer little-endian::

    offset   size  field
    0        4     magic b"RMS3"
    4        4     crc32c of bytes 8 .. end of file
    8        8     length of the file after byte 16
    16       8     last_seq: the seq of the last input the state includes
    24       4     layout version of the records (records.layout.LAYOUT_VERSION)
    28       4     kernel format: the first 4 bytes of the kernel's dump
                   ("RKR1" the reference kernel's, "RKC1" the compiled kernel's,
                   "RKS1" the compiled kernel's with its pre-trade stage:
                   engine.core.staged_kernel, which holds an RKC1 dump and the
                   stage's state beside it)
    32       4     S: symbols in the directory
    36       4     A: accounts in the directory
    40       8     D: bytes of the directory
    48       8     K: bytes of the kernel's dump
    56       D     the directory: S symbol names (id 1 first), then A account
                   names, each a u8 length and that many bytes of UTF-8
    56 + D   K     the kernel's ``dump()``: whatever that kernel's ``load()``
                   takes back (the reference kernel's: its module's docstring)

A snapshot of one kind of kernel is loaded by that kind only: recovery
with another one passes over it (with a warning) and replays from further
back. Snapshots written before records (magic ``RMS1``, a msgpack
EngineSnapshot of ringmatch.engine.core.snapshot) are passed over too: their
names have no ids, so recovery replays the journal from its start.
"""

from __future__ import annotations

import os
import struct
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Final, NamedTuple

import crc32c

from ringmatch.engine.core.snapshot import SnapshotDamaged, snapshot_path
from ringmatch.engine.records.layout import LAYOUT_VERSION, READABLE_LAYOUTS
from ringmatch.engine.records.names import Directory

MAGIC: Final = b"RMS3"
HEADER: Final = struct.Struct("<4sIQQI4sIIQQ")
HEADER_SIZE: Final = HEADER.size  # 56

__all__ = ["KernelSnapshot", "SnapshotDamaged", "read", "snapshots", "write"]


class KernelSnapshot(NamedTuple):
    last_seq: int
    kernel_format: bytes  # 4 bytes: which kernel's dump
    directory: Directory
    dump: bytes
    path: str


def encode_directory(directory: Directory) -> bytes:
    out = bytearray()
    for name in (*directory.symbols.names(), *directory.accounts.names()):
        raw = name.encode()
        out.append(len(raw))
        out += raw
    return bytes(out)


def decode_directory(data: bytes, symbols: int, accounts: int) -> Directory:
    names: list[str] = []
    pos = 0
    for _ in range(symbols + accounts):
        n = data[pos]
        names.append(data[pos + 1 : pos + 1 + n].decode())
        pos += 1 + n
    if pos != len(data):
        raise ValueError(f"the directory is {len(data)} bytes, its names {pos}")
    return Directory(names[:symbols], names[symbols:])


def write(
    data_dir: str | os.PathLike[str], last_seq: int, dump: bytes, directory: Directory
) -> Path:
    """Write a snapshot of a kernel (its ``dump()``) and the directory, durably; the path."""
    names = encode_directory(directory)
    head = HEADER.pack(
        MAGIC,
        0,
        0,
        last_seq,
        LAYOUT_VERSION,
        bytes(dump[:4]),
        len(directory.symbols),
        len(directory.accounts),
        len(names),
        len(dump),
    )
    length = HEADER_SIZE - 16 + len(names) + len(dump)
    checked = struct.pack("<Q", length) + head[16:]  # what the crc covers, from byte 8
    crc = crc32c.crc32c(dump, crc32c.crc32c(names, crc32c.crc32c(checked)))
    head = struct.pack("<4sI", MAGIC, crc) + checked
    path = snapshot_path(data_dir, last_seq)
    tmp = path.with_suffix(".tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(head)
            f.write(names)
            f.write(dump)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a full disk: leave no half file taking up room
        raise
    dir_fd = os.open(data_dir, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return path


def read(path: str | os.PathLike[str]) -> KernelSnapshot:
    """One snapshot file; ValueError naming the file if it is damaged or not one."""
    data = Path(path).read_bytes()
    if len(data) < HEADER_SIZE:
        raise ValueError(f"{path}: shorter than a snapshot header ({len(data)} bytes)")
    magic, crc, length, last_seq, layout, kind, symbols, accounts, d, k = HEADER.unpack_from(data)
    if magic != MAGIC:
        raise ValueError(f"{path}: not a snapshot of this version (magic {magic!r})")
    if length != len(data) - 16 or HEADER_SIZE + d + k != len(data):
        raise ValueError(f"{path}: {len(data)} bytes, the header says otherwise")
    if crc32c.crc32c(memoryview(data)[8:]) != crc:
        raise ValueError(f"{path}: checksum mismatch")
    if layout not in READABLE_LAYOUTS:
        raise ValueError(f"{path}: records of layout {layout}, this version's are {LAYOUT_VERSION}")
    try:
        directory = decode_directory(data[HEADER_SIZE : HEADER_SIZE + d], symbols, accounts)
    except (IndexError, UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"{path}: a directory that will not decode: {exc}") from exc
    return KernelSnapshot(last_seq, kind, directory, data[HEADER_SIZE + d :], str(path))


def snapshots(data_dir: str | os.PathLike[str]) -> Iterator[KernelSnapshot]:
    """The valid snapshots, newest first; each damaged one is warned about and skipped."""
    for path in sorted(Path(data_dir).glob("snapshot-*.rms"), reverse=True):
        try:
            yield read(path)
        except (OSError, ValueError) as exc:
            warnings.warn(SnapshotDamaged(f"{exc}; trying an older one"), stacklevel=3)
