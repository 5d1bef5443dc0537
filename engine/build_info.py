"""Which kernel runs, for ``ringmatch --version`` and every benchmark result.

The compiled kernel (``ringmatch.engine.kernel._kernel``, C++ through Cython 3)
runs where ``pip install`` could build it; elsewhere, or with
``RINGMATCH_PURE=1``, the reference kernel runs: the pure-Python engine behind
the same interface (``ringmatch.engine.core.reference_kernel``). The
``MatchingEngine`` class itself is always the pure-Python one.
"""

from __future__ import annotations

import importlib.util
import os

PURE_ENV = "RINGMATCH_PURE"
KERNEL_MODULE = "ringmatch.engine.kernel._kernel"


def wants_pure() -> bool:
    """True when ``RINGMATCH_PURE`` asks for the pure-Python engine."""
    return os.environ.get(PURE_ENV, "").strip().lower() in {"1", "true", "yes"}


def kernel_built() -> bool:
    """True when the compiled kernel was built for this install."""
    try:
        return importlib.util.find_spec(KERNEL_MODULE) is not None
    except ImportError:
        return False


def compiled() -> bool:
    """True when the kernel that runs in this process is the compiled one."""
    return kernel_built() and not wants_pure()


def compiled_matching_engine() -> bool:
    """True when ``MatchingEngine`` is compiled code: never (the mypyc build went)."""
    return False


def describe() -> str:
    """One line for ``--version`` and benchmark results: which engine runs."""
    if compiled():
        return "compiled kernel (C++, Cython 3)"
    if wants_pure():
        return f"pure-Python engine ({PURE_ENV}=1)"
    return "pure-Python engine (no compiled kernel was built)"
