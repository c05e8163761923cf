"""Incidents from CAD on both backends: EIDO create/update/close, live views ended on close, nothing half-made,
the watched folder, the polled HTTP endpoint (a local server speaking HTTP with ETags), CSV exports, the runner."""

from __future__ import annotations

import json
import os
import shutil
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from console.domain.access import Purpose
from console.domain.audit import Action
from console.domain.changes import ChangeKind
from console.domain.eido import parse_eido
from console.domain.users import Role
from console.geo.geocoder import Geocoder
from console.services.cad import CadService, CadUnavailable
from console.services.cad_sources import (
    CadRunner,
    FileSource,
    FolderSource,
    HttpSource,
    read_documents,
)
from console.store import changes as change_store
from console.store.models import IncidentRow
from console.store.users import view_sessions
from tests.geo.nominatim_server import NominatimServer, closed_port_url, place
from tests.services.conftest import NOW, audit_rows, refuse_audit_writes
from tests.support.local_http import LocalHttpServer, QuietHandler

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "eido"
LATER = NOW + timedelta(minutes=10)
incidents = IncidentRow.__table__


def eido(name: str):
    return parse_eido(json.loads((SAMPLES / name).read_text(encoding="utf-8")))


@pytest.fixture
def cad(database, audit):
    return CadService(database, audit, workstation="rtic-ws-1", clock=lambda: LATER)


def incident_rows(database):
    with database.engine.connect() as conn:
        return conn.execute(select(incidents).where(incidents.c.source != "console").order_by(incidents.c.id)).all()


def incident_changes(database):
    with database.engine.connect() as conn:
        return [c.record_id for c in change_store.changes_since(conn, 0) if c.kind is ChangeKind.INCIDENT]


def test_new_update_and_close_round_trip(database, cad):
    created = cad.apply(eido("new_burglary.json"))
    assert created.result == "created" and created.written
    [row] = incident_rows(database)
    assert (row.id, row.cad_number, row.type, row.priority, row.cad_status) == (
        created.incident_id, "CPD-2026-004711", "Burglary in progress", 1, "Dispatched")
    assert (row.lat, row.lon, row.address, row.closed_at) == (42.1487, -72.6079, "17 Center St, Chicopee, MA 01013",
                                                              None)
    assert incident_changes(database) == [created.incident_id]
    [event] = audit_rows(database, Action.CAD_INCIDENT)
    assert event["incident_id"] == created.incident_id and event["username"] == "cad"
    assert event["details"] == {"cad_number": "CPD-2026-004711", "change": "created", "source": "eido"}

    assert cad.apply(eido("new_burglary.json")).result == "unchanged"  # the same document twice: nothing written
    updated = cad.apply(eido("update_burglary.json"))
    assert (updated.result, updated.previous_priority, updated.incident_id) == ("updated", 1, created.incident_id)
    assert cad.apply(eido("new_burglary.json")).result == "stale"  # an older update arriving late
    [row] = incident_rows(database)
    assert (row.priority, row.cad_status, row.lat, row.address, row.version) == (
        2, "OnScene", 42.1502, "40 Front St, Chicopee, MA", 2)

    closed = cad.apply(eido("closed_burglary.json"))
    assert closed.result == "closed"
    [row] = incident_rows(database)
    assert row.closed_at == LATER and row.cad_status == "Closed"  # CAD's time is later than ours: ours
    assert incident_changes(database) == [created.incident_id] * 3  # one change per write, none for no-ops
    assert [e["details"]["change"] for e in audit_rows(database, Action.CAD_INCIDENT)] == [
        "created", "updated", "closed"]


def test_closing_in_cad_ends_the_incidents_live_views(database, cad, viewing, people, registry):
    created = cad.apply(eido("new_burglary.json"))
    why = Purpose(reason="burglar seen leaving by the back door", cad_number="CPD-2026-004711")
    auth = viewing.start_view(people[Role.DISPATCHER], registry["always"], why, NOW)
    other = viewing.start_view(people[Role.DISPATCHER], registry["always"],
                               Purpose(reason="unrelated", cad_number="CAD-2026-0042"), NOW)
    closed = cad.apply(eido("closed_burglary.json"))
    assert (closed.result, closed.views_ended) == ("closed", 1)
    with database.engine.connect() as conn:
        rows = {r.id: r for r in conn.execute(select(view_sessions))}
    assert rows[auth.session_id].incident_id == created.incident_id
    assert (rows[auth.session_id].ended_at, rows[auth.session_id].end_reason) == (LATER, "incident_closed")
    assert rows[other.session_id].ended_at is None  # another incident's view goes on
    [end] = audit_rows(database, Action.VIEW_END)
    assert end["details"]["session_id"] == auth.session_id and end["details"]["end_reason"] == "incident_closed"
    assert end["details"]["duration_s"] == 600.0
    # The closed incident cannot be watched any more, and applying the close again ends nothing twice.
    assert cad.apply(eido("closed_burglary.json")).views_ended == 0
    assert len(audit_rows(database, Action.VIEW_END)) == 1


def test_views_left_open_by_a_failure_are_ended_on_the_next_apply(database, audit, cad, viewing, people, registry):
    cad.apply(eido("new_burglary.json"))
    auth = viewing.start_view(people[Role.DISPATCHER], registry["always"],
                              Purpose(reason="watching the street", cad_number="CPD-2026-004711"), NOW)
    refuse_audit_writes(database)
    with pytest.raises(CadUnavailable, match="it will be tried again|audit"):
        cad.apply(eido("closed_burglary.json"))
    assert incident_rows(database)[0].closed_at is None  # nothing written: no close without its audit event
    with database.engine.begin() as conn:
        conn.execute(text("DROP TRIGGER refuse_audit" + (" ON audit_events" if database.dialect != "sqlite" else "")))
    assert cad.apply(eido("closed_burglary.json")).views_ended == 1
    with database.engine.connect() as conn:
        assert conn.execute(select(view_sessions.c.end_reason).where(
            view_sessions.c.id == auth.session_id)).scalar_one() == "incident_closed"


def test_out_of_order_close_then_update_keeps_it_closed_and_reopen_is_newer(database, cad):
    cad.apply(eido("new_burglary.json"))
    cad.apply(eido("closed_burglary.json"))
    assert cad.apply(eido("update_burglary.json")).result == "stale"
    assert incident_rows(database)[0].closed_at is not None
    reopened = json.loads((SAMPLES / "closed_burglary.json").read_text())
    reopened["incidentComponent"].update(lastUpdateTimeStamp="2026-11-23T22:30:00-05:00",
                                         incidentStatusCommonRegistryText=["Dispatched"])
    assert cad.apply(parse_eido(reopened)).result == "reopened"
    assert incident_rows(database)[0].closed_at is None


def test_malformed_eido_leaves_no_incident_and_no_trace(database, cad):
    for name in ("malformed_no_tracking_id.json", "malformed_dangling_location.json", "malformed_timestamp.json",
                 "malformed_location_xml.json", "truncated.json"):
        report = FileSource(SAMPLES / name).run_once(cad)
        assert report.applied == [] and len(report.rejected) == 1, name
        assert report.rejected[0][0] == name
    assert incident_rows(database) == []
    assert audit_rows(database, Action.CAD_INCIDENT) == [] and incident_changes(database) == []


def test_address_only_is_geocoded_or_rejected(database, audit, tmp_path):
    places = {"200 Exchange St, Chicopee, MA 01013": [place("200, Exchange Street, Chicopee", 42.1524, -72.6081)]}
    with NominatimServer(places) as server:
        geocoder = Geocoder("nominatim", server.url, "test-agent", min_interval_s=0, timeout_s=2)
        cad = CadService(database, audit, geocode=geocoder.lookup, workstation="ws", clock=lambda: LATER)
        applied = cad.apply(eido("address_only.json"))
        assert applied.result == "created" and (applied.incident.lat, applied.incident.lon) == (42.1524, -72.6081)
        nowhere = json.loads((SAMPLES / "address_only.json").read_text())
        nowhere["incidentComponent"]["incidentTrackingIdentifier"] = "CPD-2026-004799"
        nowhere["locationComponent"][0]["locationByValue"] = {"civicAddress": "1 Nowhere Lane"}
        report = FileSource(_write(tmp_path / "nowhere.json", nowhere)).run_once(cad)
    assert "found no place for the address '1 Nowhere Lane'" in report.rejected[0][1]
    assert [r.cad_number for r in incident_rows(database)] == ["CPD-2026-004720"]
    offline = CadService(database, audit, geocode=Geocoder("nominatim", closed_port_url(), "t", min_interval_s=0,
                                                           timeout_s=1).lookup, workstation="ws")
    with pytest.raises(CadUnavailable, match="tried again"):
        offline.apply(parse_eido(nowhere))
    with pytest.raises(Exception, match="no geocoder is configured"):
        CadService(database, audit, workstation="ws").apply(parse_eido(nowhere))


def _write(path: Path, document) -> Path:
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_folder_watcher_moves_files_and_leaves_half_written_ones(database, cad, tmp_path):
    drop = tmp_path / "drop"
    drop.mkdir()
    for name in ("new_burglary.json", "malformed_timestamp.json", "export.csv"):
        shutil.copy(SAMPLES / name, drop / name)
    (drop / ".incoming.json").write_text("{", encoding="utf-8")  # being written under a hidden name
    (drop / "next.json.part").write_text("{", encoding="utf-8")
    fresh = drop / "fresh.json"
    shutil.copy(SAMPLES / "update_burglary.json", fresh)
    old = fresh.stat().st_mtime - 60
    for name in ("new_burglary.json", "malformed_timestamp.json", "export.csv"):
        os.utime(drop / name, (old, old))

    report = FolderSource(drop, settle_s=30).run_once(cad)
    assert report.summary()["created"] == 3 and report.summary()["rejected"] == 2
    assert sorted(p.name for p in (drop / "processed").iterdir()) == ["export.csv", "export.csv.reason.txt",
                                                                       "new_burglary.json"]
    assert sorted(p.name for p in (drop / "rejected").iterdir()) == ["malformed_timestamp.json",
                                                                      "malformed_timestamp.json.reason.txt"]
    assert "lastUpdateTimeStamp" in (drop / "rejected" / "malformed_timestamp.json.reason.txt").read_text()
    assert "line 4" in (drop / "processed" / "export.csv.reason.txt").read_text()
    assert {".incoming.json", "next.json.part", "fresh.json"} <= {p.name for p in drop.iterdir()}

    report = FolderSource(drop, settle_s=0).run_once(cad)  # the fresh file has settled now
    assert [a.result for a in report.applied] == ["updated"] and not (drop / "fresh.json").exists()
    assert (drop / ".incoming.json").exists()


def test_folder_file_stays_when_it_cannot_be_applied_now(database, cad, tmp_path):
    shutil.copy(SAMPLES / "new_burglary.json", tmp_path / "a.json")
    refuse_audit_writes(database)
    report = FolderSource(tmp_path, settle_s=0).run_once(cad)
    assert report.deferred and (tmp_path / "a.json").exists() and not (tmp_path / "processed").exists()


class CadEndpoint(LocalHttpServer):
    """A CAD system's EIDO endpoint: serves `body` with an ETag, answers 304 to a matching If-None-Match, and
    answers with `fail_with` (an HTTP status) while that is set."""

    def __init__(self):
        self.body, self.etag, self.fail_with = b"[]", '"v0"', None
        self.seen: list[dict] = []
        server = self

        class Handler(QuietHandler):
            def do_GET(self):
                server.seen.append({k: self.headers.get(k) for k in ("If-None-Match", "If-Modified-Since")})
                if server.fail_with:
                    self.reply("text/plain", b"CAD interface down", server.fail_with)
                elif self.headers.get("If-None-Match") == server.etag:
                    self.send_response(304)
                    self.send_header("ETag", server.etag)
                    self.end_headers()
                else:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("ETag", server.etag)
                    self.send_header("Last-Modified", "Tue, 24 Nov 2026 02:30:00 GMT")
                    self.send_header("Content-Length", str(len(server.body)))
                    self.end_headers()
                    self.wfile.write(server.body)

        super().__init__(Handler)

    def serve(self, *names: str, etag: str, as_list: bool = True) -> None:
        documents = [json.loads((SAMPLES / n).read_text()) for n in names]
        self.body = json.dumps(documents if as_list else documents[0]).encode()
        self.etag = etag


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_http_poller_uses_etags_backs_off_on_errors_and_recovers(database, cad):
    clock = Clock()
    with CadEndpoint() as endpoint:
        endpoint.serve("new_burglary.json", "address_only.json", etag='"v1"')
        source = HttpSource(endpoint.base_url + "/eido", timeout_s=5, backoff_s=2, clock=clock)
        first = source.run_once(cad)
        assert [a.result for a in first.applied] == ["created"]
        assert "no geocoder is configured" in first.rejected[0][1]  # the address-only one, in the same list
        assert endpoint.seen[0] == {"If-None-Match": None, "If-Modified-Since": None}

        assert source.run_once(cad).unchanged_sources == 1  # 304: nothing read, nothing applied
        assert endpoint.seen[1] == {"If-None-Match": '"v1"', "If-Modified-Since": "Tue, 24 Nov 2026 02:30:00 GMT"}

        endpoint.fail_with = 500
        failed = source.run_once(cad)
        assert "HTTP 500" in failed.deferred[0][1] and source.retry_at == clock.now + 2
        assert source.run_once(cad).unchanged_sources == 1 and len(endpoint.seen) == 3  # backing off: no request
        clock.now += 2
        assert source.run_once(cad).deferred and source.retry_at == clock.now + 4  # the wait doubles

        endpoint.fail_with = None
        endpoint.serve("closed_burglary.json", etag='"v2"', as_list=False)
        clock.now += 4
        recovered = source.run_once(cad)
        assert [a.result for a in recovered.applied] == ["closed"] and source.failures == 0
    # Where the endpoint left off is in the database: a restarted console sends the same ETag.
    assert cad.cursor(source.name) == ("Tue, 24 Nov 2026 02:30:00 GMT", '"v2"')


def test_http_poller_survives_an_endpoint_that_does_not_answer(cad):
    source = HttpSource(closed_port_url(), timeout_s=1)
    report = source.run_once(cad)
    assert "no answer (ConnectionError)" in report.deferred[0][1] and source.failures == 1


def test_csv_export_adapter(database, cad):
    report = FileSource(SAMPLES / "export.csv").run_once(cad)
    assert [a.incident.cad_number for a in report.applied] == ["CPD-2026-005001", "CPD-2026-005002"]
    assert report.rejected[0][0] == "export.csv line 4"
    report = FileSource(SAMPLES / "export.json").run_once(cad)
    assert [a.result for a in report.applied] == ["created", "closed"]
    by_cad = {r.cad_number: r for r in incident_rows(database)}
    assert by_cad["CPD-2026-005001"].closed_at is not None and by_cad["CPD-2026-005010"].source == "cad_export"


def test_high_priority_callback_fires_for_priority_one_not_three(database, cad, tmp_path):
    rows = [{"incident_number": n, "type": "Shots fired", "priority": p, "lat": 42.149, "lon": -72.61,
             "status": "Dispatched", "updated_at": "2026-11-23T23:00:00Z"} for n, p in (("P1-A", 1), ("P3-B", 3))]
    offered = []
    runner = CadRunner(cad, [FileSource(_write(tmp_path / "calls.json", rows))], on_high_priority=offered.append,
                       auto_offer=True, offer_priority=1)
    runner.run_pass()
    assert [a.incident.cad_number for a in offered] == ["P1-A"]
    assert offered[0].incident_id == next(r.id for r in incident_rows(database) if r.cad_number == "P1-A")
    # An escalation to priority 1 is offered too; with the setting off, nothing is offered.
    rows[1].update(priority=1, updated_at="2026-11-23T23:05:00Z")
    _write(tmp_path / "calls.json", rows)
    runner.run_pass()
    assert [a.incident.cad_number for a in offered] == ["P1-A", "P3-B"]
    quiet = []
    rows = [dict(rows[0], incident_number="P1-C")]
    CadRunner(cad, [FileSource(_write(tmp_path / "more.json", rows))], on_high_priority=quiet.append,
              auto_offer=False).run_pass()
    assert quiet == []


def test_runner_thread_polls_until_stopped(database, cad, tmp_path):
    drop = tmp_path / "drop"
    drop.mkdir()
    passes = threading.Event()
    offered = []
    runner = CadRunner(cad, [FolderSource(drop, settle_s=0)], interval_s=0.05, on_high_priority=offered.append,
                       on_pass=lambda report: report.applied and passes.set())
    runner.start()
    try:
        shutil.copy(SAMPLES / "new_burglary.json", drop / "x.json.part")
        os.replace(drop / "x.json.part", drop / "x.json")  # written, then renamed into place
        assert passes.wait(30)
    finally:
        runner.stop()
    assert not runner.running and [a.incident.cad_number for a in offered] == ["CPD-2026-004711"]
    with database.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(incidents).where(
            incidents.c.cad_number == "CPD-2026-004711")).scalar_one() == 1


def test_read_documents_says_what_is_wrong_with_a_body():
    assert "not UTF-8" in str(read_documents(b"\xff\xfe{", "x.json")[0].rejection)
    assert read_documents(b"[]", "x.json") == []
    [only] = read_documents(b'"just text"', "x.json")
    assert "expected a JSON object, got text" in str(only.rejection)


# --- a poisoned drop folder, and the service area -------------------------------------------------------


def _good_copy(folder: Path, name: str, cad_number: str) -> None:
    document = json.loads((SAMPLES / "new_burglary.json").read_text())
    document["incidentComponent"]["incidentTrackingIdentifier"] = cad_number
    _write(folder / name, document)


def test_a_poisoned_folder_still_applies_every_good_file_in_one_pass(database, cad, tmp_path):
    drop = tmp_path / "drop"
    drop.mkdir()
    _good_copy(drop, "a_good.json", "CPD-2026-006001")
    (drop / "b_nested.json").write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    with open(drop / "c_huge.json", "wb") as huge:  # 60 MB, sparse: refused by its size, never read
        huge.truncate(60_000_000)
    (drop / "d_utf16.json").write_bytes((SAMPLES / "new_burglary.json").read_text().encode("utf-16"))
    (drop / "e_garbage.json").write_bytes(bytes(range(256)) * 40)
    _write(drop / "f_wrong_schema.json", {"incidents": [{"id": 1}], "note": "not an EIDO"})
    (drop / "g_deep_object.json").write_text('{"a":' * 70 + "1" + "}" * 70, encoding="utf-8")
    _good_copy(drop, "h_good.json", "CPD-2026-006002")

    report = FolderSource(drop, settle_s=0).run_once(cad)

    assert sorted(r.incident.cad_number for r in report.applied) == ["CPD-2026-006001", "CPD-2026-006002"]
    assert report.deferred == []
    assert sorted(p.name for p in (drop / "processed").iterdir()) == ["a_good.json", "h_good.json"]
    bad = ("b_nested.json", "c_huge.json", "d_utf16.json", "e_garbage.json", "f_wrong_schema.json",
           "g_deep_object.json")
    assert sorted(p.name for p in (drop / "rejected").iterdir()) == sorted(
        [*bad, *(f"{name}.reason.txt" for name in bad)])
    reasons = {name: (drop / "rejected" / f"{name}.reason.txt").read_text() for name in bad}
    assert "nested more than 64 levels deep" in reasons["b_nested.json"]
    assert "nested more than 64 levels deep" in reasons["g_deep_object.json"]
    assert "larger than 20,000,000 bytes" in reasons["c_huge.json"]
    assert "UTF-16 text, not UTF-8" in reasons["d_utf16.json"]
    assert "not UTF-8 text" in reasons["e_garbage.json"]
    assert "incidentComponent: missing" in reasons["f_wrong_schema.json"]
    assert all(len(text.splitlines()) == 1 for text in reasons.values())
    assert [p.name for p in drop.iterdir() if p.is_file()] == []
    assert [r.cad_number for r in incident_rows(database)] == ["CPD-2026-006001", "CPD-2026-006002"]


def test_an_unforeseen_failure_reading_one_file_rejects_it_and_the_others_go_on(database, cad, tmp_path,
                                                                                  monkeypatch):
    import console.services.cad_sources as sources

    _good_copy(tmp_path, "a.json", "CPD-2026-006011")
    _good_copy(tmp_path, "b.json", "CPD-2026-006012")
    real = sources.read_documents

    def breaks_on_a(data, origin, mapping=sources.DEFAULT_MAPPING):
        if origin == "a.json":
            raise MemoryError("simulated")
        return real(data, origin, mapping)

    monkeypatch.setattr(sources, "read_documents", breaks_on_a)
    report = FolderSource(tmp_path, settle_s=0).run_once(cad)
    assert [r.incident.cad_number for r in report.applied] == ["CPD-2026-006012"]
    assert "could not be read (MemoryError)" in (tmp_path / "rejected" / "a.json.reason.txt").read_text()


def test_the_http_body_is_read_only_up_to_the_limit(cad, monkeypatch):
    import console.services.cad_sources as sources

    monkeypatch.setattr(sources, "MAX_DOCUMENT_BYTES", 1000)
    with CadEndpoint() as endpoint:
        endpoint.body, endpoint.etag = b"[" + b" " * 50_000 + b"]", '"big"'
        report = HttpSource(endpoint.base_url, timeout_s=5).run_once(cad)
    assert report.rejected == [(endpoint.base_url, "document: larger than 1,000 bytes")]


CHICOPEE_BOX = "42.10,-72.66,42.22,-72.49"


def _far_answers():
    return {"10 Downing St, London": "nominatim_london.json", "McMurdo Station, Antarctica": "nominatim_antarctica.json",
            "17 Center St, Chicopee, MA 01013": "nominatim_montgomery.json"}


def _with_address(cad_number: str, address: str, stamp: str = "2026-11-23T22:01:00Z") -> dict:
    document = json.loads((SAMPLES / "address_only.json").read_text())
    document["incidentComponent"]["incidentTrackingIdentifier"] = cad_number
    document["incidentComponent"]["lastUpdateTimeStamp"] = stamp
    document["locationComponent"][0]["locationByValue"] = {"civicAddress": address}
    return document


def test_geocoded_cad_addresses_far_away_are_rejected_naming_point_and_area(database, audit, tmp_path):
    from console.domain.service_area import parse_box
    from tests.geo.nominatim_server import GeocoderServer

    area = parse_box(CHICOPEE_BOX)
    with GeocoderServer("nominatim", _far_answers()) as server:
        geocoder = Geocoder("nominatim", server.url, "t", min_interval_s=0, timeout_s=2)
        cad = CadService(database, audit, geocode=geocoder.lookup, workstation="ws", clock=lambda: LATER,
                         service_area=area)
        london = FileSource(_write(tmp_path / "london.json", _with_address(
            "CPD-2026-007001", "10 Downing St, London"))).run_once(cad)
        antarctica = FileSource(_write(tmp_path / "mcmurdo.json", _with_address(
            "CPD-2026-007002", "McMurdo Station, Antarctica"))).run_once(cad)
    assert london.applied == [] and antarctica.applied == []
    assert london.rejected[0][1] == (
        "CPD-2026-007001: location: 51.50336, -0.12762 (the geocoder's place for '10 Downing St, London') is "
        "outside the service area (42.1,-72.66,42.22,-72.49): not taken, the incident is left as it was")
    assert "-77.84628, 166.67583" in antarctica.rejected[0][1] and "42.1,-72.66,42.22,-72.49" in \
        antarctica.rejected[0][1]
    assert incident_rows(database) == [] and audit_rows(database, Action.CAD_INCIDENT) == []


def test_a_cad_point_outside_the_area_leaves_the_incident_as_it_was(database, audit):
    from console.domain.service_area import parse_box

    cad = CadService(database, audit, workstation="ws", clock=lambda: LATER, service_area=parse_box(CHICOPEE_BOX))
    created = cad.apply(eido("new_burglary.json"))
    moved = json.loads((SAMPLES / "update_burglary.json").read_text())
    moved["locationComponent"][0]["locationByValue"] = {"type": "Point", "coordinates": [-0.1276, 51.5034]}
    with pytest.raises(Exception, match=r"51.50340, -0.12760 is outside the service area \(42.1,-72.66"):
        cad.apply(parse_eido(moved))
    [row] = incident_rows(database)
    assert (row.id, row.lat, row.lon, row.priority, row.version) == (created.incident_id, 42.1487, -72.6079, 1, 1)
    assert len(audit_rows(database, Action.CAD_INCIDENT)) == 1



# --- EIDOs with a call and a location but no incident component (as NENA's published samples are) ---------------


def test_a_call_only_eido_opens_an_incident_at_the_calls_location(database, cad):
    applied = cad.apply(eido("call_only.json"))
    assert applied.result == "created"
    [row] = incident_rows(database)
    assert (row.cad_number, row.type, row.priority, row.lat, row.lon, row.address, row.closed_at) == (
        "urn:emergency:uid:callid:a56e556d871:bcf.example.net", "Emergency", 2, 42.1503, -72.6071,
        "38 Center St, Chicopee, MA 01013", None)
    assert cad.apply(eido("call_only.json")).result == "unchanged"


@pytest.mark.parametrize("change, message", [
    (lambda d: d["callComponent"][0].pop("callTypeDescriptionRegistryText"),
     "callComponent.callTypeDescriptionRegistryText: missing: there is no incidentComponent and the call has no "
     "type, so no incident can be opened"),
    (lambda d: d["callComponent"][0].pop("callCommonPriorityNumber"),
     "callComponent.callCommonPriorityNumber: missing: the call has no priority"),
    (lambda d: d["callComponent"][0].pop("callTrackingIdentifier"),
     "callComponent.callTrackingIdentifier: missing: a call with no incidentComponent needs its tracking "
     "identifier to open an incident"),
    (lambda d: d.pop("locationComponent"), "locationComponent: missing: the incident has no location"),
    (lambda d: d["callComponent"][0].update(callLocationReference="$ref:loc-99"),
     "callComponent.callLocationReference: 'loc-99' names no entry of locationComponent"),
    (lambda d: d["callComponent"].append(dict(d["callComponent"][0])),
     "callComponent: expected one call when there is no incidentComponent, found 2"),
])
def test_a_call_only_eido_missing_something_says_exactly_what(database, cad, tmp_path, change, message):
    document = json.loads((SAMPLES / "call_only.json").read_text())
    change(document)
    report = FileSource(_write(tmp_path / "call.json", document)).run_once(cad)
    assert report.applied == [] and len(report.rejected) == 1
    assert report.rejected[0][1].endswith(message)
    assert incident_rows(database) == []


def test_a_document_with_neither_incident_nor_call_is_rejected_as_before(cad, tmp_path):
    document = json.loads((SAMPLES / "call_only.json").read_text())
    document.pop("callComponent")
    report = FileSource(_write(tmp_path / "x.json", document)).run_once(cad)
    assert report.rejected[0][1] == "incidentComponent: missing: this is not an incident EIDO"


def test_export_rows_outside_the_area_are_rejected_and_the_rows_beside_them_taken(database, audit, tmp_path):
    from console.domain.service_area import parse_box

    cad = CadService(database, audit, workstation="ws", clock=lambda: LATER, service_area=parse_box(CHICOPEE_BOX))
    rows = json.loads((SAMPLES / "export.json").read_text())
    rows[1].update(incident_number="CPD-2026-005099", lat=-77.8463, lon=166.6758, status="Dispatched")
    report = FileSource(_write(tmp_path / "rows.json", rows)).run_once(cad)
    assert [a.incident.cad_number for a in report.applied] == ["CPD-2026-005010"]
    [(origin, why)] = report.rejected
    assert origin == "rows.json item 2" and why == (
        "CPD-2026-005099: location: -77.84630, 166.67580 is outside the service area (42.1,-72.66,42.22,-72.49): "
        "not taken, the incident is left as it was")


def test_cad_import_refuses_a_huge_file_unread(cad, tmp_path):
    with open(tmp_path / "huge.json", "wb") as huge:
        huge.truncate(60_000_000)
    report = FileSource(tmp_path / "huge.json").run_once(cad)
    assert report.rejected == [("huge.json", "document: larger than 20,000,000 bytes")] and report.applied == []
