"""The geocoder against a local Nominatim-protocol server: candidates, User-Agent, spacing, cache, no network."""

from __future__ import annotations

import pytest

from console.errors import UserError
from console.geo.geocoder import Candidate, Geocoder, GeocoderUnreachable
from tests.geo.nominatim_server import NominatimServer, closed_port_url, place

UA = "RTIC-Console-Test/1.0 (tests@example.gov)"
PLACES = {
    "452 Montgomery St, Chicopee": [place("452, Montgomery Street, Chicopee, MA 01013, USA", 42.14623, -72.60647)],
    "Main St": [place("Main Street, Chicopee, MA", 42.15, -72.61, 1),
                place("Main Street, Springfield, MA", 42.10, -72.59, 2),
                place("Main Street, Holyoke, MA", 42.20, -72.62, 3)],
}


class FakeClock:
    """The geocoder's own clock and sleep, so spacing is checked without waiting a second."""

    def __init__(self):
        self.now, self.slept = 100.0, []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


def make(url, tmp_path=None, clock=None, **kw):
    clock = clock or FakeClock()
    return Geocoder("nominatim", url, UA, cache_path=tmp_path / "cache.sqlite" if tmp_path else None,
                    clock=clock.clock, sleep=clock.sleep, timeout_s=2, **kw)


def test_one_match_with_an_identifying_user_agent():
    with NominatimServer(PLACES) as server:
        found = make(server.url).lookup("452 Montgomery St, Chicopee")
    assert found == [Candidate("452, Montgomery Street, Chicopee, MA 01013, USA", 42.14623, -72.60647)]
    assert server.requests[0]["user_agent"] == UA
    assert server.requests[0]["query"]["q"] == "452 Montgomery St, Chicopee"


def test_an_ambiguous_address_gives_every_candidate_in_order():
    with NominatimServer(PLACES) as server:
        found = make(server.url).lookup("Main St")
    assert [c.label.split(", ")[1] for c in found] == ["Chicopee", "Springfield", "Holyoke"]


def test_nothing_found_is_an_empty_list():
    with NominatimServer(PLACES) as server:
        assert make(server.url).lookup("1 Nowhere Lane") == []


def test_requests_are_spaced_by_the_minimum_interval():
    clock = FakeClock()
    with NominatimServer(PLACES) as server:
        geocoder = make(server.url, clock=clock, min_interval_s=1.0)
        geocoder.lookup("Main St")
        clock.now += 0.25
        geocoder.lookup("452 Montgomery St, Chicopee")
    assert clock.slept == [pytest.approx(0.75)]
    assert len(server.requests) == 2


def test_a_repeated_address_comes_from_the_cache_even_offline(tmp_path):
    with NominatimServer(PLACES) as server:
        first = make(server.url, tmp_path).lookup("Main St")
        again = make(server.url, tmp_path).lookup("  main   st ")
        assert len(server.requests) == 1
    offline = Geocoder("nominatim", server.url, UA, cache_path=tmp_path / "cache.sqlite", timeout_s=1)
    assert offline.lookup("Main St") == first == again


def test_no_network_says_so_and_points_to_coordinates():
    geocoder = make(closed_port_url())
    with pytest.raises(GeocoderUnreachable) as raised:
        geocoder.lookup("452 Montgomery St, Chicopee")
    assert "cannot be reached" in str(raised.value) and "coordinates" in str(raised.value)


def test_unconfigured_or_empty_input_is_a_user_error():
    with pytest.raises(UserError, match="no geocoder is configured"):
        Geocoder("nominatim", "", UA).lookup("Main St")
    with pytest.raises(UserError, match="type an address"):
        Geocoder("nominatim", "http://127.0.0.1:9", UA).lookup("   ")
    with pytest.raises(UserError, match="not known"):
        Geocoder("bing", "http://x", UA)
