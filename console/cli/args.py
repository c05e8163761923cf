"""Argument types shared by the subcommands: their errors read as one line a person can act on."""

from __future__ import annotations

import argparse
import math


def number(what: str):
    """An argparse type for a finite decimal number, named `what` in its error message."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what} {text!r} is not a number") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{what} {text!r} is not a finite number")
        return value

    return parse
