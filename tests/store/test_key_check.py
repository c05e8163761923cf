"""The key check on both backends: written by the first console, a wrong or missing key refused with one sentence,
no key ever created for a registry that holds encrypted records or a key check."""

from __future__ import annotations

import base64
import stat

import pytest
from sqlalchemy import select, text

from console.domain.owners import OwnerContact, OwnerKind
from console.errors import UserError
from console.store import registry as repo
from console.store.key_check import KeyMismatch, agency_cipher, key_check, read_check, refusal
from console.store.secrets import ContactCipher, default_key_path, key_id, key_sources

KEY_A = bytes(range(32))
KEY_B = bytes(range(1, 33))


@pytest.fixture
def no_key(monkeypatch):
    monkeypatch.delenv("RTIC_CONTACT_KEY", raising=False)


def use_key(monkeypatch, key: bytes) -> None:
    monkeypatch.setenv("RTIC_CONTACT_KEY", base64.b64encode(key).decode())


def _owner(database, cipher) -> int:
    with database.engine.begin() as conn:
        return repo.add_owner(conn, cipher, OwnerKind.RESIDENT, OwnerContact("Maria Lopez", phone="215-555-0143"))


def test_the_first_console_on_an_empty_registry_makes_the_key_and_its_check(database, no_key):
    cipher = agency_cipher(database, workstation="ws-a")
    path = default_key_path()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    key = base64.b64decode(path.read_text())
    with database.engine.connect() as conn:
        check = read_check(conn)
    assert check.key_id == key_id(key) == cipher.key_id and check.matches(key) and not check.matches(KEY_B)
    assert check.workstation == "ws-a"
    assert agency_cipher(database).key_id == cipher.key_id  # the next start finds and accepts the same key


def test_a_workstation_with_another_key_is_refused_with_one_sentence(database, monkeypatch):
    use_key(monkeypatch, KEY_A)
    agency_cipher(database)
    use_key(monkeypatch, KEY_B)
    with pytest.raises(KeyMismatch) as refused:
        agency_cipher(database)
    expected = (f"this database's records are under contact key {key_id(KEY_A)}, but this workstation has key "
                f"{key_id(KEY_B)} (from RTIC_CONTACT_KEY), so the console will not start: {key_sources()}")
    assert str(refused.value) == expected == refusal(key_id(KEY_A), key_id(KEY_B), "RTIC_CONTACT_KEY")
    assert "\n" not in expected and "contact.key in the data folder" in expected and "key import" in expected


def test_no_key_is_created_for_a_registry_with_a_key_check(database, monkeypatch):
    use_key(monkeypatch, KEY_A)
    agency_cipher(database)
    monkeypatch.delenv("RTIC_CONTACT_KEY")
    with pytest.raises(KeyMismatch, match=f"under contact key {key_id(KEY_A)}, but this workstation has no contact"):
        agency_cipher(database)
    assert not default_key_path().exists()


def test_a_registry_from_before_the_check_is_checked_on_its_records(database, monkeypatch, no_key):
    """Records written before migration 0003 (no key check): no key is made, a wrong key is refused, the right
    key writes the check."""
    _owner(database, ContactCipher(KEY_A))
    with pytest.raises(KeyMismatch, match="but this workstation has no contact key"):
        agency_cipher(database)
    assert not default_key_path().exists()
    use_key(monkeypatch, KEY_B)
    with pytest.raises(KeyMismatch, match=f"under contact key {key_id(KEY_A)}, but this workstation has key "
                                          f"{key_id(KEY_B)}"):
        agency_cipher(database)
    with database.engine.connect() as conn:
        assert read_check(conn) is None  # nothing written by the refused workstation
    use_key(monkeypatch, KEY_A)
    assert agency_cipher(database).key_id == key_id(KEY_A)
    with database.engine.connect() as conn:
        assert read_check(conn).key_id == key_id(KEY_A)


def test_a_rotation_in_progress_refuses_consoles_with_either_key(database, monkeypatch):
    use_key(monkeypatch, KEY_A)
    agency_cipher(database)
    with database.engine.begin() as conn:
        conn.execute(key_check.update().values(next_key_id=key_id(KEY_B), next_check_value="00" * 32,
                                               rotation_started_by="os:admin"))
    for key in (KEY_A, KEY_B):
        use_key(monkeypatch, key)
        with pytest.raises(KeyMismatch, match=f"rotation from key {key_id(KEY_A)} to key {key_id(KEY_B)} is in "
                                              "progress .*finish it with `rtic-console key rotate`"):
            agency_cipher(database)


def test_a_key_file_is_kept_only_when_its_check_is_committed(database, no_key):
    """A database that refuses the check (here: a read-only table) leaves no orphan contact.key behind."""
    if database.dialect == "sqlite":
        with database.engine.begin() as conn:
            conn.execute(text("CREATE TRIGGER refuse_check BEFORE INSERT ON key_check "
                              "BEGIN SELECT RAISE(ABORT, 'refused'); END"))
    else:
        with database.engine.begin() as conn:
            conn.execute(text("CREATE FUNCTION refuse_check() RETURNS trigger LANGUAGE plpgsql AS $$ "
                              "BEGIN RAISE EXCEPTION 'refused'; END $$"))
            conn.execute(text("CREATE TRIGGER refuse_check BEFORE INSERT ON key_check "
                              "FOR EACH ROW EXECUTE FUNCTION refuse_check()"))
    with pytest.raises(UserError, match="cannot check this workstation's contact key against the database"):
        agency_cipher(database)
    assert not default_key_path().exists()
    with database.engine.connect() as conn:
        assert conn.execute(select(key_check)).first() is None


def test_the_key_file_never_reaches_the_database(database, no_key):
    agency_cipher(database)
    key = base64.b64decode(default_key_path().read_text())
    with database.engine.connect() as conn:
        row = conn.execute(select(key_check)).one()
    stored = " ".join(str(v) for v in row)
    assert base64.b64encode(key).decode() not in stored and key.hex() not in stored
