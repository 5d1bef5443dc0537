"""ringmatch: an order-matching engine (see docs/ and ../shared/DESIGN.md)."""

from engine import build_info as _build_info

__version__ = "0.1.0"

# Before anything imports the core: pick the compiled modules or their sources
# (RINGMATCH_PURE=1, or a build older than its source, means the sources).
_build_info.choose()
compiled = _build_info.compiled
