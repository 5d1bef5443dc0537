"""Which conversion runs: the compiled one when it was built, else the reference.

``pip install`` compiles ``ringmatch.gateway.wire._convert`` where it finds a C++
compiler and Cython; where it did not, or with ``RINGMATCH_PURE=1`` (the switch
that also picks the reference kernel), ``wire_reference`` runs instead. Both
have the same two functions with the same arguments and results.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from ringmatch.engine import build_info
from ringmatch.gateway.wire import wire_reference

COMPILED_MODULE = "ringmatch.gateway.wire._convert"


def compiled_module() -> ModuleType | None:
    """The compiled conversion's module, or None where it was not built."""
    try:
        return importlib.import_module(COMPILED_MODULE)
    except ImportError:
        return None


def conversion(*, pure: bool | None = None) -> ModuleType:
    """The module whose orders_to_inputs and events_to_reports to call: compiled unless
    ``pure`` (default: ``RINGMATCH_PURE``) or not built."""
    if pure is None:
        pure = build_info.wants_pure()
    module = None if pure else compiled_module()
    return wire_reference if module is None else module


def is_compiled(module: ModuleType) -> bool:
    return module is not wire_reference
