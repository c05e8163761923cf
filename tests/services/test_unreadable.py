"""A record this key cannot open is shown as "(unreadable)" and never fails a whole search, detail, list or export;
the one action that needs it (a stream's credentials, a TOTP secret) is refused with a sentence, on both backends."""

from __future__ import annotations

import csv

import pyotp
import pytest
from sqlalchemy import select, update

from console.domain.audit import Action
from console.domain.cameras import Camera, Capability, SharingMode, Stream, StreamProtocol, StreamRole
from console.domain.owners import OwnerContact, OwnerKind
from console.domain.users import Role
from console.errors import UserError
from console.services.incident_view import IncidentView
from console.services.registry import RegistryService
from console.services.registry_export import export_registry
from console.store import registry as repo
from console.store import users as user_store
from console.store.secrets import UNREADABLE, ContactCipher
from console.store.users import view_sessions
from tests.services.conftest import NOW, PASSWORD, audit_rows

OTHER = ContactCipher(b"o" * 32)  # a second workstation's own key, as in the poisoned shared registry


@pytest.fixture
def poisoned(database, registry):
    """Next to the agency's cameras, an owner and a live camera written under another key."""
    with database.engine.begin() as conn:
        owner = repo.add_owner(conn, OTHER, OwnerKind.BUSINESS, OwnerContact("Ann Other", "Corner Shop",
                                                                              phone="413-555-0199"))
        site = repo.add_site(conn, owner, "Corner Shop", "14 Elm St", 39.9501, -75.1601)
        camera = repo.add_camera(conn, OTHER, Camera(
            id=None, site_id=site, label="shop door", lat=39.9501, lon=-75.1601, address="14 Elm St",
            capability=Capability.LIVE, sharing_mode=SharingMode.ALWAYS,
            streams=(Stream(StreamProtocol.RTSP, "rtsp://shop:pw-99@10.0.0.9/main", StreamRole.MAIN),)), owner)
    return {**registry, "bad_owner": owner, "bad_camera": camera}


def test_a_nearby_search_returns_every_camera_and_marks_the_unreadable_owner(database, cipher, poisoned):
    registry = RegistryService(database)
    expected = {c.id for c in registry.nearby(39.95, -75.16, 500)}
    answer = IncidentView(registry, cipher).nearby(39.95, -75.16, 500, NOW)
    assert {c.camera.id for c in answer.inside} == expected and poisoned["bad_camera"] in expected
    owners = {c.camera.id: c.owner_masked for c in answer.inside}
    assert owners[poisoned["bad_camera"]] == UNREADABLE
    assert owners[poisoned["always"]] == "M**** L****"  # the readable owner is masked as always


def test_the_detail_and_the_reveal_say_unreadable(database, cipher, contacts, people, poisoned):
    detail = IncidentView(RegistryService(database), cipher).detail(poisoned["bad_camera"], NOW)
    assert detail.owner_masked == UNREADABLE
    assert contacts.masked(poisoned["bad_owner"]).name == UNREADABLE
    shown = contacts.reveal(people[Role.DETECTIVE], poisoned["bad_owner"], "request footage for CAD-2026-0042", NOW)
    assert (shown.name, shown.phone, shown.readable) == (UNREADABLE, "", False)
    assert audit_rows(database, Action.CONTACT_REVEAL)  # still on record


def test_an_export_writes_unreadable_and_counts_it(database, cipher, poisoned, tmp_path):
    out = tmp_path / "export.csv"
    summary = export_registry(database, cipher, out, with_contacts=True, reason="annual audit of the registry",
                              username="os:test", workstation="ws")
    with out.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    with database.engine.connect() as conn:
        active = conn.execute(select(repo.cameras.c.id).where(repo.cameras.c.status != "removed")).all()
    assert summary["cameras"] == len(rows) == len(active)
    assert summary["unreadable_owners"] == 1
    bad = [r for r in rows if r["portal_id"] == f"rtic-{poisoned['bad_camera']}"]
    assert [(r["owner_name"], r["phone"]) for r in bad] == [(UNREADABLE, "")]
    assert {r["owner_name"] for r in rows if r not in bad} == {"Maria Lopez"}
    [event] = audit_rows(database, Action.EXPORT)
    assert event["details"]["unreadable_owners"] == 1


def test_a_view_of_a_stream_whose_credentials_cannot_be_read_is_refused_and_not_recorded(
        database, viewing, people, poisoned):
    from console.domain.access import Purpose

    with pytest.raises(UserError, match="credentials of stream .* cannot be read with this workstation's contact key"):
        viewing.start_view(people[Role.DISPATCHER], poisoned["bad_camera"],
                           Purpose(reason="suspect fled towards Elm St", cad_number="CAD-2026-0042"), NOW)
    with database.engine.connect() as conn:
        assert conn.execute(select(view_sessions)).all() == []
    assert audit_rows(database, Action.VIEW_START) == []


def test_a_totp_secret_under_another_key_refuses_sign_in_with_a_sentence(database, auth, accounts, people):
    accounts.enable_totp("os:admin", "dispatcher", NOW)
    user = people[Role.DISPATCHER]
    with database.engine.begin() as conn:
        conn.execute(update(user_store.users).where(user_store.users.c.id == user.id).values(
            totp_secret_ciphertext=OTHER.encrypt({"secret": pyotp.random_base32()}, b"totp")))
    with pytest.raises(UserError, match="second factor of dispatcher cannot be read with this workstation's contact"):
        auth.login("dispatcher", PASSWORD, NOW, totp_code="123456", notice_acknowledged=True)
