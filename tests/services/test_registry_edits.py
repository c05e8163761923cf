"""Owner changes on both backends: versioned camera edits (a second editor is refused with both versions),
camera removal, owner erasure (contact gone, not hidden), history without contact values, permissions."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from console.domain.audit import Action
from console.domain.cameras import CameraStatus, SharingMode
from console.domain.changes import ChangeKind
from console.domain.owners import OwnerContact
from console.domain.users import Role
from console.errors import UserError
from console.services.registry_edits import ConcurrentEdit, EditDenied, RegistryEditService, erase_owner, remove_camera
from console.store import intake as intake_store
from console.store import registry as repo
from console.store.changes import changes_since, latest_seq
from console.store.models import OutreachCallRow, OwnerRow, SiteRow, StreamRow
from tests.services.conftest import CONTACT, NOW, audit_rows


@pytest.fixture
def edits(database, audit, cipher):
    return RegistryEditService(database, audit, cipher, workstation="rtic-ws-3")


@pytest.fixture
def outreach_user(people):
    return people[Role.OUTREACH]


def camera_row(database, camera_id):
    with database.engine.connect() as conn:
        return conn.execute(select(repo.cameras).where(repo.cameras.c.id == camera_id)).first()


def test_sharing_mode_change_keeps_history_audit_and_change(database, edits, registry, outreach_user):
    seen = edits.camera_for_edit(registry["always"])
    with database.engine.connect() as conn:
        before = latest_seq(conn)
    version = edits.set_sharing_mode(outreach_user, registry["always"], seen.version, SharingMode.ON_ALERT, now=NOW)
    assert version == seen.version + 1
    row = camera_row(database, registry["always"])
    assert (row.sharing_mode, row.version) == ("on_alert", version)
    [entry] = edits.history("camera", registry["always"])
    assert (entry["username"], entry["field"], entry["old_value"], entry["new_value"]) == \
        ("outreach", "sharing_mode", "always", "on_alert")
    [event] = audit_rows(database, Action.CONSENT_CHANGE)
    assert event["camera_id"] == registry["always"]
    assert event["details"]["changes"] == [{"field": "sharing_mode", "old": "always", "new": "on_alert"}]
    with database.engine.connect() as conn:
        [change] = changes_since(conn, before)
    assert (change.kind, change.record_id, change.workstation) == (ChangeKind.CAMERA, registry["always"], "rtic-ws-3")


def test_second_editor_is_refused_with_both_versions(database, edits, registry, outreach_user, people):
    first = edits.camera_for_edit(registry["never"])
    second = edits.camera_for_edit(registry["never"])  # both open the same camera at version 1
    edits.edit_camera(outreach_user, registry["never"], first.version, {"label": "Front porch", "fov_angle_deg": 90})
    with pytest.raises(ConcurrentEdit) as refused:
        edits.edit_camera(people[Role.ADMIN], registry["never"], second.version, {"label": "Side gate"})
    conflict = refused.value
    assert (conflict.seen_version, conflict.stored_version) == (first.version, first.version + 1)
    assert conflict.stored["label"] == "Front porch" and conflict.stored["fov_angle_deg"] == 90
    assert conflict.attempted == {"label": "Side gate"}
    assert "changed by someone else" in str(conflict)
    row = camera_row(database, registry["never"])
    assert (row.label, row.version) == ("Front porch", first.version + 1)  # nothing of the second save
    assert len(edits.history("camera", registry["never"])) == 2
    # "Overwrite with mine": the same values against the version now stored succeed.
    edits.edit_camera(people[Role.ADMIN], registry["never"], conflict.stored_version, conflict.attempted)
    assert camera_row(database, registry["never"]).label == "Side gate"


def test_two_editors_at_once_one_wins(database, edits, registry, outreach_user, people):
    seen = edits.camera_for_edit(registry["on_alert"]).version
    barrier = threading.Barrier(2)
    outcomes = {}

    def save(name, user, label):
        barrier.wait()
        try:
            outcomes[name] = edits.edit_camera(user, registry["on_alert"], seen, {"label": label})
        except ConcurrentEdit as exc:
            outcomes[name] = exc

    threads = [threading.Thread(target=save, args=("a", outreach_user, "A")),
               threading.Thread(target=save, args=("b", people[Role.ADMIN], "B"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    refused = [o for o in outcomes.values() if isinstance(o, ConcurrentEdit)]
    saved = [o for o in outcomes.values() if isinstance(o, int)]
    assert len(refused) == 1 and saved == [seen + 1]
    winner = camera_row(database, registry["on_alert"]).label
    assert refused[0].stored["label"] == winner and refused[0].attempted["label"] != winner
    assert refused[0].stored_version == seen + 1


def test_bad_edits_leave_the_camera_as_it_was(database, edits, registry, outreach_user, people):
    version = edits.camera_for_edit(registry["registered"]).version
    for changes, words in [({"sharing_mode": "always"}, "registered-only"), ({"sharing_mode": "sometimes"}, "valid"),
                           ({"fov_bearing_deg": "north"}, "number"), ({"lat": 91}, "between"),
                           ({"owner_id": 3}, "cannot be edited"), ({"label": "  "}, "label")]:
        with pytest.raises(UserError, match=words):
            edits.edit_camera(outreach_user, registry["registered"], version, changes)
    with pytest.raises(EditDenied, match="dispatcher role"):
        edits.edit_camera(people[Role.DISPATCHER], registry["registered"], version, {"label": "x"})
    assert camera_row(database, registry["registered"]).version == version
    assert edits.history("camera", registry["registered"]) == []
    assert audit_rows(database, Action.REGISTRY_CHANGE) == []


def test_remove_camera_keeps_the_row_and_forgets_credentials(database, edits, registry, outreach_user):
    seen = edits.camera_for_edit(registry["always"]).version
    edits.remove_camera(outreach_user, registry["always"], seen, reason="owner sold the house")
    row = camera_row(database, registry["always"])
    assert (row.status, row.sharing_mode) == ("removed", "never")
    with database.engine.connect() as conn:
        secrets = conn.execute(select(StreamRow.credential_ciphertext)
                               .where(StreamRow.camera_id == registry["always"])).scalars().all()
    assert secrets and all(s is None for s in secrets)
    fields = {h["field"]: (h["old_value"], h["new_value"]) for h in edits.history("camera", registry["always"])}
    assert fields["status"] == ("active", "removed")
    [event] = audit_rows(database, Action.REGISTRY_CHANGE)
    assert event["details"]["change"] == "camera_removed"
    with pytest.raises(UserError, match="already removed"):
        remove_camera(database, registry["always"], "feed:portal", "feed")


def test_erasure_removes_contact_everywhere(database, edits, registry, outreach_user, cipher):
    with database.engine.begin() as conn:
        intake_store.add_call(conn, cipher, "Maria Lopez", "12 Elm St", CONTACT.phone, NOW, "outreach",
                              "registered", None, "prefers evening calls", registry["owner"])
        intake_store.add_history(conn, NOW, "outreach", "site", registry["site"], [("name", "Maria's", "Elm St home")])
    erasure = edits.erase_owner(outreach_user, registry["owner"], now=NOW)
    assert set(erasure.cameras_removed) >= {registry["always"], registry["never"], registry["registered"]}
    with database.engine.connect() as conn:
        owner = conn.execute(select(OwnerRow.__table__).where(OwnerRow.id == registry["owner"])).one()
        site = conn.execute(select(SiteRow.__table__).where(SiteRow.id == registry["site"])).one()
        call = conn.execute(select(OutreachCallRow.__table__)).one()
        statuses = set(conn.execute(select(repo.cameras.c.status)
                                    .where(repo.cameras.c.owner_id == registry["owner"])).scalars())
        assert intake_store.owner_candidates(conn, cipher, CONTACT.phone, CONTACT.email) == []
    assert (owner.contact_ciphertext, owner.phone_digest, owner.email_digest) == (None, None, None)
    assert owner.erased_at is not None
    assert statuses == {CameraStatus.REMOVED.value}
    assert site.name == "(erased)" and site.address == "(erased)"  # a resident's site is their home
    assert (call.business, call.phone_ciphertext, call.phone_digest, call.notes) == ("(erased)", None, None, "")
    [site_history] = edits.history("site", registry["site"])
    assert site_history["old_value"] is None and site_history["new_value"] is None
    everything = str(audit_rows(database)) + str(edits.history("owner", registry["owner"]))
    for secret in ("Maria", "215-555", "example.org"):
        assert secret not in everything
    with pytest.raises(UserError, match="already erased"):
        erase_owner(database, registry["owner"], "feed:portal", "feed")


def test_contact_edit_records_changed_without_values(database, edits, registry, outreach_user):
    version, _kind, contact = edits.owner_for_edit(registry["owner"])
    assert contact.name == "Maria Lopez"
    new = OwnerContact(name="Maria Lopez-Ruiz", phone="215-555-0199", email="")
    edits.edit_owner_contact(outreach_user, registry["owner"], version, new)
    with pytest.raises(ConcurrentEdit) as refused:
        edits.edit_owner_contact(outreach_user, registry["owner"], version, OwnerContact(name="X", phone="4135550100"))
    assert "Ruiz" not in str(refused.value) and "0199" not in str(refused.value)
    [entry] = edits.history("owner", registry["owner"])
    assert (entry["field"], entry["old_value"], entry["new_value"]) == ("contact", None, "changed")
    assert edits.owner_for_edit(registry["owner"])[2] == new
