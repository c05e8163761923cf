"""`rtic-console key rotate` on both backends, killed mid-way (a test hook ends the process with os._exit inside a
batch's transaction, as a kill would) and run again: every owner contact, stream secret, TOTP secret and outreach
phone number ends under the new key with the same content, the digests are recomputed, none is lost, and the audit
trail has the start, the resume and the end with counts."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import select

from console.services.accounts import AccountService
from console.store import intake
from console.store.audit import AuditLog
from console.store.db import open_database
from console.store.key_check import ENCRYPTED, read_check
from console.store.models import KeyRotationRow
from console.store.secrets import ContactCipher, key_id, record_key_id
from tests.cli.test_key_cli import key_file, run, snapshot, workstation
from tests.cli.conftest import add_account

NOW = datetime(2026, 12, 1, 12, tzinfo=timezone.utc)
ROOT = Path(__file__).resolve().parents[2]


def in_a_process(env: dict, *args) -> subprocess.CompletedProcess:
    """A real process, for the run that is killed mid-way (os._exit: run in the test process, it would end the
    tests); env as for run(): the variables to change, None to remove one."""
    full = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, (str(ROOT), os.environ.get("PYTHONPATH"))))}
    for name, value in env.items():
        if value is None:
            full.pop(name, None)
        else:
            full[name] = value
    return subprocess.run([sys.executable, "-m", "console", *args], capture_output=True, text=True, timeout=300,
                          env=full, stdin=subprocess.DEVNULL)


def records(url: str) -> dict[tuple[str, int], bytes]:
    with open_database(url) as database, database.engine.connect() as conn:
        from sqlalchemy import column, table

        found = {}
        for name, id_column, blob_column, _ in ENCRYPTED:
            t = table(name, column(id_column), column(blob_column))
            for row in conn.execute(select(t).where(t.c[blob_column].is_not(None))):
                found[(name, row[0])] = bytes(row[1])
        return found


def opened(blobs: dict, cipher: ContactCipher) -> dict:
    contexts = {name: context for name, _, _, context in ENCRYPTED}
    return {ref: cipher.decrypt(blob, contexts[ref[0]]) for ref, blob in blobs.items()}


def test_a_rotation_killed_mid_way_finishes_when_run_again(db_url, tmp_path):
    a = workstation(tmp_path / "a")  # the key lives in this workstation's data folder (made by the first start)
    assert run(a, "demo", "--cameras", "400", "--db", db_url).returncode == 0
    a.update(add_account(db_url, "admin", "key-admin", tmp_path))  # an administrator rotates the key
    old_key = base64.b64decode(key_file(tmp_path / "a").read_text())
    old = ContactCipher(old_key)
    with open_database(db_url) as database:  # a TOTP secret and an outreach call too
        AccountService(database, AuditLog(database), old).enable_totp("os:admin", "demo-dispatcher", NOW)
        with database.engine.begin() as conn:
            intake.add_call(conn, old, "Corner Shop", "14 Elm St", "413-555-0188", NOW, "outreach", "call_back",
                            None, "", None)
    before = opened(records(db_url), old)
    tables = {name for name, _ in before}
    assert tables == {"owners", "streams", "users", "outreach_calls"} and len(before) > 300

    new_file = tmp_path / "new.key"
    killed = in_a_process({**a, "RTIC_TEST_ROTATE_EXIT_AFTER": "250"}, "key", "rotate", "--new-key-file",
                          str(new_file), "--db", db_url, "--user", "key-admin")
    assert killed.returncode == 9, killed.stderr
    new = ContactCipher(base64.b64decode(new_file.read_text()))
    mid = records(db_url)
    under_new = sum(record_key_id(b) == new.key_id for b in mid.values())
    assert under_new == 200  # the first batch committed; the second died with its transaction
    assert set(mid) == set(before)
    with open_database(db_url) as database, database.engine.connect() as conn:
        check = read_check(conn)
        progress = {r.table_name: r.last_id for r in conn.execute(select(KeyRotationRow.__table__))}
    assert (check.key_id, check.next_key_id) == (old.key_id, new.key_id) and progress["owners"] > 0
    # Meanwhile a console with either key is refused: half the records are under each.
    for env in (a, workstation(tmp_path / "c", base64.b64decode(new_file.read_text()))):
        refused = run(env, "cameras", "near", "42.15", "-72.6", "--radius", "800", "--db", db_url)
        assert refused.returncode == 2 and "rotation from key" in refused.stderr and "in progress" in refused.stderr

    resumed = run(a, "key", "rotate", "--new-key-file", str(new_file), "--db", db_url, "--user", "key-admin")
    assert resumed.returncode == 0, resumed.stderr
    summary = json.loads(resumed.stdout)
    after = records(db_url)
    assert set(after) == set(before)  # none lost
    assert all(record_key_id(blob) == new.key_id for blob in after.values())
    assert opened(after, new) == before  # every record decrypts under the new key, unchanged
    counts = {name: sum(1 for t, _ in before if t == name) for name in tables}
    assert summary["reencrypted"] == counts and summary["unreadable"] == dict.fromkeys(tables, 0)
    # The digests follow the key: an owner is still found by phone, and only under the new key's digest.
    with open_database(db_url) as database, database.engine.connect() as conn:
        phone = next(c["phone"] for (t, _), c in before.items() if t == "owners" and c.get("phone"))
        assert intake.owner_by_phone(conn, new, phone) is not None
        assert intake.owner_by_phone(conn, old, phone) is None
        check = read_check(conn)
    assert (check.key_id, check.next_key_id) == (new.key_id, None)
    # This workstation's own key file now holds the new key; the old one is kept beside it.
    assert base64.b64decode(key_file(tmp_path / "a").read_text()) == base64.b64decode(new_file.read_text())
    assert (key_file(tmp_path / "a").parent / f"contact.key.{key_id(old_key)}.old").exists()
    found = run(a, "cameras", "near", "42.15", "-72.6", "--radius", "800", "--db", db_url, "--user", "key-admin")
    assert found.returncode == 0, found.stderr
    events = [e for e in snapshot(db_url)["audit_events"] if e.action == "key_rotation"]
    phases = [json.loads(e.details)["phase"] for e in events]
    assert phases == ["started", "resumed", "finished"]
    assert json.loads(events[-1].details)["reencrypted"] == counts
    assert old_key.hex() not in str(events) and base64.b64encode(old_key).decode() not in str(events)
