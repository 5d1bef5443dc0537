"""Which core is running: the mypyc-compiled modules or their pure-Python sources.

setup.py compiles ``COMPILED_MODULES`` with mypyc when it can (RINGMATCH_COMPILE=0
skips it). A compiled module is a ``.so`` next to its ``.py``, and Python's import
system always prefers the ``.so``. Two cases must still get the pure sources:

* ``RINGMATCH_PURE=1``: asked for (CI runs the engine tests once this way, and a
  benchmark compares the two paths with one install);
* a stale build: in an editable install the ``.so`` files stay in the source tree,
  so after an edit of ``engine/matching.py`` they would silently run the old code.
  A ``.py`` newer than its ``.so`` makes the whole group load from source, with a
  warning that says how to rebuild.

The modules go together or not at all: compiled ``engine.matching`` reaches into
compiled ``engine.book``'s native classes and would reject pure ones.
``engine/__init__.py`` calls ``choose()`` before anything imports them.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

COMPILED_MODULES = ("engine.book", "engine.matching")
PURE_ENV = "RINGMATCH_PURE"
_HERE = Path(__file__).resolve().parent
_STALE_SLACK_S = 2.0  # a wheel extracts .py and .so moments apart, in either order

_pure_reason: str | None = None  # why the sources were chosen over a build, if they were


class StaleBuildWarning(RuntimeWarning):
    """A compiled module is older than its source; the source is used instead."""


class _SourceFinder(importlib.abc.MetaPathFinder):
    """Finds ``COMPILED_MODULES`` as their ``.py`` files, never as extensions."""

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in COMPILED_MODULES:
            return None
        source = _HERE / (fullname.rpartition(".")[2] + ".py")
        return importlib.util.spec_from_file_location(fullname, source)


def _extension(module: str) -> Path | None:
    name = module.rpartition(".")[2]
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        candidate = _HERE / (name + suffix)
        if candidate.exists():
            return candidate
    return None


def _stale_modules() -> list[str]:
    stale = []
    for module in COMPILED_MODULES:
        ext = _extension(module)
        source = _HERE / (module.rpartition(".")[2] + ".py")
        if (
            ext is not None
            and source.exists()
            and source.stat().st_mtime > ext.stat().st_mtime + _STALE_SLACK_S
        ):
            stale.append(module)
    return stale


def wants_pure() -> bool:
    """True when ``RINGMATCH_PURE`` asks for the pure-Python core."""
    return os.environ.get(PURE_ENV, "").strip().lower() in {"1", "true", "yes"}


def choose() -> None:
    """Make the compiled modules load from source if asked to or if the build is stale."""
    global _pure_reason
    if any(m in sys.modules for m in COMPILED_MODULES):
        return  # too late to choose; compiled() reports what was loaded
    if not any(_extension(m) for m in COMPILED_MODULES):
        return  # nothing built: plain imports find the sources anyway
    if wants_pure():
        _pure_reason = f"{PURE_ENV}=1"
    else:
        stale = _stale_modules()
        if not stale:
            return
        _pure_reason = f"stale build of {', '.join(stale)}"
        warnings.warn(
            f"{', '.join(stale)}: the compiled module is older than its source, so the"
            " pure-Python source runs; rebuild with `pip install -e .` (or set"
            f" RINGMATCH_COMPILE=0 when installing to build nothing)",
            StaleBuildWarning,
            stacklevel=3,
        )
    if not any(isinstance(f, _SourceFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _SourceFinder())


def compiled() -> bool:
    """True when the core running in this process is the mypyc-compiled one."""
    import engine.matching

    path = getattr(engine.matching, "__file__", None) or ""
    return path.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES))


def describe() -> str:
    """One line for ``--version`` and benchmark results: which core, and why."""
    if compiled():
        return "compiled core (mypyc)"
    if _pure_reason is not None:
        return f"pure-Python core ({_pure_reason})"
    return "pure-Python core (not compiled)"
