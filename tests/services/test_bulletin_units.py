"""A bulletin to the units CAD names on the incident, on both backends: units stored from the EIDO, each unit's
addresses from the saved recipient group of the same name, units without a group named, the send recorded."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from console.domain.audit import Action
from console.domain.bulletins import address_hash
from console.domain.eido import parse_eido
from console.domain.users import Role
from console.errors import UserError
from console.services.bulletins import BulletinService
from console.services.cad import CadService
from tests.services.conftest import NOW, audit_rows

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "eido"
LATER = NOW + timedelta(minutes=10)


def document(name: str = "units_burglary.json") -> dict:
    return json.loads((SAMPLES / name).read_text(encoding="utf-8"))


@pytest.fixture
def cad(database, audit):
    return CadService(database, audit, workstation="rtic-ws-1", clock=lambda: LATER)


@pytest.fixture
def bulletins(database, audit):
    return BulletinService(database, audit, workstation="rtic-ws-1", max_mb=1.0, clip_max_s=15)


def test_send_to_the_incidents_units_through_their_groups(cad, bulletins, people, database):
    incident_id = cad.apply(parse_eido(document())).incident_id
    assert bulletins.unit_targets(incident_id) == ([], ["Unit 2A21", "Unit 2A22", "K9-4"])
    supervisor = people[Role.SUPERVISOR]
    bulletins.save_group(supervisor, "Unit 2A21", ["ofc.lee@pd.example.gov", "ofc.diaz@pd.example.gov"], NOW)
    bulletins.save_group(supervisor, "K9-4", ["k9@pd.example.gov"], NOW)
    bulletins.save_group(supervisor, "Patrol sector 2", ["sector2@pd.example.gov"], NOW)
    with_group, without = bulletins.unit_targets(incident_id)
    assert (with_group, without) == (["Unit 2A21", "K9-4"], ["Unit 2A22"])

    sent = bulletins.send(people[Role.DISPATCHER], incident_id, "Suspect: red hoodie, heading north", with_group,
                          NOW, reason="burglary in progress")
    assert sent.recipients == 3
    stored = bulletins.get(sent.bulletin_id)
    assert {(r.address, r.group_name) for r in stored.recipients} == {
        ("ofc.lee@pd.example.gov", "Unit 2A21"), ("ofc.diaz@pd.example.gov", "Unit 2A21"),
        ("k9@pd.example.gov", "K9-4")}
    [event] = audit_rows(database, Action.BULLETIN_SEND)
    assert event["details"]["groups"] == ["K9-4", "Unit 2A21"]
    assert event["details"]["recipients"] == sorted(address_hash(a) for a in (
        "ofc.lee@pd.example.gov", "ofc.diaz@pd.example.gov", "k9@pd.example.gov"))


def test_cads_update_replaces_the_units(cad, bulletins, database):
    first = cad.apply(parse_eido(document()))
    update = document()
    update["incidentComponent"]["lastUpdateTimeStamp"] = "2026-11-23T21:40:00-05:00"
    update["emergencyResourceComponent"] = [{"emergencyResourceIdentifier": "Unit 3B10"}]
    assert cad.apply(parse_eido(update)).result == "updated"
    assert bulletins.unit_targets(first.incident_id) == ([], ["Unit 3B10"])
    stale = document()
    stale["incidentComponent"]["lastUpdateTimeStamp"] = "2026-11-23T21:35:00-05:00"
    assert cad.apply(parse_eido(stale)).result == "stale"  # an older update does not bring the old units back
    assert bulletins.unit_targets(first.incident_id) == ([], ["Unit 3B10"])
    cleared = document()
    cleared["incidentComponent"]["lastUpdateTimeStamp"] = "2026-11-23T21:50:00-05:00"
    del cleared["emergencyResourceComponent"]
    cad.apply(parse_eido(cleared))
    assert bulletins.unit_targets(first.incident_id) == ([], [])


def test_incident_the_console_opened_has_no_units(bulletins, registry, people):
    assert bulletins.unit_targets(registry["incident"]) == ([], [])
    with pytest.raises(UserError, match="no recipient group"):  # a unit id is still only a group's name
        bulletins.send(people[Role.DISPATCHER], registry["incident"], "x", ["Unit 2A21"], NOW)
