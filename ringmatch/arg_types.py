"""Argument types the command line's parsers share (argparse ``type=``)."""

from __future__ import annotations

import argparse


def whole_number_at_least_1(text: str) -> int:
    """``text`` as an int >= 1, or an error argparse prints with the option's name."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value
