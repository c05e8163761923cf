"""Reading NENA EIDO documents and simple CAD exports: whole incidents or a rejection naming the field."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from console.domain.cad_export import (
    ColumnMapping,
    parse_csv,
    parse_json_rows,
    parse_row,
)
from console.domain.eido import CadRejected, parse_eido

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "eido"


def sample(name: str) -> dict:
    return json.loads((SAMPLES / name).read_text(encoding="utf-8"))


def test_new_incident_with_pidf_lo_point_and_civic_address():
    incident = parse_eido(sample("new_burglary.json"))
    assert incident.cad_number == "CPD-2026-004711"
    assert incident.type == "Burglary in progress"  # the agency's own text before the registry's
    assert incident.priority == 1  # "P1"
    assert incident.address == "17 Center St, Chicopee, MA 01013"
    assert (incident.lat, incident.lon) == (42.1487, -72.6079)
    assert (incident.status, incident.closed) == ("Dispatched", False)
    assert incident.updated_at == datetime(2026, 11, 24, 2, 30, tzinfo=UTC)


def test_update_with_geojson_location_and_closed_status():
    update = parse_eido(sample("update_burglary.json"))
    assert (update.priority, update.status, update.closed) == (2, "OnScene", False)
    assert (update.lat, update.lon, update.address) == (42.1502, -72.6069, "40 Front St, Chicopee, MA")
    closed = parse_eido(sample("closed_burglary.json"))
    assert (closed.status, closed.closed) == ("Closed", True)


def test_address_only_needs_placing():
    incident = parse_eido(sample("address_only.json"))
    assert not incident.placed and incident.address == "200 Exchange St, Chicopee, MA 01013"
    assert incident.priority == 4  # common priority 4 of 0..10 (10 most urgent) is 4 of 1..5
    assert incident.placed_at(42.15, -72.6).placed


@pytest.mark.parametrize("number, priority", [(10, 1), (9, 1), (8, 2), (5, 3), (3, 4), (1, 5), (0, 5)])
def test_common_priority_number_maps_onto_one_to_five(number, priority):
    document = sample("address_only.json")
    document["incidentComponent"]["incidentCommonPriorityNumber"] = number
    assert parse_eido(document).priority == priority


@pytest.mark.parametrize("name, field", [
    ("malformed_no_tracking_id.json", "incidentComponent.incidentTrackingIdentifier"),
    ("malformed_dangling_location.json", "incidentComponent.locationReference"),
    ("malformed_timestamp.json", "incidentComponent.lastUpdateTimeStamp"),
    ("malformed_location_xml.json", "locationComponent.locationByValue"),
])
def test_malformed_samples_are_rejected_naming_the_field(name, field):
    with pytest.raises(CadRejected) as rejected:
        parse_eido(sample(name))
    assert rejected.value.field == field
    assert field in str(rejected.value)


def _broken(change) -> dict:
    document = copy.deepcopy(sample("new_burglary.json"))
    change(document)
    return document


@pytest.mark.parametrize("change, field, words", [
    (lambda d: d.pop("incidentComponent"), "incidentComponent", "missing"),
    (lambda d: d.update(incidentComponent=[{}, {}]), "incidentComponent", "found 2"),
    (lambda d: d["incidentComponent"].pop("incidentTypeInternalText") and d["incidentComponent"].pop(
        "incidentTypeCommonRegistryText"), "incidentComponent.incidentTypeCommonRegistryText", "no type"),
    (lambda d: d["incidentComponent"].pop("incidentPriorityInternalText") and d["incidentComponent"].update(
        incidentCommonPriorityNumber=11), "incidentComponent.incidentCommonPriorityNumber", "0 to 10"),
    (lambda d: d["incidentComponent"].update(lastUpdateTimeStamp="2026-11-23T21:30:00"),
     "incidentComponent.lastUpdateTimeStamp", "no UTC offset"),
    (lambda d: d.pop("locationComponent"), "locationComponent", "no location"),
    (lambda d: d["locationComponent"][0].update(locationByValue={"type": "Point", "coordinates": [-72.6, 91.0]}),
     "locationComponent.locationByValue", "not a place on Earth"),
    (lambda d: d["locationComponent"][0].update(locationByValue={"note": "somewhere"}),
     "locationComponent.locationByValue", "neither a point nor a civic address"),
    (lambda d: d["locationComponent"][0].update(
        locationByValue='<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>'), "locationComponent.locationByValue", "DOCTYPE"),
    (lambda d: d["incidentComponent"].update(incidentTrackingIdentifier="X" * 65),
     "incidentComponent.incidentTrackingIdentifier", "longer than 64"),
])
def test_partial_or_wrong_documents_are_rejected(change, field, words):
    with pytest.raises(CadRejected) as rejected:
        parse_eido(_broken(change))
    assert rejected.value.field == field and words in str(rejected.value)


def test_not_an_object_is_rejected():
    with pytest.raises(CadRejected, match="expected a JSON object, got a list"):
        parse_eido([1, 2])


def test_csv_export_rows_each_taken_or_rejected():
    rows = parse_csv((SAMPLES / "export.csv").read_text(encoding="utf-8"))
    assert [r.where for r in rows] == ["line 2", "line 3", "line 4"]
    assert rows[0].incident.priority == 1 and rows[0].incident.source == "cad_export"
    assert rows[2].incident is None and "priority: 'high' is not a whole number" in str(rows[2].rejection)


def test_export_with_a_column_mapping_and_closing_status():
    mapping = ColumnMapping.parse(["incident_number=EventNo", "updated_at=Changed"])
    incident = parse_row({"EventNo": "E-1", "type": "Theft", "priority": "3", "address": "1 Main St",
                          "status": "Cancelled", "Changed": "2026-11-23T23:00:00+00:00"}, mapping)
    assert (incident.cad_number, incident.closed, incident.lat) == ("E-1", True, None)
    with pytest.raises(CadRejected, match="not FIELD=COLUMN"):
        ColumnMapping.parse(["incident_number"])
    with pytest.raises(CadRejected, match="'number' is not a field"):
        ColumnMapping.parse(["number=EventNo"])


def test_export_rows_need_a_place_and_both_coordinates():
    [no_place, half_point] = parse_json_rows([
        {"incident_number": "A", "type": "x", "priority": 1, "updated_at": "2026-11-23T23:00:00Z"},
        {"incident_number": "B", "type": "x", "priority": 1, "lat": 42.1, "updated_at": "2026-11-23T23:00:00Z"}])
    assert "no location" in str(no_place.rejection)
    assert "give both or neither" in str(half_point.rejection)


def test_csv_without_required_columns_is_rejected_as_a_whole():
    with pytest.raises(CadRejected, match="no column 'incident_number'"):
        parse_csv("number,type\n1,x\n")
