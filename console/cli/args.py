"""Argument types shared by the subcommands: every number has a range, and its error is one line a person can act on.

argparse turns an ArgumentTypeError into one usage line and exit status 2, so a value out of range never reaches
the database (where a huge integer used to end in an OverflowError).
"""

from __future__ import annotations

import argparse
import math

# Ids are database integers (64-bit on PostgreSQL); nothing real comes near this, but the bound keeps them bindable.
MAX_ID = 2**63 - 1


def _bounds(lo, hi) -> str:
    if hi == math.inf:
        return f"of at least {lo:g}"
    if lo == -math.inf:
        return f"of at most {hi:g}"
    return f"from {lo:g} to {hi:g}" if isinstance(lo, float) or isinstance(hi, float) else f"from {lo} to {hi}"


def integer(what: str, lo: int, hi: int):
    """An argparse type for a whole number from `lo` to `hi`, named `what` in its error message."""

    def parse(text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what} {text[:40]!r} is not a whole number") from None
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"{what} {text[:40]} is out of range: give a whole number "
                                             f"{_bounds(lo, hi)}")
        return value

    return parse


def identifier(what: str):
    """A registry id: a whole number from 1."""
    return integer(what, 1, MAX_ID)


def number(what: str, lo: float = -math.inf, hi: float = math.inf):
    """An argparse type for a finite decimal number from `lo` to `hi`, named `what` in its error message."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what} {text[:40]!r} is not a number") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{what} {text[:40]!r} is not a finite number")
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"{what} {text[:40]} is out of range: give a number {_bounds(lo, hi)}")
        return value

    return parse
