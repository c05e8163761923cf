"""An owner matched by phone or e-mail under another name is a conflict, not an update (issue 13), on both backends:
the dry run lists it, the import leaves that owner as it was, does not attach the row's camera, and reports it."""

from __future__ import annotations

import json

from sqlalchemy import text

from console.domain.portal_records import validate_rows
from console.services.demo import generate_demo
from console.services.registry_import import import_file, upsert_records
from tests.services.conftest import audit_rows
from tests.services.test_registry_feed import make_feed, portal, waits  # noqa: F401 - the feed's fixtures
from tests.services.test_registry_import import ROWS, WHO, snapshot, write_csv
from tests.support.portal_server import camera

NEWCOMER = {**ROWS[1], "portal_id": "C1", "owner_name": "Ann Other", "phone": "413 555 0101",
            "email": "ann@example.com", "address": "14 Elm St", "camera_label": "Porch"}


def owners(database, cipher) -> dict[int, tuple]:
    """Every owner as stored: decrypted contact, digests, version."""
    with database.engine.connect() as conn:
        rows = conn.execute(text("SELECT id, contact_ciphertext, phone_digest, email_digest, version FROM owners"))
        return {r.id: (cipher.decrypt(r.contact_ciphertext), r.phone_digest, r.email_digest, r.version) for r in rows}


def camera_owner_names(database, cipher) -> dict[str, str]:
    with database.engine.connect() as conn:
        rows = conn.execute(text("SELECT cameras.id, owners.contact_ciphertext FROM cameras "
                                 "JOIN owners ON owners.id = cameras.owner_id")).fetchall()
    return {r.id: cipher.decrypt(r.contact_ciphertext)["name"] for r in rows}


def test_a_new_owner_sharing_a_phone_is_reported_and_changes_nobody(database, cipher, tmp_path):
    import_file(database, cipher, write_csv(tmp_path / "first.csv", ROWS[:2]), **WHO)
    before, names_before = owners(database, cipher), camera_owner_names(database, cipher)
    (maria,) = [i for i, (contact, *_) in before.items() if contact["name"] == "Maria Lopez"]
    path = write_csv(tmp_path / "second.csv", [NEWCOMER, {**ROWS[2], "portal_id": "D1"}])

    dry = import_file(database, cipher, path, dry_run=True, **WHO)
    assert dry["conflicts"] == 1 and dry["added"] == 1 and dry["owners_updated"] == 0
    assert dry["owner_conflicts"] == [{"row": 2, "portal_id": "C1", "owner_id": maria, "matched_on": "phone",
                                       "registry_name": "M**** L****", "file_name": "A** O****"}]
    stored = snapshot(database)

    done = import_file(database, cipher, path, **WHO)
    assert (done["conflicts"], done["added"], done["owners_updated"]) == (1, 1, 0)
    assert done["owner_conflicts"] == dry["owner_conflicts"]
    assert json.loads(json.dumps(done)) == done  # the CLI prints it as JSON
    after = owners(database, cipher)
    assert {i: after[i] for i in before} == before  # every registered owner exactly as it was
    assert camera_owner_names(database, cipher).items() >= names_before.items()
    with database.engine.connect() as conn:
        portal_ids = set(conn.execute(text("SELECT portal_id FROM cameras")).scalars())
    assert "C1" not in portal_ids and "D1" in portal_ids  # the conflicting row is not imported; the good one is
    event = audit_rows(database)[-1]
    assert event["details"]["conflicts"] == 1
    assert "Ann" not in json.dumps(event["details"]) and "A** O****" not in json.dumps(event["details"])
    assert len(snapshot(database)["cameras"]) == len(stored["cameras"]) + 1


def test_the_same_person_written_differently_is_an_update_not_a_conflict(database, cipher, tmp_path):
    import_file(database, cipher, write_csv(tmp_path / "first.csv", ROWS[:1]), **WHO)
    again = {**ROWS[1], "portal_id": "A9", "owner_name": "  maria   LOPEZ ", "email": "maria.new@example.com"}
    summary = import_file(database, cipher, write_csv(tmp_path / "again.csv", [again]), **WHO)
    assert (summary["conflicts"], summary["added"], summary["owners_added"]) == (0, 1, 0)
    assert summary["owner_conflicts"] == []


def test_a_second_registered_owner_on_the_same_phone_with_that_name_is_the_match(database, cipher, tmp_path):
    """Two registered owners share a line: the row goes to the one it names, and neither is a conflict."""
    sibling = {**NEWCOMER, "portal_id": "S1", "email": ""}
    import_file(database, cipher, write_csv(tmp_path / "first.csv", ROWS[:1]), **WHO)
    with database.engine.begin() as conn:  # Ann registered by phone intake meanwhile, same line as Maria
        conn.execute(text("UPDATE owners SET phone_digest = NULL"))
    import_file(database, cipher, write_csv(tmp_path / "ann.csv", [sibling]), **WHO)
    with database.engine.begin() as conn:
        conn.execute(text("UPDATE owners SET phone_digest = :d"), {"d": cipher.digest("413-555-0101")})
    before = owners(database, cipher)
    summary = import_file(database, cipher, write_csv(tmp_path / "more.csv", [{**sibling, "portal_id": "S2"}]), **WHO)
    assert (summary["conflicts"], summary["added"], summary["owners_added"]) == (0, 1, 0)
    assert owners(database, cipher) == before


def test_the_feed_path_reports_the_conflict_too(database, cipher, tmp_path):
    import_file(database, cipher, write_csv(tmp_path / "first.csv", ROWS[:1]), **WHO)
    before = owners(database, cipher)
    records, problems = validate_rows(enumerate([NEWCOMER], 1))
    assert not problems
    with database.engine.begin() as conn:
        counts = upsert_records(conn, cipher, records, "rtic-ws-1")
    assert (counts.conflicts, counts.added, counts.changed) == (1, 0, False)
    assert owners(database, cipher) == before


def test_new_owners_sharing_phones_with_the_demo_registry_leave_its_owners_alone(database, cipher, tmp_path):
    """The issue's case: a portal export of new owners whose phones the demo's owners already use rewrote 85 owners'
    names and e-mails. Now every such row is a conflict and no owner changes."""
    generate_demo(database, cipher, cameras=300, seed=3)
    before, names_before = owners(database, cipher), camera_owner_names(database, cipher)
    rows = [{**NEWCOMER, "portal_id": f"N{n}", "owner_name": f"New Owner{n}", "phone": f"413-555-01{n:02d}",
             "email": f"new{n}@example.org", "address": f"{n} New St", "lat": f"42.15{n:02d}"} for n in range(40)]
    summary = import_file(database, cipher, write_csv(tmp_path / "new.csv", rows), **WHO)
    assert summary["owners_updated"] == 0 and summary["conflicts"] > 0
    assert summary["conflicts"] + summary["added"] == 40
    assert owners(database, cipher) == {**before, **{i: o for i, o in owners(database, cipher).items()
                                                     if i not in before}}
    assert {i: n for i, n in camera_owner_names(database, cipher).items() if i in names_before} == names_before


def test_a_feed_item_naming_another_owner_on_a_registered_phone_is_not_applied(database, cipher, portal,  # noqa: F811
                                                                               make_feed):  # noqa: F811
    portal.add(camera("P-1", owner_name="Maria Lopez", phone="413-555-0101"))
    make_feed().sync()
    before = owners(database, cipher)
    portal.add(camera("P-2", owner_name="Ann Other", phone="(413) 555-0101", email="ann@example.org"),
               camera("P-3"))
    summary = make_feed().sync()
    assert (summary.applied["camera"], summary.conflicts, summary.as_dict()["conflicts"]) == (1, 1, 1)
    assert {i: owners(database, cipher)[i] for i in before} == before
    with database.engine.connect() as conn:
        assert set(conn.execute(text("SELECT portal_id FROM cameras")).scalars()) == {"P-1", "P-3"}
    assert audit_rows(database)[-1]["details"]["conflicts"] == 1
