"""Validation of portal camera records: each kind of bad value named by row and column, and whole-file checks."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from console.domain.cameras import Capability, ConsentChannel, SharingMode
from console.domain.portal_records import (
    FIELDS,
    PortalRecord,
    Problem,
    as_row,
    validate,
    validate_rows,
)

GOOD = {
    "portal_id": "A-1", "owner_name": "Maria Lopez", "organisation": "", "phone": "413-555-0101",
    "email": "maria@example.com", "address": "12 Elm St", "lat": "42.1487", "lon": "-72.6079",
    "camera_label": "Front door", "capability": "live", "sharing_mode": "on_alert",
    "stream_url": "rtsp://viewer:secret@gw1.example:554/cam1", "bearing_deg": "90", "fov_deg": "80",
    "range_m": "30", "consent_date": "2025-03-01", "consent_channel": "web",
}


def problems_of(**changes) -> list[Problem]:
    result = validate({**GOOD, **changes}, 7)
    assert isinstance(result, list), f"expected problems for {changes}"
    return result


def test_a_good_row_becomes_a_typed_record():
    record = validate(GOOD, 2)
    assert isinstance(record, PortalRecord)
    assert (record.lat, record.lon, record.row) == (42.1487, -72.6079, 2)
    assert record.capability is Capability.LIVE and record.sharing_mode is SharingMode.ON_ALERT
    assert record.consent_at == datetime(2025, 3, 1, tzinfo=timezone.utc)
    assert record.consent_channel is ConsentChannel.WEB
    assert "secret" not in repr(record) and "Maria" not in repr(record) and "413" not in str(record)


def test_blank_optional_values_take_safe_defaults():
    record = validate({**GOOD, "capability": "", "sharing_mode": "", "stream_url": "", "bearing_deg": "",
                       "consent_channel": "", "camera_label": " "}, 2)
    assert record.capability is Capability.REGISTERED and record.sharing_mode is SharingMode.NEVER
    assert record.bearing_deg is None and record.camera_label == "Camera"
    assert record.consent_channel is ConsentChannel.WEB  # a dated portal registration was given on the web


@pytest.mark.parametrize("changes,column,words", [
    ({"lat": "abc"}, "lat", "not a number"),
    ({"range_m": "thirty"}, "range_m", "not a number"),
    ({"lat": "95", "lon": "-72"}, "lat", "out of range"),
    ({"lat": "-172.6", "lon": "42.1"}, "lat", "swapped"),
    ({"lon": "200"}, "lon", "out of range"),
    ({"lat": "0", "lon": "0"}, "lat", "missing"),
    ({"lat": ""}, "lat", "empty"),
    ({"portal_id": ""}, "portal_id", "empty"),
    ({"owner_name": ""}, "owner_name", "empty"),
    ({"address": "  "}, "address", "empty"),
    ({"sharing_mode": "sometimes"}, "sharing_mode", "never, on_alert, always"),
    ({"capability": "4k"}, "capability", "registered, live"),
    ({"consent_channel": "fax"}, "consent_channel", "not one of"),
    ({"stream_url": "ftp://cam.example/x"}, "stream_url", "must start with"),
    ({"stream_url": "rtsp://"}, "stream_url", "no host"),
    ({"stream_url": "rtsp://host:99999/x"}, "stream_url", "not a valid URL"),
    ({"bearing_deg": "400"}, "bearing_deg", "compass"),
    ({"fov_deg": "0"}, "fov_deg", "field of view"),
    ({"consent_date": "yesterday"}, "consent_date", "not a date"),
    ({"lat": "nan"}, "lat", "finite"),
    ({"portal_id": "x" * 65}, "portal_id", "at most 64"),
    # the camera rules (console/domain/cameras.py: check_camera_fields), as the portal path meets them
    ({"capability": "registered", "sharing_mode": "always", "stream_url": ""}, "sharing_mode", "registered-only"),
    ({"capability": "registered", "sharing_mode": "never"}, "stream_url", "registered-only camera has no stream"),
    ({"capability": "live", "stream_url": ""}, "stream_url", "needs a stream URL"),
    ({"stream_url": "rtsp://gw/cam\u202e1"}, "stream_url", "control characters"),
    ({"stream_url": "/relative/path"}, "stream_url", "must start with"),
    ({"stream_url": "rtsp://gw/" + "x" * 1000}, "stream_url", "at most 1,000"),
])
def test_each_bad_value_is_named_by_row_and_column(changes, column, words):
    problems = problems_of(**changes)
    assert any(p.column == column and words in p.message and p.row == 7 for p in problems), problems


def test_messages_never_carry_contact_details_or_credentials():
    problems = problems_of(stream_url="rtsp://viewer:secret@host:99999/x", phone="x" * 41, email="y@z." + "a" * 260)
    text = " ".join(map(str, problems))
    assert "secret" not in text and "xxxx" not in text and "y@z" not in text


def test_numbers_from_json_are_taken_as_numbers_but_booleans_are_not():
    assert validate({**GOOD, "lat": 42.1, "lon": -72.6, "portal_id": 1234}, 1).portal_id == "1234"
    assert any(p.column == "lat" for p in problems_of(lat=True))


def test_duplicate_portal_ids_in_a_file_report_both_rows():
    rows = [(2, GOOD), (3, {**GOOD, "lat": "42.15"}), (4, {**GOOD, "portal_id": "A-2"})]
    records, problems = validate_rows(rows)
    assert [r.portal_id for r in records] == ["A-2"]
    assert {(p.row, p.column) for p in problems} == {(2, "portal_id"), (3, "portal_id")}


def test_coordinates_swapped_but_in_range_are_caught_against_the_other_cameras():
    # lat -72, lon 42 is a valid point (in the Southern Ocean), but not in a Massachusetts registry.
    rows = [(n, {**GOOD, "portal_id": f"P{n}", "lat": f"42.14{n}", "lon": "-72.60"}) for n in range(2, 6)]
    rows.append((6, {**GOOD, "portal_id": "P6", "lat": "-72.6079", "lon": "42.1487"}))
    records, problems = validate_rows(rows)
    assert len(records) == 4
    assert [(p.row, p.column) for p in problems] == [(6, "lat")] and "swapped" in problems[0].message


def test_a_small_file_is_checked_against_the_registry_centre_given():
    rows = [(2, {**GOOD, "lat": "-72.6079", "lon": "42.1487"})]
    assert validate_rows(rows)[1] == []
    assert validate_rows(rows, centre=(42.15, -72.6))[1][0].column == "lat"


finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
text_value = st.one_of(st.none(), st.text(max_size=30), finite, st.integers(), st.booleans())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(FIELDS), text_value))
def test_any_row_gives_a_record_or_named_problems(row):
    result = validate(row, 3)
    if isinstance(result, PortalRecord):
        assert -90 <= result.lat <= 90 and -180 <= result.lon <= 180 and result.portal_id and result.owner_name
    else:
        assert result and all(p.row == 3 and p.column in FIELDS and p.message for p in result)


# A good row keeps the camera rules: registered only with sharing never and no stream, or live with a stream.
consent_fields = st.one_of(
    st.just({"capability": "registered", "sharing_mode": "never", "stream_url": ""}),
    st.fixed_dictionaries({"capability": st.just("live"), "sharing_mode": st.sampled_from([m.value for m in SharingMode]),
                           "stream_url": st.sampled_from(["rtsp://gw.example/cam1", "https://gw.example/whep/cam1",
                                                          "http://gw.example/live/index.m3u8"])}))
good_rows = st.builds(lambda fields, consent: {**fields, **consent}, st.fixed_dictionaries({
    "portal_id": st.text(alphabet="ABCDEFGH0123456789-", min_size=1, max_size=20),
    "owner_name": st.text(min_size=1, max_size=40).filter(str.strip),
    "address": st.text(min_size=1, max_size=60).filter(str.strip),
    "lat": st.floats(-89.9, 89.9).filter(lambda v: abs(v) > 1e-6),
    "lon": st.floats(-179.9, 179.9),
    "bearing_deg": st.one_of(st.none(), st.floats(0, 360)),
    "consent_date": st.one_of(st.just(""), st.dates().map(lambda d: d.isoformat())),
}), consent_fields)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(good_rows)
def test_a_valid_record_survives_the_trip_through_a_csv_row(row):
    record = validate(row, 2)
    assert isinstance(record, PortalRecord), record
    again = validate(as_row(record), 2)
    assert again == record
