"""Signing in on a field laptop with no connection: the password first opens the copy sealed to it, then signs in
against the one account in the copy, with every outcome in the local audit journal (and so in the chain once the
database answers); a stale copy refused; passwords that do not open the copy count towards the lockout."""

from __future__ import annotations

from datetime import timedelta

import pyotp
import pytest

from console.domain.audit import Action
from console.domain.users import Role
from console.services.auth import LoginFailed, SecondFactorRequired
from console.services.field_copy import FieldCopy
from console.services.field_copy_file import KdfParams
from console.services.field_login import FieldAuthService
from console.services.resilience import ResilientAudit
from console.store.audit import AuditLog
from console.store.field_copy import FIELD_COPY_PASSWORD
from console.store.journal import AuditJournal
from tests.services.conftest import NOW, PASSWORD, audit_rows

CHEAP = KdfParams(time_cost=1, memory_cost=8, parallelism=1)


def made_for(database, audit, user, path) -> FieldCopy:
    copy = FieldCopy(path, CHEAP)
    copy.refresh(database, user, NOW, "field-laptop-7", audit, seal=copy.seal_for(PASSWORD))
    return copy


@pytest.fixture
def laptop(database, audit, cipher, hasher, people, registry, tmp_path):
    """A field copy made for the detective at NOW, and the offline sign-in on it (journal in tmp_path)."""
    copy = made_for(database, audit, people[Role.DETECTIVE], tmp_path / "field.rtic")
    sink = ResilientAudit(AuditLog(database), AuditJournal(tmp_path / "journal.db"))
    auth = FieldAuthService(copy, sink, cipher, hasher, workstation="field-laptop-7")  # opened read-only by login
    yield auth
    if auth.field is not None:
        auth.field.close()


def login(auth, name="detective", password=PASSWORD, at=NOW + timedelta(hours=3), code=None):
    return auth.login(name, password, at, totp_code=code, notice_acknowledged=True)


def journaled(auth):
    return [(p.entry.action, p.entry.username, p.entry.details.get("why")) for p in auth.sink.journal.pending()]


def test_the_copy_holds_only_its_own_account_and_refuses_writes_when_read_only(laptop):
    assert laptop.field is None  # nothing is opened before a password has unsealed it
    login(laptop)
    with laptop.field.database.engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT username, password_hash FROM users").all()
        # No password hash in the copy (the consoles' role cannot read one): the sealed copy is the verifier.
        assert [tuple(r) for r in rows] == [("detective", FIELD_COPY_PASSWORD)]
        with pytest.raises(Exception, match="readonly"):
            conn.exec_driver_sql("UPDATE cameras SET label = 'x'")
    login(laptop)  # the sign-in keeps its failed logins and TOTP step in a store of its own, not in the copy


def test_the_right_password_signs_in_and_the_event_reaches_the_chain_later(database, laptop):
    session = login(laptop)
    assert session.user.username == "detective" and session.user.role is Role.DETECTIVE
    assert session.workstation == "field-laptop-7"
    assert journaled(laptop) == [(Action.LOGIN, "detective", None)]
    [pending] = laptop.sink.journal.pending()
    assert pending.entry.details["offline"] is True and pending.entry.details["data_as_of"] == NOW.isoformat()
    assert audit_rows(database, Action.LOGIN) == []  # nothing reached the database yet

    assert laptop.sink.flush().appended == 1  # the database answers again
    [event] = audit_rows(database, Action.LOGIN)
    assert event["username"] == "detective" and event["details"]["offline"] is True
    assert AuditLog(database).verify().ok


def test_a_wrong_password_does_not_open_the_copy_and_is_journaled(laptop):
    with pytest.raises(LoginFailed, match="wrong username or password") as refused:
        login(laptop, password="not the password")
    assert "\n" not in str(refused.value) and laptop.field is None and laptop.seal is None
    assert journaled(laptop) == [(Action.LOGIN_FAILED, "detective", "wrong_password")]
    assert login(laptop).user.username == "detective" and laptop.field is not None


def test_a_stale_copy_is_refused_with_a_clear_sentence(laptop):
    login(laptop, at=NOW + timedelta(days=6, hours=23))  # within the week: fine
    with pytest.raises(LoginFailed, match=r"more than 7 days ago: it cannot be used to sign in\. Connect"):
        login(laptop, at=NOW + timedelta(days=7, minutes=1))
    assert journaled(laptop)[-1] == (Action.LOGIN_FAILED, "detective", "field_copy_stale")
    laptop.max_age = timedelta(days=30)  # the setting field_copy_max_age_days
    assert login(laptop, at=NOW + timedelta(days=8)).user.username == "detective"


def test_a_copy_made_for_another_user_cannot_be_used(laptop):
    # The dispatcher's password is right (the same in these fixtures), but the copy is the detective's.
    with pytest.raises(LoginFailed, match="only the account this laptop's field copy was made for"):
        login(laptop, name="dispatcher")
    with pytest.raises(LoginFailed):
        login(laptop, name="admin")
    assert [j[2] for j in journaled(laptop)] == ["not_the_field_copy_account"] * 2


def test_repeated_failures_lock_the_account_for_the_rest_of_the_run(laptop):
    for _ in range(4):
        with pytest.raises(LoginFailed, match="wrong username or password"):
            login(laptop, password="guess")
    assert laptop.field is None  # none of them opened the copy
    with pytest.raises(LoginFailed, match="this account is locked"):
        login(laptop, password="guess")
    with pytest.raises(LoginFailed, match="locked after too many failed logins"):
        login(laptop)  # the right password no longer helps
    actions = [j[0] for j in journaled(laptop)]
    assert actions.count(Action.LOCKOUT) == 1 and Action.LOGIN not in actions


def test_totp_is_asked_for_and_a_code_is_not_accepted_twice(database, audit, cipher, hasher, accounts, people,
                                                             registry, tmp_path):
    totp = pyotp.parse_uri(accounts.enable_totp("os:admin", "detective", NOW))
    copy = made_for(database, audit, people[Role.DETECTIVE], tmp_path / "field.rtic")
    sink = ResilientAudit(AuditLog(database), AuditJournal(tmp_path / "journal.db"))
    auth = FieldAuthService(copy, sink, cipher, hasher, workstation="field-laptop-7", read_only=False)
    at = NOW + timedelta(hours=1)
    with pytest.raises(SecondFactorRequired):
        login(auth, at=at)
    code = totp.at(at)
    assert login(auth, at=at, code=code).user.totp_enabled
    with pytest.raises(LoginFailed, match="already used"):
        login(auth, at=at, code=code)
    [first, second] = [p.entry for p in sink.journal.pending()]
    assert first.action == Action.LOGIN and first.details["second_factor"] is True
    assert second.action == Action.LOGIN_FAILED and second.details["why"] == "wrong_code"
    auth.field.close()


def test_the_password_cannot_be_changed_offline(laptop):
    session = login(laptop)
    with pytest.raises(Exception, match="cannot be changed with no connection"):
        laptop.change_password(session, PASSWORD, "a brand new passphrase here", NOW + timedelta(hours=4))


def test_a_reset_password_is_refused_offline_rather_than_leaving_the_user_stuck(database, audit, cipher, hasher,
                                                                                 accounts, tmp_path):
    newbie = accounts.add_user("os:test", "newbie", Role.DETECTIVE, PASSWORD, NOW - timedelta(days=1),
                               must_change_password=True)
    copy = made_for(database, audit, newbie, tmp_path / "field.rtic")
    sink = ResilientAudit(AuditLog(database), AuditJournal(tmp_path / "journal.db"))
    auth = FieldAuthService(copy, sink, cipher, hasher, workstation="field-laptop-7")
    with pytest.raises(LoginFailed, match="sign in once while connected"):
        login(auth, name="newbie")
    assert [(p.entry.action, p.entry.details["why"]) for p in sink.journal.pending()] == [
        (Action.LOGIN_FAILED, "must_change_password")]
    auth.field.close()


def test_the_window_sign_in_keeps_the_seal_for_the_keeper_never_the_password(database, audit, auth, people,
                                                                              registry, tmp_path):
    """SealingAuth (the online sign-in when the laptop keeps a copy): the key derived from the password is kept in
    memory for FieldCopyKeeper, this user's existing copy is opened with the password, and the password is gone."""
    from console.services.field_login import SealingAuth

    copy = made_for(database, audit, people[Role.DETECTIVE], tmp_path / "field.rtic")
    sealing = SealingAuth(auth, FieldCopy(copy.path, CHEAP))
    session = sealing.login("detective", PASSWORD, NOW + timedelta(hours=1), notice_acknowledged=True)
    assert session.user.username == "detective" and sealing.opened is not None
    assert sealing.opened.username == "detective"
    assert PASSWORD not in repr(vars(sealing)) and PASSWORD not in repr(sealing.seal)
    sealing.opened.close()
    # The keeper's next copy opens with the same password, and with nothing else.
    copy.refresh(database, people[Role.DETECTIVE], NOW + timedelta(hours=1), "ws", audit, seal=sealing.seal)
    with copy.open(PASSWORD) as field:
        assert field.made_at == NOW + timedelta(hours=1)
    with pytest.raises(LoginFailed):
        sealing.login("detective", "not the password", NOW + timedelta(hours=2), notice_acknowledged=True)
