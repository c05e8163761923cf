"""PostgreSQL, as the consoles' least-privilege role after `db grant`: a directory sign-in creates and updates its
account's row through rtic_save_directory_user, which writes directory rows only; `users` stays closed to the role."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import ldap3
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from console.cli import main
from console.domain.users import Role
from console.services.accounts import AccountService
from console.store.audit import AuditLog
from console.store.db import Database, open_database
from tests.directory.conftest import make_auth
from tests.directory.slapd import PASSWORD, group_dn, person_dn

pytestmark = pytest.mark.postgres
NOW = datetime.now(timezone.utc).replace(microsecond=0)


@pytest.fixture
def console_db(pg_url):
    role = f"rtic_console_{uuid.uuid4().hex[:8]}"
    admin = open_database(pg_url, create=True)
    with admin.engine.begin() as conn:
        conn.execute(text(f'CREATE ROLE "{role}" LOGIN'))
    AccountService(admin, AuditLog(admin)).create_first_admin("local-admin", "a local password 12",
                                                              NOW - timedelta(days=1))
    assert main(["db", "grant", "--db", admin.url, "--role", role]) == 0
    url = make_url(pg_url).set(username=role, password=None).render_as_string(hide_password=False)
    engine = create_engine(url)
    try:
        yield Database(engine=engine, url=url)
    finally:
        engine.dispose()
        with admin.engine.begin() as conn:
            conn.execute(text(f'DROP OWNED BY "{role}"'))
            conn.execute(text(f'DROP ROLE "{role}"'))
        admin.close()


def test_directory_sign_in_works_as_the_consoles_role_and_writes_only_directory_rows(slapd, directory_settings,
                                                                                     console_db):
    auth = make_auth(console_db, directory_settings)
    session = auth.login("bob", PASSWORD, NOW, notice_acknowledged=True)
    assert (session.user.source, session.user.role) == ("directory", Role.DETECTIVE)
    slapd.modify(group_dn("detectives"), {"member": [(ldap3.MODIFY_DELETE, [person_dn("bob")])]})
    slapd.modify(group_dn("console-admins"), {"member": [(ldap3.MODIFY_ADD, [person_dn("bob")])]})
    assert auth.login("bob", PASSWORD, NOW + timedelta(minutes=1), notice_acknowledged=True).user.role is Role.ADMIN
    for statement, words in (
            ("SELECT rtic_save_directory_user('local-admin', 'x', 'dispatcher', 'cn=x', now())",
             "is a local account, not a directory account"),
            ("SELECT rtic_save_directory_user('eve', 'x', 'root', 'cn=x', now())", "not a console role"),
            ("UPDATE users SET role = 'admin' WHERE username = 'bob'", "permission denied for table users"),
            ("INSERT INTO users (username, display_name, role, password_hash, must_change_password, created_at, "
             "source) VALUES ('mallory', 'm', 'admin', 'x', false, now(), 'directory')",
             "permission denied for table users")):
        with pytest.raises(DBAPIError) as refused:
            with console_db.engine.begin() as conn:
                conn.execute(text(statement))
        assert words in str(refused.value.orig)
