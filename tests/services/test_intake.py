"""Phone intake on both backends: a registration with consent, duplicates found before saving, merge or override."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import func, select

from console.domain.audit import Action
from console.domain.cameras import Capability, ConsentChannel, SharingMode
from console.domain.changes import ChangeKind
from console.domain.intake import PHONE_CONSENT_WORDING, IntakeCamera, IntakeForm, Placement
from console.domain.owners import OwnerContact, OwnerKind
from console.domain.users import Role
from console.errors import UserError
from console.services.intake import DuplicatesFound, IntakeService
from console.store import registry as repo
from console.store.changes import changes_since, latest_seq
from console.store.models import CameraRow, OwnerRow, RegistryHistoryRow
from tests.services.conftest import NOW, audit_rows

SHOP = OwnerContact(name="Dev Patel", organisation="Patel Grocery", phone="(413) 555-0182",
                    email="dev@patelgrocery.example", address="77 Center St")


def form(**changes) -> IntakeForm:
    base = IntakeForm(
        owner_kind=OwnerKind.BUSINESS, contact=SHOP, site_name="Patel Grocery", address="77 Center Street, Chicopee",
        lat=42.1487, lon=-72.6079, owner_agreed=True,
        cameras=(IntakeCamera("Front door", 42.14872, -72.60791, bearing_deg=180, fov_deg=90, range_m=25),
                 IntakeCamera("Parking lot", 42.14880, -72.60800, Capability.LIVE, SharingMode.ON_ALERT,
                              Placement.OUTSIDE, 270, 100, 40, "rtsp://shop:Tr0ub4dor@192.0.2.10:554/stream1"),
                 IntakeCamera("Till", 42.14871, -72.60790, placement=Placement.INSIDE)),
    )
    return replace(base, **changes)


@pytest.fixture
def intake(database, audit, cipher):
    return IntakeService(database, audit, cipher, workstation="outreach-desk")


@pytest.fixture
def staff(people):
    return people[Role.OUTREACH]


def count(database, model) -> int:
    with database.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(model.__table__)).scalar_one()


def test_phone_registration_saves_owner_site_cameras_and_consent(database, intake, staff, cipher):
    with database.engine.connect() as conn:
        before = latest_seq(conn)
    done = intake.register(staff, form(), now=NOW)
    with database.engine.connect() as conn:
        owner = repo.get_owner(conn, cipher, done.owner_id)
        site = repo.get_site(conn, done.site_id)
        door, lot, till = (repo.get_camera(conn, i) for i in done.camera_ids)
        placements = dict(conn.execute(select(CameraRow.label, CameraRow.placement)).all())
        changes = changes_since(conn, before)
    assert owner.contact == SHOP and owner.kind is OwnerKind.BUSINESS
    assert (site.name, site.address) == ("Patel Grocery", "77 Center Street, Chicopee")
    assert door.field_of_view.bearing_deg == 180 and door.capability is Capability.REGISTERED
    assert lot.sharing_mode is SharingMode.ON_ALERT and lot.streams[0].url == "rtsp://192.0.2.10:554/stream1"
    assert lot.streams[0].has_credentials  # split off and encrypted
    assert placements == {"Front door": "outside", "Parking lot": "outside", "Till": "inside"}
    assert door.consent.channel is ConsentChannel.PHONE and door.consent.taken_by == "outreach"
    assert door.consent.wording == PHONE_CONSENT_WORDING and door.consent.at == NOW
    assert [(c.kind, c.record_id) for c in changes] == [(ChangeKind.OWNER, done.owner_id)]
    [event] = audit_rows(database, Action.REGISTRY_CHANGE)
    assert event["details"]["change"] == "phone_intake" and event["details"]["camera_ids"] == list(done.camera_ids)
    stored = str(audit_rows(database)) + str(intake._edits.history("owner", done.owner_id))
    for secret in ("Patel", "555-0182", "patelgrocery", "Tr0ub4dor"):
        assert secret not in stored


def test_same_phone_or_nearby_site_is_offered_before_saving(database, intake, staff):
    first = intake.register(staff, form(), now=NOW)
    # The same shop, called again by someone else: different spelling, same number, a few metres off.
    again = form(contact=replace(SHOP, name="Devinder Patel", phone="+1 413 555 0182", email=""),
                 address="77 center st chicopee", lat=42.14875, lon=-72.60795)
    found = intake.duplicates(again)
    assert [o.owner_id for o in found.owners] == [first.owner_id] and found.owners[0].matched_on == ("phone",)
    assert "Patel" not in found.owners[0].name or found.owners[0].name == "Patel Grocery"  # masked or public
    assert [s.site_id for s in found.sites] == [first.site_id] and found.sites[0].same_address
    owners_before, cameras_before = count(database, OwnerRow), count(database, CameraRow)
    with pytest.raises(DuplicatesFound, match="may already be registered") as refused:
        intake.register(staff, again, now=NOW)
    assert refused.value.duplicates == found
    assert (count(database, OwnerRow), count(database, CameraRow)) == (owners_before, cameras_before)


def test_site_within_15_m_found_and_20_m_not(database, intake, staff):
    first = intake.register(staff, form(), now=NOW)
    other = replace(SHOP, phone="413-555-0999", email="")
    near = intake.duplicates(form(contact=other, address="79 Center St", lat=42.1487 + 0.0001, lon=-72.6079))  # ~11 m
    far = intake.duplicates(form(contact=other, address="81 Center St", lat=42.1487 + 0.00018, lon=-72.6079))  # ~20 m
    assert [s.site_id for s in near.sites] == [first.site_id] and not near.sites[0].same_address
    assert 10 < near.sites[0].distance_m < 12
    assert not far


def test_merge_adds_cameras_to_the_existing_owner_and_site(database, intake, staff):
    first = intake.register(staff, form(), now=NOW)
    extra = form(cameras=(IntakeCamera("Loading dock", 42.1489, -72.6081, bearing_deg=0),))
    merged = intake.register(staff, extra, merge_site_id=first.site_id, now=NOW)
    assert (merged.owner_id, merged.site_id, merged.merged_owner, merged.merged_site) == \
        (first.owner_id, first.site_id, True, True)
    assert count(database, OwnerRow) == 1 and count(database, CameraRow) == 4
    with pytest.raises(UserError, match="belongs to owner"):
        intake.register(staff, extra, merge_owner_id=first.owner_id + 99, merge_site_id=first.site_id, now=NOW)


def test_create_new_anyway_needs_the_explicit_override(database, intake, staff):
    intake.register(staff, form(), now=NOW)
    twin = form(site_name="Patel Grocery annex")
    done = intake.register(staff, twin, create_new=True, now=NOW)
    assert count(database, OwnerRow) == 2
    assert audit_rows(database, Action.REGISTRY_CHANGE)[-1]["details"]["duplicates_overridden"] is True
    assert done.merged_owner is False


@pytest.mark.parametrize("changes, words", [
    ({"owner_agreed": False}, "has not agreed"),
    ({"contact": OwnerContact(name="", phone="4135550100")}, "owner's name"),
    ({"contact": OwnerContact(name="Ann", organisation="")}, "business name"),
    ({"contact": OwnerContact(name="Ann", organisation="Ann's", phone="", email="")}, "phone number or an e-mail"),
    ({"lat": 142.0}, "latitude 142.0 is out of range"),
    ({"cameras": ()}, "at least one camera"),
    ({"cameras": (IntakeCamera("Door", 42.1, -72.6, Capability.LIVE, SharingMode.ALWAYS),)}, "needs a stream URL"),
    ({"cameras": (IntakeCamera("Door", 42.1, -72.6, sharing_mode=SharingMode.ALWAYS),)}, "must be 'never'"),
    ({"cameras": (IntakeCamera("Door", 42.1, -72.6, Capability.LIVE, SharingMode.ALWAYS, stream_url="ftp://x/y"),)},
     "must start with rtsp"),
    ({"cameras": (IntakeCamera("Door", 42.1, -72.6, bearing_deg=400),)}, "direction must be between"),
    ({"cameras": (IntakeCamera("Door", 42.1, -72.6), IntakeCamera("door", 42.1, -72.6))}, "same label"),
])
def test_bad_forms_save_nothing(database, intake, staff, changes, words):
    with pytest.raises(UserError, match=words):
        intake.register(staff, form(**changes), now=NOW)
    assert count(database, OwnerRow) == 0 and count(database, RegistryHistoryRow) == 0


def test_only_registry_editors_may_register(database, intake, people):
    with pytest.raises(UserError, match="detective role cannot change"):
        intake.register(people[Role.DETECTIVE], form(), now=NOW)
    assert intake.register(people[Role.ADMIN], form(), now=NOW).owner_id
    assert count(database, OwnerRow) == 1
