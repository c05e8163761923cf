"""The portal import's planning (console/services/registry_import_plan.py) works with no database: given records
and what is registered, it says what to add, update, leave and refuse. (The loading, and both together on SQLite
and PostgreSQL, are in tests/services/test_registry_import.py and test_import_conflicts.py.)"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace

import pytest

from console.domain.cameras import split_credentials
from console.domain.portal_records import validate_rows
from console.errors import UserError
from console.services.registry_import_plan import CAMERA_FIELDS, ImportPlan, camera_values
from console.store.secrets import ContactCipher
from tests.services.test_registry_import import ROWS

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=timezone.utc)
ROOT = Path(__file__).resolve().parents[2]


class Registered:
    """What is registered, in memory, answering the plan's look-ups as the store does."""

    def __init__(self, cameras=(), streams=(), owners=(), sites=()):
        self.cameras, self.streams, self.owners, self.sites = list(cameras), list(streams), list(owners), list(sites)
        self.asked: list[str] = []

    def cameras_by_portal_id(self, portal_ids):
        self.asked.append("cameras")
        return {c.portal_id: c for c in self.cameras if c.portal_id in set(portal_ids)}

    def cameras_without_portal_id(self, camera_ids):
        return [c for c in self.cameras if c.id in set(camera_ids) and c.portal_id is None]

    def main_streams(self, camera_ids):
        return {s.camera_id: s for s in reversed(self.streams) if s.camera_id in set(camera_ids)}

    def owners_by_digest(self, digests):
        return [o for o in self.owners if o.phone_digest in set(digests) or o.email_digest in set(digests)]

    def owner_contacts(self, owner_ids):
        return [o for o in self.owners if o.id in set(owner_ids)]

    def sites_by_owner_address(self, owner_ids):
        return {(s.owner_id, s.address.casefold()): s.id for s in self.sites if s.owner_id in set(owner_ids)}


@pytest.fixture
def cipher():
    return ContactCipher(bytes(range(32)))


def records(rows):
    good, problems = validate_rows(enumerate(rows, 2))
    assert problems == []
    return good


def planned(registered, cipher, rows) -> ImportPlan:
    plan = ImportPlan(registered, cipher, records(rows), "kim-outreach", NOW)
    plan.match(None)
    return plan


def registered_like(plan: ImportPlan, cipher) -> Registered:
    """The registry as it would be after writing `plan` into an empty one (owners 1.., sites 1.., cameras 1..)."""
    owner_ids = {o["group"]: n for n, o in enumerate(plan.new_owners, 1)}
    site_ids = {key: n for n, key in enumerate(plan.new_sites, 1)}
    owners = [SimpleNamespace(id=owner_ids[o["group"]], kind=o["kind"], phone_digest=o["phone_digest"],
                              email_digest=o["email_digest"], contact_ciphertext=cipher.encrypt(o["contact"]))
              for o in plan.new_owners]
    sites = [SimpleNamespace(id=site_ids[key], owner_id=owner_ids[s["owner"][1]], address=s["address"])
             for key, s in plan.new_sites.items()]
    cameras, streams = [], []
    for number, (record, owner_ref, site_ref) in enumerate(plan.new_cameras, 1):
        values = camera_values(record, owner_ids[owner_ref[1]], site_ids[site_ref[1]])
        cameras.append(SimpleNamespace(id=number, portal_id=record.portal_id, status="active",
                                       **dict(zip(CAMERA_FIELDS, values))))
        if record.stream_url:
            url, user, password = split_credentials(record.stream_url)
            secret = cipher.encrypt({"username": user, "password": password}, b"stream") if user or password else None
            streams.append(SimpleNamespace(id=len(streams) + 1, camera_id=number, url=url,
                                           credential_ciphertext=secret))
    return Registered(cameras, streams, owners, sites)


def test_an_empty_registry_gets_every_record_with_one_owner_and_site_per_person_and_address(cipher):
    plan = planned(Registered(), cipher, ROWS)
    counts = plan.counts()
    assert (counts.added, counts.updated, counts.unchanged) == (4, 0, 0)
    assert (counts.owners_added, counts.sites_added, counts.conflicts) == (2, 2, 0)  # Maria by phone, Joe by address
    assert sorted(o["contact"]["name"] for o in plan.new_owners) == ["Joe Smith", "Maria Lopez"]
    assert {o["kind"] for o in plan.new_owners} == {"resident", "business"}


def test_the_same_records_again_change_nothing_and_a_changed_label_is_an_update(cipher):
    registered = registered_like(planned(Registered(), cipher, ROWS), cipher)
    again = planned(registered, cipher, ROWS)
    assert again.counts().changed is False and again.counts().unchanged == 4
    changed = planned(registered, cipher, [{**ROWS[0], "stream_url": "rtsp://viewer:n3w@gw1.example:554/cam1"},
                                           ROWS[1], {**ROWS[2], "camera_label": "Till"}, ROWS[3]])
    assert changed.counts().updated == 2 and changed.counts().unchanged == 2
    (new_password, label) = changed.camera_updates
    assert (new_password[0].portal_id, new_password[3]) == ("A1", ("rtsp://gw1.example:554/cam1", "viewer", "n3w"))
    assert (label[0].camera_label, label[1].label, label[3]) == ("Till", "Register", None)


def test_a_new_camera_under_a_registered_phone_but_another_name_is_a_conflict_with_the_names_masked(cipher):
    registered = registered_like(planned(Registered(), cipher, ROWS[:2]), cipher)
    plan = planned(registered, cipher, [{**ROWS[1], "portal_id": "C1", "owner_name": "Ann Other"}])
    counts = plan.counts()
    assert (counts.added, counts.conflicts, counts.owners_added) == (0, 1, 0)
    (conflict,) = counts.owner_conflicts
    assert (conflict.portal_id, conflict.matched_on, conflict.registry_name, conflict.file_name) == (
        "C1", "phone", "M**** L****", "A** O****")
    assert "Maria" not in repr(counts.as_details()) and "Ann" not in repr(counts.as_details())


@pytest.mark.parametrize("portal_id, found", [("rtic-1", True), ("rtic-01", False), ("rtic-0", False),
                                              ("rtic-12345678901", False), ("RTIC-1", False), ("rtic-1x", False)])
def test_only_an_exported_id_of_the_exact_form_finds_a_camera_without_portal_id(cipher, portal_id, found):
    registered = registered_like(planned(Registered(), cipher, ROWS[1:2]), cipher)
    registered.cameras[0].portal_id = None  # registered by phone: export wrote it as rtic-1
    plan = planned(registered, cipher, [{**ROWS[1], "portal_id": portal_id}])
    assert (plan.counts().unchanged, plan.counts().added) == ((1, 0) if found else (0, 1))


def test_a_record_breaking_the_camera_rules_stops_the_plan_before_anything_is_read(cipher):
    good = records(ROWS[:1])
    bad = [SimpleNamespace(**{**vars(good[0]), "stream_url": "", "portal_id": "X" * 500})]  # live with no stream
    registered = Registered()
    with pytest.raises(UserError, match=r"portal camera 'X{64}', .*nothing was imported"):
        ImportPlan(registered, cipher, bad, "kim-outreach", NOW).match(None)
    assert registered.asked == []


def test_planning_imports_no_database_code():
    code = ("import sys, console.services.registry_import_plan; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'sqlalchemy' or m.startswith('console.store')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.stdout.strip() == "[]"
