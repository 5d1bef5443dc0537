"""Which kernel runs: the compiled one when it was built, else the reference.

``pip install`` compiles ``ringmatch.engine.kernel._kernel`` where it finds a
C++ compiler and Cython; where it did not, or with ``RINGMATCH_PURE=1``, the
reference kernel (the pure engine behind the same interface) runs instead.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from ringmatch.engine import build_info
from ringmatch.engine.core.reference_kernel import ReferenceKernel
from ringmatch.engine.kernel.api import Kernel


def compiled_module() -> ModuleType | None:
    """The compiled kernel's module, or None where it was not built."""
    try:
        return importlib.import_module("ringmatch.engine.kernel._kernel")
    except ImportError:
        return None


def new_kernel(*, pure: bool | None = None) -> Kernel:
    """A new kernel: compiled unless ``pure`` (default: ``RINGMATCH_PURE``) or not built."""
    if pure is None:
        pure = build_info.wants_pure()
    module = None if pure else compiled_module()
    if module is None:
        return ReferenceKernel()
    kernel: Kernel = module.Kernel()
    return kernel


def is_compiled(kernel: Kernel) -> bool:
    return not isinstance(kernel, ReferenceKernel)
