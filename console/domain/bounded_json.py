"""JSON from outside, read only within limits: size and nesting are checked on the raw text BEFORE parsing.

Python's json module recurses once per level: a document nested a hundred thousand levels deep ends in
RecursionError, which no caller expects. So the depth is measured first, on the text with its strings taken out
(a bracket inside a string is not nesting), and a document over the limits is refused with one sentence.
"""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any

_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


class JsonRefused(ValueError):
    """The text is not JSON the console will read; the message is one sentence saying why."""


def _brackets(text: str) -> str:
    return _NOT_BRACKET.sub("", _STRING.sub("", text))


def nesting_depth(text: str) -> int:
    """How deep the arrays and objects in JSON text go (0 for a bare number or string)."""
    brackets = _brackets(text)
    return max(0, max(accumulate(1 if c in "[{" else -1 for c in brackets))) if brackets else 0


def loads_bounded(text: str, *, max_chars: int, max_depth: int) -> Any:
    """The parsed JSON, or JsonRefused when it is too long, nested too deep or not JSON."""
    if len(text) > max_chars:
        raise JsonRefused(f"it is longer than {max_chars:,} characters")
    brackets = _brackets(text)
    # A run of openers longer than the limit answers at C speed; only mixed text is counted one by one.
    if re.search("[\\[{]{%d}" % (max_depth + 1), brackets) or (
            brackets and max(accumulate(1 if c in "[{" else -1 for c in brackets)) > max_depth):
        raise JsonRefused(f"it is nested more than {max_depth} levels deep")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise JsonRefused(f"it is not JSON ({exc.msg} at line {exc.lineno})") from None
    except RecursionError:  # cannot happen after the depth check; kept so no caller ever sees one
        raise JsonRefused("it is nested too deep to read") from None
