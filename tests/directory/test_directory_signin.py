"""Signing in through a real directory (OpenLDAP slapd, TLS from a test CA): the window's and the CLI's path."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import ldap3
import pytest
from sqlalchemy import text

from console.domain.audit import Action
from console.domain.users import Role
from console.services.auth import LoginFailed
from console.store import users as user_store
from tests.directory.conftest import make_auth
from tests.directory.slapd import PASSWORD, Slapd, free_port, group_dn, make_ca, person_dn

NOW = datetime.now(timezone.utc).replace(microsecond=0)


def login(auth, name, password=PASSWORD, at=NOW):
    return auth.login(name, password, at, notice_acknowledged=True)


def audit(database, action=None):
    with database.engine.connect() as conn:
        rows = conn.execute(text("SELECT action, outcome, username, details FROM audit_events ORDER BY seq")).all()
    out = [dict(r._mapping, details=json.loads(r.details)) for r in rows]
    return [r for r in out if action is None or r["action"] == action]


def test_a_good_password_signs_in_with_the_role_of_the_nested_groups(directory_auth, directory_database):
    session = login(directory_auth, "Alice")  # a name is the directory's, whatever its case
    assert (session.user.username, session.user.role, session.user.source) == ("alice", Role.DISPATCHER, "directory")
    assert session.user.display_name == "Alice Archer"
    with directory_database.engine.connect() as conn:
        stored = user_store.get_user(conn, "alice")
    assert stored.last_login_at == NOW and stored.source == "directory"
    created = audit(directory_database, Action.USER_CHANGE)[0]["details"]
    assert created["change"] == "created_from_directory" and created["role"] == "dispatcher"
    assert created["groups"] == group_dn("console-dispatch")
    signed = audit(directory_database, Action.LOGIN)[-1]["details"]
    assert signed["source"] == "directory" and "password" not in json.dumps(signed).lower()


def test_a_wrong_password_is_refused_and_five_lock_the_account(directory_auth, directory_database):
    login(directory_auth, "bob")  # the console row exists from a first sign-in
    for i in range(4):
        with pytest.raises(LoginFailed, match="^wrong username or password$"):
            login(directory_auth, "bob", "not-the-password", NOW + timedelta(minutes=1, seconds=i))
    with pytest.raises(LoginFailed, match="this account is locked"):
        login(directory_auth, "bob", "not-the-password", NOW + timedelta(minutes=2))
    with pytest.raises(LoginFailed, match="locked after too many failed logins"):
        login(directory_auth, "bob", PASSWORD, NOW + timedelta(minutes=3))  # the right password no longer opens it
    assert len(audit(directory_database, Action.LOCKOUT)) == 1


def test_a_name_the_directory_does_not_know_is_locked_out_by_name_too(directory_auth):
    for i in range(5):
        with pytest.raises(LoginFailed, match="^wrong username or password$"):
            login(directory_auth, "mallory", "guess", NOW + timedelta(seconds=i))
    with pytest.raises(LoginFailed, match="5 failed sign-ins for this name"):
        login(directory_auth, "mallory", "guess", NOW + timedelta(minutes=1))


@pytest.mark.parametrize(("name", "sentence"), [
    ("carol", "this directory account is disabled"),
    ("dave", "this directory account expired on 2000-01-01"),
    ("erin", "in none of the groups that give a console role"),
])
def test_disabled_expired_and_unmapped_accounts_cannot_sign_in(directory_auth, directory_database, name, sentence):
    with pytest.raises(LoginFailed, match=sentence):
        login(directory_auth, name)
    with directory_database.engine.connect() as conn:
        assert user_store.get_user(conn, name) is None  # no console row for an account that may not sign in


def test_a_role_change_in_the_directory_is_taken_at_sign_in_and_audited(slapd, directory_auth, directory_database):
    assert login(directory_auth, "bob").user.role is Role.DETECTIVE
    slapd.modify(group_dn("detectives"), {"member": [(ldap3.MODIFY_DELETE, [person_dn("bob")])]})
    slapd.modify(group_dn("patrol"), {"member": [(ldap3.MODIFY_ADD, [person_dn("bob")])]})
    assert login(directory_auth, "bob", at=NOW + timedelta(minutes=1)).user.role is Role.DISPATCHER
    change = audit(directory_database, Action.USER_CHANGE)[-1]["details"]
    assert (change["change"], change["from"], change["to"]) == ("role", "detective", "dispatcher")


def test_the_open_session_locks_when_the_account_leaves_the_mapped_groups(slapd, directory_auth, directory_database):
    session = login(directory_auth, "alice")
    assert directory_auth.directory_recheck(session, NOW + timedelta(minutes=5)) is None
    slapd.modify(group_dn("patrol"), {"member": [(ldap3.MODIFY_DELETE, [person_dn("alice")])]})
    slapd.modify(group_dn("night-shift"), {"member": [(ldap3.MODIFY_DELETE, [person_dn("alice")])]})
    sentence = directory_auth.directory_recheck(session, NOW + timedelta(minutes=10))
    assert sentence.startswith("The console locked: this directory account is in none of the groups")
    assert audit(directory_database, Action.LOCKOUT)[-1]["details"] == {"why": "directory_recheck",
                                                                        "directory": "no_group"}
    with pytest.raises(LoginFailed, match="in none of the groups"):
        directory_auth.unlock_screen(session, PASSWORD, NOW + timedelta(minutes=11))


def test_the_open_session_locks_when_the_account_is_disabled(slapd, directory_auth):
    session = login(directory_auth, "alice")
    slapd.modify(person_dn("alice"), {"userAccountControl": [(ldap3.MODIFY_REPLACE, [514])]})
    assert "this directory account is disabled" in directory_auth.directory_recheck(session, NOW)


def test_a_directory_that_is_down_gives_a_sentence_and_the_break_glass_admin_still_signs_in(
        slapd, directory_settings, directory_database):
    from console.services.accounts import AccountService
    from console.store.audit import AuditLog

    accounts = AccountService(directory_database, AuditLog(directory_database), workstation="rtic-ws-1",
                              hasher=make_auth(directory_database, directory_settings).hasher)
    accounts.add_user("os:test", "root-admin", Role.ADMIN, "break glass password 1", NOW - timedelta(days=1))
    accounts.add_user("os:test", "old-local", Role.DISPATCHER, "a local password 12", NOW - timedelta(days=1))
    with directory_database.engine.begin() as conn:
        user_store.set_break_glass(conn, user_store.get_user(conn, "root-admin").id, True)
    auth = make_auth(directory_database, directory_settings)
    session = login(auth, "alice")
    slapd.stop()
    with pytest.raises(LoginFailed, match=r"^the directory cannot be reached, so directory accounts cannot sign in now "
                                          r"\(ldap://127\.0\.0\.1:\d+: connection refused"):
        login(auth, "alice")
    assert auth.directory_recheck(session, NOW) is None  # an outage locks no open session
    admin = login(auth, "root-admin", "break glass password 1")
    assert admin.user.break_glass and audit(directory_database, Action.LOGIN)[-1]["details"]["break_glass"] is True
    with pytest.raises(LoginFailed, match="only the break-glass administrator"):
        login(auth, "old-local", "a local password 12")


def test_the_second_server_is_used_when_the_first_is_down(slapd, directory_settings, directory_database):
    down = f"ldaps://127.0.0.1:{free_port()}"
    auth = make_auth(directory_database, directory_settings.replaced(ldap_urls=[down, slapd.ldaps_url]))
    assert login(auth, "alice").user.role is Role.DISPATCHER
    assert audit(directory_database, Action.LOGIN)[-1]["details"]["server"] == slapd.ldaps_url


def test_a_certificate_that_does_not_verify_is_refused(slapd, directory_settings, directory_database, tmp_path):
    other_ca, _, _ = make_ca(tmp_path, "another-ca")
    for url in (slapd.ldaps_url, slapd.ldap_url):  # LDAPS, and StartTLS: no bind is sent in either case
        auth = make_auth(directory_database, directory_settings.replaced(ldap_urls=[url], ldap_ca_file=str(other_ca)))
        with pytest.raises(LoginFailed, match="its certificate does not verify"):
            login(auth, "alice")


def test_a_certificate_for_another_name_is_refused(tmp_path, directory_settings, directory_database):
    with Slapd(tmp_path / "wrong-name", cert_names=("dc9.example.gov",)) as server:  # the right CA, another name
        auth = make_auth(directory_database, directory_settings.replaced(ldap_urls=[server.ldaps_url],
                                                                        ldap_ca_file=str(server.ca_file)))
        with pytest.raises(LoginFailed, match="its certificate does not verify"):
            login(auth, "alice")


@pytest.mark.parametrize("name", ["*)(uid=*", "*", ",ou=x", "alice,ou=people", "alice)(uid=*", "ali*"])
def test_filter_and_dn_metacharacters_in_a_name_are_escaped(directory_auth, directory_settings, directory_database,
                                                           name):
    with pytest.raises(LoginFailed, match="^wrong username or password$"):
        login(directory_auth, name)  # search-then-bind: the filter matches nobody, not everybody
    template = make_auth(directory_database, directory_settings.replaced(
        ldap_user_dn_template="uid={user},ou=people,dc=example,dc=gov"))
    with pytest.raises(LoginFailed, match="^wrong username or password$"):
        login(template, name)  # DN template: the name is one escaped RDN value


def test_an_empty_password_is_never_sent_as_an_unauthenticated_bind(directory_auth):
    with pytest.raises(LoginFailed, match="^wrong username or password$"):
        login(directory_auth, "alice", "")


def test_a_server_that_accepts_but_never_answers_gives_the_sentence_not_a_hang(slapd, directory_settings,
                                                                              directory_database):
    import socket

    with socket.socket() as silent:  # the kernel accepts the connection; nobody ever reads or writes on it
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        for url in (f"ldaps://127.0.0.1:{port}", f"ldap://127.0.0.1:{port}"):
            auth = make_auth(directory_database, directory_settings.replaced(ldap_urls=[url], ldap_timeout_s=1.0))
            with pytest.raises(LoginFailed, match=r"^the directory cannot be reached.*no answer within ldap_timeout_s"):
                login(auth, "alice")
            # and with a second server that answers, the sign-in goes on there
            auth = make_auth(directory_database, directory_settings.replaced(ldap_urls=[url, slapd.ldaps_url],
                                                                            ldap_timeout_s=1.0))
            assert login(auth, "alice").user.role is Role.DISPATCHER


def test_the_consoles_second_factor_still_applies_to_a_directory_account(directory_auth, directory_database):
    import pyotp

    from console.services.accounts import AccountService
    from console.services.auth import SecondFactorRequired
    from console.store.audit import AuditLog

    login(directory_auth, "alice")  # the row exists from a first sign-in
    uri = AccountService(directory_database, AuditLog(directory_database)).enable_totp("os:test", "alice", NOW)
    totp = pyotp.parse_uri(uri)
    at = NOW + timedelta(minutes=1)
    with pytest.raises(SecondFactorRequired):
        login(directory_auth, "alice", at=at)
    with pytest.raises(LoginFailed, match="wrong or already used authenticator code"):
        directory_auth.login("alice", PASSWORD, at, totp_code="000000" if totp.at(at) != "000000" else "111111",
                             notice_acknowledged=True)
    session = directory_auth.login("alice", PASSWORD, at, totp_code=totp.at(at), notice_acknowledged=True)
    assert audit(directory_database, Action.LOGIN)[-1]["details"]["second_factor"] is True
    assert session.user.totp_enabled


def test_a_role_changed_while_locked_does_not_unlock_into_the_old_window(slapd, directory_auth):
    session = login(directory_auth, "bob")
    slapd.modify(group_dn("detectives"), {"member": [(ldap3.MODIFY_DELETE, [person_dn("bob")])]})
    slapd.modify(group_dn("console-admins"), {"member": [(ldap3.MODIFY_ADD, [person_dn("bob")])]})
    assert "role in the directory changed to admin" in directory_auth.directory_recheck(session, NOW)
    with pytest.raises(LoginFailed, match="your role in the directory is now admin: log out and sign in again"):
        directory_auth.unlock_screen(session, PASSWORD, NOW + timedelta(minutes=1))


def test_the_break_glass_name_is_matched_as_typed_and_a_local_name_is_never_taken_over(directory_settings,
                                                                                        directory_database):
    from console.services.accounts import AccountService
    from console.store.audit import AuditLog

    accounts = AccountService(directory_database, AuditLog(directory_database), workstation="rtic-ws-1",
                              hasher=make_auth(directory_database, directory_settings).hasher)
    accounts.add_user("os:test", "Chief", Role.ADMIN, "break glass password 1", NOW - timedelta(days=1))
    accounts.add_user("os:test", "alice", Role.ADMIN, "a local password 12", NOW - timedelta(days=1))
    with directory_database.engine.begin() as conn:
        user_store.set_break_glass(conn, user_store.get_user(conn, "Chief").id, True)
    auth = make_auth(directory_database, directory_settings)
    assert login(auth, "Chief", "break glass password 1").user.break_glass
    for name in ("alice", "ALICE"):  # the directory's alice cannot take over (or sign in as) the local alice
        with pytest.raises(LoginFailed, match="the local account alice cannot sign in here"):
            login(auth, name)
    with directory_database.engine.connect() as conn:
        assert user_store.get_user(conn, "alice").source == "local"
