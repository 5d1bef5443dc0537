"""ringmatch: an order-matching engine (see docs/ and ../shared/DESIGN.md)."""

__version__ = "0.1.0"
