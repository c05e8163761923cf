"""Each of the four geocoders, against recorded real answers served on loopback: candidates, nothing found, and every
error answer (rate-limit page, 498 with HTTP 200, 5xx, not JSON, hostile bodies) as one sentence."""

from __future__ import annotations

import pytest

from console.domain.service_area import parse_box
from console.errors import UserError
from console.geo.geocoder import MAX_BODY_BYTES, Geocoder, GeocoderUnreachable
from console.geo.geocoder_answers import MAX_LABEL
from tests.geo.nominatim_server import Answer, GeocoderServer

UA = "RTIC-Console-Test/1.0 (tests@example.gov)"
MONTGOMERY = "452 Montgomery St, Chicopee"
CHICOPEE = parse_box("42.10,-72.66,42.22,-72.49")
KINDS = ("nominatim", "pelias", "arcgis", "census")


def geocoder(kind: str, url: str, **kw) -> Geocoder:
    return Geocoder(kind, url, UA, min_interval_s=0, timeout_s=kw.pop("timeout_s", 2), **kw)


def one_sentence(message: str) -> None:
    assert "\n" not in message and "Traceback" not in message and len(message) < 400
    assert "Error(" not in message and "{" not in message


@pytest.mark.parametrize("kind, first, score", [
    ("nominatim", ("452, Montgomery Street, Willimansett, Chicopee", 42.1462317, -72.6064756), None),
    ("pelias", ("452 Montgomery St, Chicopee, MA, USA", 42.146231, -72.606476), 1.0),
    ("arcgis", ("452 Montgomery St, Chicopee, Massachusetts, 01013", 42.146234113, -72.606478935), 1.0),
    ("census", ("452 MONTGOMERY ST, CHICOPEE, MA, 01013", 42.14630271460282, -72.60641829712452), None),
])
def test_recorded_answer_gives_candidates_with_score_and_area(kind, first, score):
    with GeocoderServer(kind, {MONTGOMERY: f"{kind}_montgomery.json"}) as server:
        found = geocoder(kind, server.url, service_area=CHICOPEE).lookup(MONTGOMERY)
    label, lat, lon = first
    assert found[0].label.startswith(label) and (found[0].lat, found[0].lon) == (lat, lon)
    assert found[0].score == score and found[0].inside is True
    assert server.requests[0]["user_agent"] == UA
    if kind in ("pelias", "arcgis"):  # their recordings hold a second, weaker candidate
        assert len(found) == 2 and found[1].score < found[0].score
    else:
        assert len(found) == 1


@pytest.mark.parametrize("kind", KINDS)
def test_nothing_found_is_an_empty_list(kind):
    with GeocoderServer(kind) as server:
        assert geocoder(kind, server.url).lookup("1 Nowhere Lane, Chicopee") == []


def test_pelias_sends_its_own_parameters_and_the_key():
    with GeocoderServer("pelias", {MONTGOMERY: "pelias_montgomery.json"}) as server:
        geocoder("pelias", server.url, api_key="k-123").lookup(MONTGOMERY, limit=3)
    assert server.requests[0]["query"] == {"text": MONTGOMERY, "size": "3", "api_key": "k-123"}


def test_arcgis_asks_for_wgs84_and_sends_the_token():
    with GeocoderServer("arcgis", {MONTGOMERY: "arcgis_montgomery.json"}) as server:
        geocoder("arcgis", server.url, api_key="tok").lookup(MONTGOMERY, limit=2)
    query = server.requests[0]["query"]
    assert (query["SingleLine"], query["f"], query["outSR"], query["maxLocations"], query["token"]) == (
        MONTGOMERY, "json", "4326", "2", "tok")


@pytest.mark.parametrize("kind, answer, expected", [
    ("arcgis", Answer.recorded("arcgis_invalid_token.json"), "error 498: Invalid Token): check the setting "
                                                             "geocoder_api_key"),
    ("arcgis", Answer.recorded("arcgis_web_mercator.json"), "spatial reference 3857, not WGS 84"),
    ("nominatim", Answer.recorded("rate_limit.html", 429), "limiting requests (HTTP 429"),
    ("nominatim", Answer.recorded("rate_limit.html", 200), "an HTML page, not JSON"),
    ("nominatim", Answer.recorded("nominatim_error.json", 400), "Nominatim refused the request (error 400: "
                                                                "Parameter 'limit' must be a number.)"),
    ("nominatim", Answer.recorded("nominatim_out_of_range.json"), "'123.4567890', '-72.6064756' is not a place"),
    ("pelias", Answer.recorded("pelias_error.json", 400), "Pelias refused the request (invalid param 'text'"),
    ("census", Answer.recorded("census_error.json", 400), "Address cannot be empty"),
    ("census", Answer(b"<html><body>502 Bad Gateway</body></html>", 502, "text/html"), "has a fault (HTTP 502"),
    ("pelias", Answer(b"\xff\xfe\x00garbage", 200, "application/json"), "not UTF-8"),
    ("census", Answer.json({"result": {"addressMatches": "none"}}), "expected a list of addressMatches, got text"),
    ("pelias", Answer.json({"type": "Feature"}), "not a GeoJSON FeatureCollection"),
    ("pelias", Answer.json({}, 403), "refused the request (HTTP 403 Forbidden): check the settings"),
    ("nominatim", Answer(b"[" * 100_000 + b"]" * 100_000), "nested more than 32 levels"),
    ("arcgis", Answer(b"{\"candidates\": [" + b" " * (MAX_BODY_BYTES + 10) + b"]}"), "larger than 2,000,000 bytes"),
])
def test_error_answers_are_one_sentence_naming_the_geocoder(kind, answer, expected):
    with GeocoderServer(kind, {MONTGOMERY: answer}) as server:
        with pytest.raises(GeocoderUnreachable) as raised:
            geocoder(kind, server.url).lookup(MONTGOMERY)
    message = str(raised.value)
    assert expected in message and f"the {kind} geocoder at 127.0.0.1:" in message
    one_sentence(message.replace("{", "").replace("Parameter", "parameter"))


def test_a_geocoder_that_goes_quiet_times_out_in_one_sentence():
    with GeocoderServer("census", {MONTGOMERY: Answer.hang()}) as server:
        with pytest.raises(GeocoderUnreachable, match=r"did not answer within 0.5 s"):
            geocoder("census", server.url, timeout_s=0.5).lookup(MONTGOMERY)


def test_hostile_candidates_are_cut_cleaned_or_dropped():
    huge = "A" * 100_000
    places = [
        {"display_name": huge, "lat": "42.15", "lon": "-72.6"},
        {"display_name": "Evil \u202eSt\u0000reet\nNewline", "lat": "42.15", "lon": "-72.6"},
        {"display_name": "no coordinates"},
        {"display_name": "NaN", "lat": "nan", "lon": "-72.6"},
        {"display_name": "bool", "lat": True, "lon": -72.6},
        "not an object",
    ]
    with GeocoderServer("nominatim", {MONTGOMERY: Answer.json(places)}) as server:
        found = geocoder("nominatim", server.url).lookup(MONTGOMERY, limit=10)
    assert len(found) == 2
    assert len(found[0].label) == MAX_LABEL and found[0].label.endswith("…")
    assert found[1].label == "Evil St reet Newline"


def test_far_away_answers_are_marked_outside_the_service_area():
    answers = {"10 Downing St": "nominatim_london.json", "McMurdo": "nominatim_antarctica.json"}
    with GeocoderServer("nominatim", answers) as server:
        london = geocoder("nominatim", server.url, service_area=CHICOPEE).lookup("10 Downing St")
        mcmurdo = geocoder("nominatim", server.url, service_area=CHICOPEE).lookup("McMurdo")
        unchecked = geocoder("nominatim", server.url).lookup("McMurdo")
    assert [c.inside for c in london + mcmurdo] == [False, False]
    assert unchecked[0].inside is None and unchecked[0].lat < -77


def test_an_overlong_address_is_not_sent():
    with GeocoderServer("nominatim") as server:
        with pytest.raises(UserError, match="longer than 500"):
            geocoder("nominatim", server.url).lookup("x" * 501)
    assert server.requests == []
