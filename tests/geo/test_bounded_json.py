"""JSON from outside is measured before it is parsed: brackets inside strings are not nesting, deep text is refused
with a sentence (never RecursionError), and what passes parses exactly as json.loads would."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from console.domain.bounded_json import JsonRefused, loads_bounded, nesting_depth


def test_brackets_in_strings_and_escaped_quotes_are_not_nesting():
    text = json.dumps({"a": "[[[[{{{{", "b": 'say \\"[[" and \\\\', "c": [1, {"d": []}]})
    assert nesting_depth(text) == 4  # {  c:[  {  d:[
    assert loads_bounded(text, max_chars=1000, max_depth=4) == json.loads(text)


@pytest.mark.parametrize("text", ["[" * 100_000 + "]" * 100_000, '{"a":' * 5_000 + "1" + "}" * 5_000,
                                  "[" + "[1]," * 10 + "[[[[[[[[[[]]]]]]]]]]]"])
def test_deep_text_is_refused_with_a_sentence(text):
    with pytest.raises(JsonRefused, match="nested more than 8 levels deep"):
        loads_bounded(text, max_chars=10_000_000, max_depth=8)


def test_long_or_broken_text_is_refused():
    with pytest.raises(JsonRefused, match="longer than 10 characters"):
        loads_bounded("[" + "1," * 10 + "1]", max_chars=10, max_depth=8)
    with pytest.raises(JsonRefused, match="not JSON"):
        loads_bounded('{"a": ', max_chars=100, max_depth=8)


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{}"\\ab'),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner,
                                                                                        max_size=3), max_leaves=20)


def _depth(value) -> int:
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    return 0


@given(json_values)
def test_measured_depth_is_the_real_depth(value):
    text = json.dumps(value)
    assert nesting_depth(text) == _depth(value)
    assert loads_bounded(text, max_chars=len(text), max_depth=_depth(value)) == value
