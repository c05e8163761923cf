"""`rtic-console cad import|watch|poll`: one JSON line per pass, rejections one line each, exit 2 on anything
rejected, and bad input one line with no traceback; on both backends."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.support.cli import run_cli
from console.domain.users import Role
from console.store.models import IncidentRow
from tests.services.test_cad import CadEndpoint

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "eido"
incidents = IncidentRow.__table__


@pytest.fixture
def signed(database, sign_in_as):
    return sign_in_as(database, Role.DISPATCHER)


def run(database, capsys, *argv, user=("--user", "cli-dispatcher")):
    done = run_cli("cad", *argv, "--db", database.url, *user)  # argparse's range errors too: one line, exit 2
    return done.returncode, done.stdout, done.stderr


def cad_numbers(database):
    with database.engine.connect() as conn:
        return sorted(conn.execute(select(incidents.c.cad_number)).scalars())


def test_import_an_eido_then_its_update(database, signed, capsys):
    status, out, err = run(database, capsys, "import", SAMPLES / "new_burglary.json")
    assert (status, err) == (0, "")
    summary = json.loads(out)
    assert summary["created"] == 1 and summary["rejected"] == 0 and len(out.splitlines()) == 1
    status, out, _ = run(database, capsys, "import", SAMPLES / "update_burglary.json")
    assert json.loads(out)["updated"] == 1 and cad_numbers(database) == ["CPD-2026-004711"]


def test_import_a_malformed_eido_is_one_line_and_leaves_nothing(database, signed, capsys):
    status, out, err = run(database, capsys, "import", SAMPLES / "malformed_dangling_location.json")
    assert status == 2 and json.loads(out)["rejected"] == 1
    assert err == ("rtic-console: rejected malformed_dangling_location.json: CPD-2026-004711: "
                   "incidentComponent.locationReference: 'loc-404' names no entry of locationComponent\n")
    assert cad_numbers(database) == []


def test_import_a_csv_export_with_a_column_mapping(database, signed, capsys, tmp_path):
    text = (SAMPLES / "export.csv").read_text().replace("incident_number,", "EventNo,", 1)
    (tmp_path / "calls.csv").write_text(text)
    status, out, err = run(database, capsys, "import", tmp_path / "calls.csv", "--map", "incident_number=EventNo")
    assert status == 2 and json.loads(out)["created"] == 2
    assert "calls.csv line 4: CPD-2026-005003: priority: 'high' is not a whole number" in err
    assert cad_numbers(database) == ["CPD-2026-005001", "CPD-2026-005002"]


def test_watch_once_moves_the_files(database, signed, capsys, tmp_path):
    for name in ("new_burglary.json", "truncated.json"):
        shutil.copy(SAMPLES / name, tmp_path / name)
        os.utime(tmp_path / name, (1_700_000_000, 1_700_000_000))
    status, out, err = run(database, capsys, "watch", tmp_path, "--once")
    assert status == 2 and json.loads(out)["created"] == 1 and "truncated.json: document: not JSON" in err
    assert (tmp_path / "processed" / "new_burglary.json").exists()
    assert (tmp_path / "rejected" / "truncated.json.reason.txt").exists()


def test_poll_once_against_the_cad_endpoint(database, signed, capsys):
    with CadEndpoint() as endpoint:
        endpoint.serve("new_burglary.json", etag='"a"')
        status, out, _ = run(database, capsys, "poll", endpoint.base_url + "/eido", "--once")
        assert status == 0 and json.loads(out)["created"] == 1
        status, out, _ = run(database, capsys, "poll", endpoint.base_url + "/eido", "--once")
        assert status == 0 and json.loads(out)["created"] == 0
        assert endpoint.seen[1]["If-None-Match"] == '"a"'  # the ETag was kept in the database between runs
        endpoint.fail_with = 503
        status, out, err = run(database, capsys, "poll", endpoint.base_url + "/eido", "--once")
    assert status == 2 and json.loads(out)["deferred"] == 1 and "HTTP 503" in err


@pytest.mark.parametrize("argv, words", [
    (["import", "/no/such/file.json"], "there is no file /no/such/file.json"),
    (["watch", "/no/such/folder", "--once"], "there is no folder /no/such/folder"),
    (["poll", "ftp://cad.example/eido", "--once"], "is not an http:// or https:// URL"),
    (["import", str(SAMPLES / "export.csv"), "--map", "incident_number"], "is not FIELD=COLUMN"),
    (["poll", "http://127.0.0.1:9/", "--once", "--interval", "0"], "--interval 0 is out of range"),
    (["watch", "/tmp", "--once", "--settle", "1e400"], "--settle '1e400' is not a finite number"),
])
def test_bad_input_is_one_line(database, signed, capsys, argv, words):
    status, _, err = run(database, capsys, *argv)
    assert status == 2 and words in err and len(err.splitlines()) == 1 and "Traceback" not in err


def _settings(tmp_path, monkeypatch, **values):
    """The workstation's machine file (service_area is set only there: it is agency policy)."""
    path = tmp_path / "machine.toml"
    path.write_text("".join(f"{k} = {json.dumps(v)}\n" for k, v in values.items()), encoding="utf-8")
    monkeypatch.setenv("RTIC_MACHINE_SETTINGS", str(path))
    monkeypatch.setenv("RTIC_USER_SETTINGS", str(tmp_path / "user.toml"))


def test_import_a_cad_address_the_geocoder_places_in_london_is_rejected(database, capsys, tmp_path, monkeypatch,
                                                                         sign_in_as):
    sign_in_as(database, Role.DISPATCHER)
    from tests.geo.nominatim_server import GeocoderServer

    document = json.loads((SAMPLES / "address_only.json").read_text())
    document["locationComponent"][0]["locationByValue"] = {"civicAddress": "10 Downing St, London"}
    (tmp_path / "london.json").write_text(json.dumps(document))
    with GeocoderServer("nominatim", {"10 Downing St, London": "nominatim_london.json"}) as server:
        _settings(tmp_path, monkeypatch, geocoder_kind="nominatim", geocoder_url=server.url,
                  geocoder_min_interval_s=0.0, service_area="42.10,-72.66,42.22,-72.49")
        status, out, err = run(database, capsys, "import", tmp_path / "london.json")
    assert status == 2 and json.loads(out)["rejected"] == 1
    assert err == ("rtic-console: rejected london.json: CPD-2026-004720: location: 51.50336, -0.12762 (the "
                   "geocoder's place for '10 Downing St, London') is outside the service area "
                   "(42.1,-72.66,42.22,-72.49): not taken, the incident is left as it was\n")
    assert cad_numbers(database) == []


def test_import_with_a_broken_service_area_file_is_one_line_and_reads_nothing(database, capsys, tmp_path,
                                                                              monkeypatch, sign_in_as):
    sign_in_as(database, Role.DISPATCHER)
    (tmp_path / "area.geojson").write_text('{"type": "Point", "coordinates": [0, 0]}')
    _settings(tmp_path, monkeypatch, service_area=str(tmp_path / "area.geojson"))
    status, out, err = run(database, capsys, "import", SAMPLES / "new_burglary.json")
    assert (status, out) == (2, "")
    assert err == "rtic-console: setting service_area: area.geojson: 'Point' is not a Polygon, MultiPolygon, " \
                  "Feature or FeatureCollection\n"
    assert cad_numbers(database) == []


def test_watch_once_with_a_poisoned_file_beside_a_good_one(database, capsys, tmp_path, sign_in_as):
    sign_in_as(database, Role.DISPATCHER)
    shutil.copy(SAMPLES / "new_burglary.json", tmp_path / "good.json")
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    past = os.path.getmtime(tmp_path / "good.json") - 60
    for name in ("good.json", "deep.json"):
        os.utime(tmp_path / name, (past, past))
    status, out, err = run(database, capsys, "watch", tmp_path, "--once")
    assert status == 2 and json.loads(out)["created"] == 1 and json.loads(out)["rejected"] == 1
    assert err == "rtic-console: rejected deep.json: document: nested more than 64 levels deep\n"
    assert (tmp_path / "rejected" / "deep.json.reason.txt").is_file() and cad_numbers(database) == ["CPD-2026-004711"]


def test_cad_intake_signs_in_and_is_recorded_with_the_os_account(database, capsys, sign_in_as):
    status, _, err = run(database, capsys, "import", SAMPLES / "export.csv", user=())
    assert status == 2 and err == ("rtic-console: `rtic-console cad import` needs a signed-in console account: give "
                                   "--user NAME (the password is asked on the terminal, or read from the file named "
                                   "by RTIC_PASSWORD_FILE)\n")
    sign_in_as(database, Role.DETECTIVE, "det")
    status, _, err = run(database, capsys, "import", SAMPLES / "new_burglary.json", user=("--user", "det"))
    assert (status, err) == (0, "")
    from console.store.audit import AuditLog
    [event] = AuditLog(database).query(actions=("cad_incident",))
    assert (event.username, event.details["signed_in_as"], event.details["command"]) == ("cad", "det", "cad import")
    assert event.details["os_user"]
