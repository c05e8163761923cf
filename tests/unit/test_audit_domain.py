"""Pure audit rules: canonical form, hashing, the details guard, timestamps, the chain walk."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from console.domain.audit import (
    GENESIS_HASH,
    ChainWalker,
    UnsafeAuditDetails,
    canonical_details,
    canonical_form,
    check_details,
    event_hash,
    format_timestamp,
    parse_timestamp,
)
from console.errors import UserError

texts = st.text(max_size=20)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**12, 10**12) | st.floats(allow_nan=False, allow_infinity=False) | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=8,
)


@given(seq=st.integers(1, 10**12), at=texts, user=texts, ws=texts, action=texts, outcome=texts,
       cam=st.none() | st.integers(0, 10**9), inc=st.none() | st.integers(0, 10**9),
       details=st.dictionaries(texts, json_values, max_size=4))
def test_canonical_form_is_the_compact_sorted_json_array(seq, at, user, ws, action, outcome, cam, inc, details):
    expected = json.dumps([seq, at, user, ws, action, outcome, cam, inc, details, "p" * 64],
                          separators=(",", ":"), ensure_ascii=False, sort_keys=True, allow_nan=False)
    built = canonical_form(seq, at, user, ws, action, outcome, cam, inc, canonical_details(details), "p" * 64)
    assert built == expected.encode("utf-8")
    assert event_hash(seq, at, user, ws, action, outcome, cam, inc, canonical_details(details), "p" * 64) \
        == hashlib.sha256(built).hexdigest()


def test_every_field_changes_the_hash():
    base = [1, "2026-11-01T00:00:00.000Z", "alice", "ws", "login", "ok", None, None, "{}", GENESIS_HASH]
    digests = {event_hash(*base)}
    variants = [2, "2026-11-01T00:00:00.001Z", "alicf", "wt", "logout", "failed", 1, 1, '{"a":1}', "1" * 64]
    for index, value in enumerate(variants):
        changed = list(base)
        changed[index] = value
        digests.add(event_hash(*changed))
    assert len(digests) == len(base) + 1


def test_canonical_details_sorts_keys_and_refuses_non_json():
    assert canonical_details({"b": 1, "a": [1.5, "é"]}) == '{"a":[1.5,"é"],"b":1}'
    with pytest.raises(UserError, match="plain JSON"):
        canonical_details({"x": float("nan")})
    with pytest.raises(UserError, match="plain JSON"):
        canonical_details({"x": object()})


@pytest.mark.parametrize("details", [
    {"phone": "1"}, {"ownerPhone": "1"}, {"owner_email": "1"}, {"Password": "x"}, {"stream.passwd": "x"},
    {"api-token": "x"}, {"contact": {"name": "x"}}, {"old": {"totp": "123"}}, {"credentials": []},
    {"url": "rtsp://admin:secret@10.0.0.5:554/live"}, {"new": ["ok", "http://user@host/x"]},
    {"note": "call jane.doe@example.org"},
])
def test_details_guard_refuses_contact_details_and_credentials(details):
    with pytest.raises(UnsafeAuditDetails) as caught:
        check_details(details)
    assert "secret" not in str(caught.value) and "jane" not in str(caught.value)


@pytest.mark.parametrize("details", [
    {}, {"stream_id": 4, "reason": "armed robbery, suspect fled north"}, {"url": "rtsp://10.0.0.5:554/live"},
    {"field": "sharing_mode", "old": "never", "new": "always"}, {"rule": "no_grant"}, {"duration_s": 12.5},
    {"username": "alice"}, {"phoneme": "x"},
])
def test_details_guard_lets_ids_and_facts_through(details):
    check_details(details)


def test_timestamps_are_fixed_width_utc_milliseconds():
    moment = datetime(2026, 1, 2, 3, 4, 5, 999999, tzinfo=timezone(timedelta(hours=2)))
    assert format_timestamp(moment) == "2026-01-02T01:04:05.999Z"
    assert format_timestamp(datetime(2026, 1, 2, tzinfo=timezone.utc)) == "2026-01-02T00:00:00.000Z"
    assert parse_timestamp("2026-01-02T01:04:05.999Z") == datetime(2026, 1, 2, 1, 4, 5, 999000, tzinfo=timezone.utc)
    with pytest.raises(ValueError):
        format_timestamp(datetime(2026, 1, 2))


def _chain(n):
    rows, prev = [], GENESIS_HASH
    for seq in range(1, n + 1):
        fields = (seq, "2026-11-01T00:00:00.000Z", "u", "w", "login", "ok", None, seq, "{}")
        digest = event_hash(*fields, prev)
        rows.append((*fields, prev, digest))
        prev = digest
    return rows


def test_chain_walker_accepts_an_intact_chain_fed_in_batches():
    rows = _chain(7)
    walker = ChainWalker(anchor=(5, rows[4][-1]))
    assert walker.feed(rows[:3]) and walker.feed(rows[3:]) and walker.feed([])
    result = walker.result()
    assert (result.ok, result.checked, result.last_seq, result.last_hash) == (True, 7, 7, rows[-1][-1])


def test_chain_walker_on_an_empty_log():
    result = ChainWalker().result()
    assert result.ok and result.checked == 0 and result.last_seq is None
    assert ChainWalker(anchor=(3, "a" * 64)).result().first_bad_seq == 1


def test_chain_walker_names_the_first_bad_event():
    rows = _chain(5)
    rows[2] = rows[2][:4] + ("logout",) + rows[2][5:]
    walker = ChainWalker()
    assert not walker.feed(rows)
    assert (walker.result().first_bad_seq, walker.result().checked) == (3, 2)
    assert not walker.feed(_chain(1))  # stays broken


@given(n=st.integers(1, 12), data=st.data())
def test_any_change_to_any_stored_field_is_found_at_that_event(n, data):
    rows = _chain(n)
    index = data.draw(st.integers(0, n - 1))
    column = data.draw(st.integers(1, 10))  # every column but seq (a changed seq is a gap or a reorder)
    row = list(rows[index])
    old = row[column]
    if isinstance(old, int):
        row[column] = old + data.draw(st.integers(1, 5))
    elif old is None:
        row[column] = data.draw(st.integers(0, 9))
    else:
        position = data.draw(st.integers(0, len(old) - 1))
        replacement = data.draw(st.characters(codec="utf-8").filter(lambda c: c != old[position]))
        row[column] = old[:position] + replacement + old[position + 1:]
    rows[index] = tuple(row)
    walker = ChainWalker()
    walker.feed(rows)
    assert walker.result().first_bad_seq == index + 1
