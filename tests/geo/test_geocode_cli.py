"""`rtic-console geocode "ADDRESS" [--json]` through the real entry point, against recorded answers of all four kinds:
candidates with score, coordinates and the service area; exit 0 found, 1 nothing found, 2 error (one line)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from console.cli import main
from tests.geo.nominatim_server import Answer, GeocoderServer

MONTGOMERY = "452 Montgomery St, Chicopee"
CHICOPEE = "42.10,-72.66,42.22,-72.49"


@pytest.fixture
def settings_file(tmp_path, monkeypatch):
    machine, user = tmp_path / "machine.toml", tmp_path / "user.toml"
    monkeypatch.setenv("RTIC_MACHINE_SETTINGS", str(machine))
    monkeypatch.setenv("RTIC_USER_SETTINGS", str(user))

    def write(**values):
        values = {"geocoder_min_interval_s": 0.0, "geocoder_timeout_s": 2.0, **values}
        area = {"service_area": values.pop("service_area")} if "service_area" in values else {}
        machine.write_text("".join(f"{k} = {json.dumps(v)}\n" for k, v in area.items()))  # policy: machine file
        user.write_text("".join(f"{k} = {json.dumps(v)}\n" for k, v in values.items()))
    return write


def geocode(capsys, *argv):
    try:
        status = main(["geocode", *argv])
    except SystemExit as usage:  # argparse's range errors: one line, exit 2
        status = usage.code
    out, err = capsys.readouterr()
    return status, out, err


@pytest.mark.parametrize("kind", ["nominatim", "pelias", "arcgis", "census"])
def test_found_in_json_with_score_coordinates_and_area(kind, settings_file, capsys):
    with GeocoderServer(kind, {MONTGOMERY: f"{kind}_montgomery.json"}) as server:
        settings_file(geocoder_kind=kind, geocoder_url=server.url, service_area=CHICOPEE)
        status, out, err = geocode(capsys, MONTGOMERY, "--json")
    assert (status, err) == (0, "")
    answer = json.loads(out)
    assert answer["geocoder"]["kind"] == kind and answer["service_area"] == "42.1,-72.66,42.22,-72.49"
    best = answer["candidates"][0]
    assert "montgomery" in best["label"].lower() and best["inside"] is True
    assert abs(best["lat"] - 42.1462) < 0.001 and abs(best["lon"] + 72.6064) < 0.001
    assert best["score"] == (1.0 if kind in ("pelias", "arcgis") else None)


@pytest.mark.parametrize("kind", ["nominatim", "pelias", "arcgis", "census"])
def test_nothing_found_exits_1(kind, settings_file, capsys):
    with GeocoderServer(kind) as server:
        settings_file(geocoder_kind=kind, geocoder_url=server.url)
        status, out, err = geocode(capsys, "1 Nowhere Lane")
    assert status == 1 and out == "" and err.startswith("no place found for '1 Nowhere Lane'")


def test_text_lines_mark_a_place_outside_the_service_area(settings_file, capsys):
    with GeocoderServer("pelias", {"10 Downing St": "pelias_london.json"}) as server:
        settings_file(geocoder_kind="pelias", geocoder_url=server.url, service_area=CHICOPEE)
        status, out, err = geocode(capsys, "10 Downing St")
    assert (status, err) == (0, "")
    assert out == "1.00  51.503396, -0.127640  10 Downing Street, London, England, United Kingdom  " \
                  "OUTSIDE the service area\n"


@pytest.mark.parametrize("kind, answer, words", [
    ("arcgis", Answer.recorded("arcgis_invalid_token.json"), "Invalid Token"),
    ("nominatim", Answer.recorded("rate_limit.html", 429), "HTTP 429"),
    ("census", Answer(b"oops", 503, "text/plain"), "HTTP 503"),
    ("pelias", Answer.recorded("pelias_error.json", 400), "invalid param"),
])
def test_errors_exit_2_with_one_line(kind, answer, words, settings_file, capsys):
    with GeocoderServer(kind, {MONTGOMERY: answer}) as server:
        settings_file(geocoder_kind=kind, geocoder_url=server.url)
        status, out, err = geocode(capsys, MONTGOMERY)
    assert status == 2 and out == "" and len(err.splitlines()) == 1
    assert err.startswith(f"rtic-console: the {kind} geocoder at 127.0.0.1:") and words in err


def test_no_geocoder_or_a_bad_area_or_limit_is_exit_2(settings_file, capsys):
    settings_file(geocoder_kind="nominatim", geocoder_url="")
    assert geocode(capsys, MONTGOMERY)[0:2] == (2, "")
    settings_file(geocoder_kind="nominatim", geocoder_url="http://127.0.0.1:9", service_area="42.2,-72.6,42.1,-72.5")
    status, _, err = geocode(capsys, MONTGOMERY)
    assert status == 2 and "south must be less than north" in err
    settings_file(geocoder_kind="nominatim", geocoder_url="http://127.0.0.1:9")
    status, _, err = geocode(capsys, MONTGOMERY, "--limit", "999999999999999999999")
    assert status == 2 and "--limit 999999999999999999999 is out of range: give a whole number from 1 to 50" in err


def test_the_installed_command_in_a_subprocess(settings_file, tmp_path):
    with GeocoderServer("census", {MONTGOMERY: "census_montgomery.json"}) as server:
        settings_file(geocoder_kind="census", geocoder_url=server.url, service_area=CHICOPEE)
        done = subprocess.run([sys.executable, "-m", "console", "geocode", MONTGOMERY], capture_output=True,
                              text=True, timeout=120, env=os.environ.copy())
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == "  -    42.146303, -72.606418  452 MONTGOMERY ST, CHICOPEE, MA, 01013  inside the service area\n"
