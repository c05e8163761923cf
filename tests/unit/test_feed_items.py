"""Feed pages and items (pure): whatever JSON a portal sends, the answer is a typed page or BadPage, never a crash."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from console.domain.feed_items import AlertItem, BadPage, CameraRemoved, CameraUpsert, OwnerDeleted, parse_page
from console.domain.grants import GrantSource
from console.domain.portal_records import FIELDS

JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                    max_leaves=20)
ITEM_KEYS = st.sampled_from(("type", "alert_id", "camera_portal_id", "scope", "starts_at", "expires_at", "source",
                             "cancelled_at", *FIELDS))
ITEM_VALUES = st.none() | st.booleans() | st.integers() | st.floats() | st.sampled_from(
    ("camera", "alert", "camera_removed", "owner_deleted", "site", "2026-11-23T22:00:00Z", "P-1", "42.1", "live",
     "on_alert", "rtsp://10.0.0.1/x", "")) | st.text(max_size=12)


def page(*items) -> dict:
    return {"items": list(items), "next_cursor": "c1", "has_more": False}


@settings(max_examples=300, deadline=None)
@given(JSON)
def test_any_json_is_a_page_or_a_bad_page(body):
    try:
        parse_page(body)
    except BadPage as exc:
        assert str(exc)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.dictionaries(ITEM_KEYS, ITEM_VALUES, max_size=12), max_size=3))
def test_any_item_is_typed_or_rejected_with_its_number(items):
    try:
        parsed = parse_page(page(*items))
    except BadPage as exc:
        assert str(exc).startswith("item ")
    else:
        assert len(parsed.items) == len(items)


def test_each_item_type():
    parsed = parse_page(page(
        {"type": "camera", "portal_id": 1234, "owner_name": "A", "address": "1 Main St", "lat": "42.1", "lon": -72.6},
        {"type": "camera_removed", "portal_id": "P-2"},
        {"type": "owner_deleted", "camera_portal_id": "P-3"},
        {"type": "alert", "alert_id": "A-1", "camera_portal_id": "1234", "scope": "site",
         "starts_at": "2026-11-23T17:00:00-05:00", "expires_at": "2026-11-23T23:00:00Z", "source": "app",
         "cancelled_at": None}))
    cam, removed, deleted, alert = parsed.items
    assert isinstance(cam, CameraUpsert) and cam.record.portal_id == "1234" and cam.record.lat == 42.1
    assert removed == CameraRemoved("P-2") and deleted == OwnerDeleted("P-3")
    assert alert == AlertItem("A-1", "1234", True, datetime(2026, 11, 23, 22, tzinfo=timezone.utc),
                              datetime(2026, 11, 23, 23, tzinfo=timezone.utc), GrantSource.APP, None)


@pytest.mark.parametrize("body, message", [
    ([], "is a JSON array"),
    ({"next_cursor": "c", "has_more": False}, "has no 'items'"),
    ({"items": [], "next_cursor": 5, "has_more": False}, "'next_cursor' is a JSON number"),
    ({"items": [], "next_cursor": "c", "has_more": "no"}, "'has_more' is a JSON string"),
    (page({"type": "camera", "portal_id": "P", "owner_name": "Maria Lopez", "address": "1 A St", "lat": 91,
           "lon": 10}), "item 1 (camera 'P'): lat 91 is out of range"),
    (page({"type": "alert", "alert_id": "A", "camera_portal_id": "P", "starts_at": "soon",
           "expires_at": "2026-11-23T23:00:00Z"}), "starts_at 'soon' is not an ISO 8601 time"),
    (page({"type": "alert", "alert_id": "A", "camera_portal_id": "P", "starts_at": "2026-11-23T22:00:00Z",
           "expires_at": "2026-11-23T23:00:00Z", "source": "neighbour"}), "source is 'neighbour'"),
])
def test_bad_pages_say_what_is_wrong(body, message):
    with pytest.raises(BadPage, match=re.escape(message)) as caught:
        parse_page(body)
    assert "Maria" not in str(caught.value)
