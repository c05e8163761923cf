"""A directory user's field laptop with no connection: after an online sign-in through the real slapd made the sealed
field copy, the same password signs in offline (the copy's argon2id-derived key is the verifier), a wrong one does
not and counts, five lock the laptop's sign-in, and a copy older than the age limit is refused."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from console.domain.users import Role
from console.services.auth import LoginFailed
from console.services.field_copy import FieldCopy
from console.services.field_copy_file import KdfParams
from console.services.field_login import FieldAuthService
from console.services.resilience import ResilientAudit
from console.store.audit import AuditLog
from console.store.journal import AuditJournal
from tests.directory.slapd import PASSWORD

CHEAP = KdfParams(time_cost=1, memory_cost=8, parallelism=1)
NOW = datetime.now(timezone.utc).replace(microsecond=0)


@pytest.fixture
def laptop(directory_auth, directory_database, tmp_path):
    session = directory_auth.login("bob", PASSWORD, NOW, notice_acknowledged=True)  # online, through the directory
    copy = FieldCopy(tmp_path / "field.rtic", CHEAP)
    copy.refresh(directory_database, session.user, NOW, "field-laptop-7", AuditLog(directory_database),
                 seal=copy.seal_for(PASSWORD))
    sink = ResilientAudit(AuditLog(directory_database), AuditJournal(tmp_path / "journal.db"))
    auth = FieldAuthService(copy, sink, hasher=directory_auth.hasher, workstation="field-laptop-7",
                            max_age=timedelta(days=7))
    yield auth
    if auth.field is not None:
        auth.field.close()


def offline(auth, password=PASSWORD, at=NOW + timedelta(hours=5)):
    return auth.login("bob", password, at, notice_acknowledged=True)


def test_a_directory_user_signs_in_offline_with_the_password_of_the_last_online_sign_in(laptop):
    session = offline(laptop)
    assert (session.user.username, session.user.source, session.user.role) == ("bob", "directory", Role.DETECTIVE)
    again = laptop.unlock_screen(session, PASSWORD, NOW + timedelta(hours=6))  # the idle lock checks it again
    assert again.user.username == "bob"
    with pytest.raises(LoginFailed, match="wrong username or password"):
        laptop.unlock_screen(session, "not the password", NOW + timedelta(hours=7))


def test_wrong_passwords_offline_count_and_lock(laptop):
    for i in range(4):
        with pytest.raises(LoginFailed, match="^wrong username or password$"):
            offline(laptop, "not the password", NOW + timedelta(hours=5, seconds=i))
    with pytest.raises(LoginFailed, match="this account is locked"):
        offline(laptop, "not the password", NOW + timedelta(hours=5, minutes=1))
    with pytest.raises(LoginFailed, match="locked"):
        offline(laptop, PASSWORD, NOW + timedelta(hours=5, minutes=2))


def test_a_copy_older_than_the_limit_does_not_sign_in(laptop):
    with pytest.raises(LoginFailed, match="more than 7 days ago"):
        offline(laptop, PASSWORD, NOW + timedelta(days=8))
