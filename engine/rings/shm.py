"""Shared-memory segments for the rings: naming, create-or-replace, attach, cleanup.

Names are ``{prefix}.{pid}.{role}``: the prefix says which run they belong to, the
pid which process created them. That gives the crash story without any daemon:

- the creator unlinks its segments when it closes them (and at interpreter exit);
- an attaching process that closes after the creator died unlinks them instead;
- if every side was killed, ``cleanup_stale(prefix)`` at the next start removes
  whatever a dead pid left behind (the only cost of a crash is RAM held in
  /dev/shm until then), and create-or-replace means a leftover with our own
  name (pid reuse) never makes creation fail.

``serve`` names its segments from its data directory (``run_prefix``), not from
its pid, and creates them only while it holds the directory's lock
(ringmatch.engine.journal.datadir_lock): every segment with that prefix is then a leftover of an
earlier run on the same directory, whatever its pid says, and
``remove_run(prefix)`` removes them all before the new ones are made. A second
server on the same directory never gets that far, so it never touches the
first one's segments.

Python's ``multiprocessing.resource_tracker`` is kept out of it on purpose. In
3.11/3.12 ``SharedMemory`` registers a segment with the tracker even when it only
attaches (gh-82300), so an attaching process that exits makes its tracker unlink
the segment under the owner's feet and warn about a "leak". The usual fix,
unregistering after attaching, is wrong for spawn children: they share their
parent's tracker, so one process's unregister drops another's registration, and
two readers attaching at once make the tracker print KeyError tracebacks. So no
process registers at all (3.13+: ``track=False``; before that the tracker calls
are muted for the duration of our own create/attach/unlink), and cleanup is
ours, as described above.

Linux only: segments live in /dev/shm, which is what ``cleanup_stale`` lists.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import mmap
import os
import re
import sys
import threading
from collections.abc import Iterator
from multiprocessing import shared_memory
from pathlib import Path

SHM_DIR = Path("/dev/shm")
_PART = re.compile(r"[A-Za-z0-9_-]{1,64}")
_TRACKER_LOCK = threading.Lock()


class _NoTracker:
    """Stands in for the resource_tracker module while we create, attach or unlink."""

    @staticmethod
    def register(name: str, rtype: str) -> None:
        pass

    @staticmethod
    def unregister(name: str, rtype: str) -> None:
        pass


@contextlib.contextmanager
def _untracked() -> Iterator[None]:
    # Swaps the module global that SharedMemory looks up at call time; another
    # thread creating an unrelated SharedMemory inside this window goes untracked.
    with _TRACKER_LOCK:
        real = shared_memory.resource_tracker  # type: ignore[attr-defined]
        setattr(shared_memory, "resource_tracker", _NoTracker)  # noqa: B010
        try:
            yield
        finally:
            setattr(shared_memory, "resource_tracker", real)  # noqa: B010


def _open(name: str, create: bool, size: int) -> shared_memory.SharedMemory:
    if sys.version_info >= (3, 13):
        return shared_memory.SharedMemory(name, create=create, size=size, track=False)
    with _untracked():
        return shared_memory.SharedMemory(name, create=create, size=size)


def run_prefix(run_dir: str | os.PathLike[str]) -> str:
    """A segment prefix derived from a run directory: two runs never share names."""
    digest = hashlib.blake2b(str(Path(run_dir).resolve()).encode(), digest_size=5).hexdigest()
    return f"rm{digest}"


def segment_name(prefix: str, role: str, pid: int | None = None) -> str:
    """``{prefix}.{pid}.{role}``; prefix and role are letters, digits, '-' or '_'."""
    for what, part in (("prefix", prefix), ("role", role)):
        if not _PART.fullmatch(part):
            raise ValueError(f"shared-memory {what} {part!r}: use 1-64 letters, digits, '-' or '_'")
    return f"{prefix}.{os.getpid() if pid is None else pid}.{role}"


def creator_pid(name: str) -> int:
    """The pid stamped into a segment name by ``segment_name``."""
    parts = name.split(".")
    if len(parts) < 3 or not parts[1].isdigit():
        raise ValueError(f"shared-memory name {name!r} is not of the form prefix.pid.role")
    return int(parts[1])


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, belongs to someone else
        return True
    return True


def _unlink_path(path: Path) -> bool:
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True


def cleanup_stale(prefix: str) -> list[str]:
    """Remove /dev/shm entries ``{prefix}.{pid}.*`` whose pid is dead; return their names.

    Entries of live pids are left alone. A recycled pid makes a dead run's
    leftovers look alive: they stay until that pid is gone (never a wrong unlink).
    """
    segment_name(prefix, "x")  # validates the prefix
    removed = []
    for path in sorted(SHM_DIR.glob(f"{prefix}.*")):
        parts = path.name.split(".")
        if len(parts) < 3 or parts[0] != prefix or not parts[1].isdigit():
            continue
        if not pid_alive(int(parts[1])) and _unlink_path(path):
            removed.append(path.name)
    return removed


def remove_run(prefix: str) -> list[str]:
    """Remove every /dev/shm entry ``{prefix}.*`` (segments and doorbells); their names.

    Only for a caller that owns the prefix outright: ``serve`` under its data
    directory's lock, where any such entry is a dead run's.
    """
    segment_name(prefix, "x")  # validates the prefix
    return [path.name for path in sorted(SHM_DIR.glob(f"{prefix}.*")) if _unlink_path(path)]


class Segment:
    """One named shared-memory segment; the creator (or the last survivor) unlinks it."""

    __slots__ = ("_shm", "_unlinked", "companions", "name", "owner")

    def __init__(
        self, shm: shared_memory.SharedMemory, owner: bool, companions: tuple[str, ...]
    ) -> None:
        self._shm = shm
        self.name: str = shm.name.lstrip("/")
        self.owner = owner
        # Other /dev/shm files that live and die with this segment: "{name}.{suffix}".
        self.companions = companions
        self._unlinked = False
        if owner:
            # At exit only the name matters: the mapping dies with the process.
            atexit.register(self.unlink)

    @classmethod
    def create(cls, name: str, size: int, companions: tuple[str, ...] = ()) -> Segment:
        """Create ``name`` zero-filled, replacing a leftover of the same name."""
        creator_pid(name)  # validates the form
        try:
            shm = _open(name, create=True, size=size)
        except FileExistsError:
            # Our own pid is in the name, so the holder is a dead run whose pid we reuse.
            _unlink_path(SHM_DIR / name)
            shm = _open(name, create=True, size=size)
        return cls(shm, owner=True, companions=companions)

    @classmethod
    def attach(cls, name: str, companions: tuple[str, ...] = ()) -> Segment:
        try:
            shm = _open(name, create=False, size=0)
        except FileNotFoundError:
            raise FileNotFoundError(
                f"shared-memory segment {name!r} does not exist (creator gone or not started)"
            ) from None
        return cls(shm, owner=False, companions=companions)

    def companion(self, suffix: str) -> Path:
        return SHM_DIR / f"{self.name}.{suffix}"

    @property
    def buf(self) -> memoryview:
        buf = self._shm.buf
        assert buf is not None, f"segment {self.name} is closed"
        return buf

    @property
    def mapping(self) -> mmap.mmap:
        # The mmap itself, not its memoryview: slicing it gives bytes in one C call and
        # slice assignment is a plain memcpy, both ~2x faster than memoryview slices.
        return self._shm._mmap  # type: ignore[attr-defined,no-any-return]

    @property
    def size(self) -> int:
        return self._shm.size

    def unlink(self) -> None:
        """Remove the name (on Linux shm_unlink is an unlink in /dev/shm). Idempotent."""
        if not self._unlinked:
            self._unlinked = True
            _unlink_path(SHM_DIR / self.name)
            for suffix in self.companions:
                _unlink_path(self.companion(suffix))
            if self.owner:
                atexit.unregister(self.unlink)

    def close(self) -> None:
        """Unmap; unlink too if we created it or its creator is dead. Idempotent.

        Views into ``buf`` must have been released first (mmap refuses otherwise).
        """
        if self._shm.buf is not None:
            self._shm.close()
        if self.owner or not pid_alive(creator_pid(self.name)):
            self.unlink()
