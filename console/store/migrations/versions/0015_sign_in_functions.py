"""What signing in writes about failures, locks and TOTP steps is the database's to decide (issue 14's last hole).

Through 0013 the consoles' role could DELETE from login_failures and UPDATE sign_ins.locked_at and
sign_ins.totp_last_step, so a hostile workstation could erase its own failure count, lift a lockout and replay a
TOTP step, and keep guessing. From this revision `db grant` gives that role only SELECT and INSERT on login_failures,
no UPDATE of those sign_ins columns (nor of last_login_at), and these functions, run as the tables' owner, do it:

- rtic_password_matches (replaced): also refuses (false, and the attempt recorded) while the account is locked, by an
  administrator or after failures, or already has MAX_FAILED_LOGINS (5) failures in the 15 minutes before p_now, and
  locks it (sign_ins.locked_at) when the failure it records is the fifth; a match is noted in `password_matches`
  for this transaction only (txid_current()), a table the consoles' role cannot read or write;
- rtic_record_login(user_id, now): the last sign-in, and the failures cleared: for a local account only after a
  match in the same transaction (a directory account's password is checked by the directory, not here);
- rtic_use_totp_step(user_id, step): the TOTP step accepted, only forward (a step at or before the stored one is
  refused) and, for a local account, only after a match in the same transaction;
- rtic_lock_after_failures(user_id, now): the lock after failures, only when the failures in the window are enough.

A lockout is lifted only by an administrator (`rtic-console users unlock`, as the owner). Residual: the window is
measured from the `now` the console passes; a console lying about its clock backwards between attempts could slide
the window (recorded failures are never erased, so the audit and the table still show every attempt).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 16:00:00
"""
import importlib.util
from pathlib import Path

import sqlalchemy as sa
from alembic import op


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

NEW = ("rtic_record_login(integer, timestamptz)", "rtic_use_totp_step(integer, bigint)",
       "rtic_lock_after_failures(integer, timestamptz)")


def upgrade() -> None:
    op.create_table("password_matches",
                    sa.Column("id", sa.Integer(), primary_key=True),
                    sa.Column("username", sa.String(64), nullable=False),
                    sa.Column("txid", sa.BigInteger(), nullable=False))
    op.create_index("ix_password_matches_username", "password_matches", ["username"])
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("REVOKE ALL ON password_matches FROM PUBLIC")
        for statement in (MATCHES, MATCHED, RECORD_LOGIN, USE_TOTP_STEP, LOCK_AFTER_FAILURES):
            op.execute(statement)
        op.execute("REVOKE ALL ON FUNCTION rtic_password_matches(text, text, timestamptz, text) FROM PUBLIC")
        op.execute("REVOKE ALL ON FUNCTION rtic_matched(integer) FROM PUBLIC")
        for signature in NEW:
            op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")


# The policy of console/domain/users.py (MAX_FAILED_LOGINS, FAILED_LOGIN_WINDOW), kept here for the database's check.
MATCHES = r"""
CREATE OR REPLACE FUNCTION rtic_password_matches(p_username text, p_digest text, p_now timestamptz,
                                                 p_workstation text)
RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $fn$
DECLARE
    found_id integer;
    stored text;
    locked boolean;
    name text := left(coalesce(p_username, ''), 64);
    at_now timestamptz := coalesce(p_now, now());
    recent integer;
    ok boolean := false;
BEGIN
    SELECT u.id, coalesce(s.password_hash, u.password_hash), (u.locked_at IS NOT NULL OR s.locked_at IS NOT NULL)
    INTO found_id, stored, locked
    FROM users u LEFT JOIN sign_ins s ON s.user_id = u.id WHERE u.username = p_username;
    SELECT count(*) INTO recent FROM login_failures WHERE username = name AND at > at_now - interval '15 minutes';
    IF stored IS NOT NULL AND stored LIKE '$argon2%' AND p_digest IS NOT NULL AND length(p_digest) <= 200
       AND NOT locked AND recent < 5 THEN
        ok := sha256(convert_to(substring(stored from '[^$]*$'), 'UTF8')) = sha256(convert_to(p_digest, 'UTF8'));
    END IF;
    IF ok THEN
        DELETE FROM password_matches WHERE username = name;
        INSERT INTO password_matches (username, txid) VALUES (name, txid_current());
    ELSE
        INSERT INTO login_failures (username, at, workstation)
        VALUES (name, at_now, left(coalesce(p_workstation, ''), 100));
        IF found_id IS NOT NULL AND recent + 1 >= 5 THEN
            PERFORM rtic_lock_after_failures(found_id, at_now);
        END IF;
    END IF;
    RETURN ok;
END
$fn$
"""

MATCHED = r"""
CREATE FUNCTION rtic_matched(p_user_id integer) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $fn$
    SELECT EXISTS (SELECT 1 FROM users u JOIN password_matches m ON m.username = u.username
                   WHERE u.id = p_user_id AND m.txid = txid_current())
$fn$
"""

RECORD_LOGIN = r"""
CREATE FUNCTION rtic_record_login(p_user_id integer, p_now timestamptz) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $fn$
DECLARE
    name text;
    kind text;
BEGIN
    SELECT username, coalesce(source, 'local') INTO name, kind FROM users WHERE id = p_user_id;
    IF name IS NULL OR (kind = 'local' AND NOT rtic_matched(p_user_id)) THEN
        RETURN false;
    END IF;
    UPDATE sign_ins SET last_login_at = p_now WHERE user_id = p_user_id;
    IF NOT FOUND THEN
        INSERT INTO sign_ins (user_id, last_login_at) VALUES (p_user_id, p_now);
    END IF;
    DELETE FROM login_failures WHERE username = name;
    DELETE FROM password_matches WHERE username = name;
    RETURN true;
END
$fn$
"""

USE_TOTP_STEP = r"""
CREATE FUNCTION rtic_use_totp_step(p_user_id integer, p_step bigint) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $fn$
DECLARE
    kind text;
    last_step bigint;
BEGIN
    SELECT coalesce(u.source, 'local'), greatest(u.totp_last_step, s.totp_last_step) INTO kind, last_step
    FROM users u LEFT JOIN sign_ins s ON s.user_id = u.id WHERE u.id = p_user_id FOR UPDATE OF u;
    IF kind IS NULL OR p_step IS NULL OR (last_step IS NOT NULL AND p_step <= last_step)
       OR (kind = 'local' AND NOT rtic_matched(p_user_id)) THEN
        RETURN false;
    END IF;
    UPDATE sign_ins SET totp_last_step = p_step WHERE user_id = p_user_id;
    IF NOT FOUND THEN
        INSERT INTO sign_ins (user_id, totp_last_step) VALUES (p_user_id, p_step);
    END IF;
    RETURN true;
END
$fn$
"""

LOCK_AFTER_FAILURES = r"""
CREATE FUNCTION rtic_lock_after_failures(p_user_id integer, p_now timestamptz) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $fn$
DECLARE
    name text;
BEGIN
    SELECT username INTO name FROM users WHERE id = p_user_id;
    IF name IS NULL OR (SELECT count(*) FROM login_failures
                        WHERE username = name AND at > p_now - interval '15 minutes') < 5 THEN
        RETURN false;
    END IF;
    UPDATE sign_ins SET locked_at = p_now WHERE user_id = p_user_id AND locked_at IS NULL;
    IF NOT FOUND AND NOT EXISTS (SELECT 1 FROM sign_ins WHERE user_id = p_user_id) THEN
        INSERT INTO sign_ins (user_id, locked_at) VALUES (p_user_id, p_now);
    END IF;
    RETURN true;
END
$fn$
"""


def _previous_matches() -> str:
    path = Path(__file__).with_name("0013_password_functions.py")
    spec = importlib.util.spec_from_file_location("rtic_migration_0013", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.MATCHES.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(_previous_matches())
        op.execute("REVOKE ALL ON FUNCTION rtic_password_matches(text, text, timestamptz, text) FROM PUBLIC")
        for signature in reversed(NEW):
            op.execute(f"DROP FUNCTION IF EXISTS {signature}")
        op.execute("DROP FUNCTION IF EXISTS rtic_matched(integer)")
    op.drop_index("ix_password_matches_username", "password_matches")
    op.drop_table("password_matches")
