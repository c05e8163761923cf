"""Password hashes never leave the database for the consoles' role (issue 14's remaining hole).

On PostgreSQL the consoles' role could SELECT users.password_hash and sign_ins.password_hash (every hash, for offline
cracking) and UPDATE sign_ins.password_hash (set any account's password). From this revision `db grant` gives that role
column privileges without either password_hash column, and signing in goes through three functions that run as the
tables' owner:

- rtic_password_verifier(username): the argon2 parameters and salt of the password in force (the encoded hash
  without its digest) and the digest's length; no row for an unknown account or one with no local password;
- rtic_password_matches(username, digest, now, workstation): whether the digest the console computed from the typed
  password with those parameters is the stored one (compared as SHA-256 of both, so the comparison's time says
  nothing about the stored digest); a mismatch is recorded in login_failures by the function itself;
- rtic_set_own_password(username, old_digest, new_hash, now, workstation): the user's own new password (or a rehash),
  only with the digest of the password in force (a mismatch is recorded as a failure); it also ends a required
  change (users.must_change_password), since the console can no longer see whether sign_ins holds a hash.

An administrator's reset still runs as the owner (`rtic-console users reset` with RTIC_ADMIN_DATABASE_URL).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 15:30:00
"""
from alembic import op


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

SIGNATURES = ("rtic_password_verifier(text)", "rtic_password_matches(text, text, timestamptz, text)",
              "rtic_set_own_password(text, text, text, timestamptz, text)")


def upgrade() -> None:
    # The console can no longer see sign_ins.password_hash, so "a password the user chose ends a required change" is
    # kept on the account itself.
    op.execute("UPDATE users SET must_change_password = false "
               "WHERE id IN (SELECT user_id FROM sign_ins WHERE password_hash IS NOT NULL)")
    if op.get_bind().dialect.name == 'postgresql':
        for statement in (VERIFIER, MATCHES, SET_OWN):
            op.execute(statement)
        for signature in SIGNATURES:
            op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")


VERIFIER = r"""
CREATE FUNCTION rtic_password_verifier(p_username text)
RETURNS TABLE (out_params text, out_digest_length integer)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $fn$
DECLARE
    stored text;
BEGIN
    SELECT coalesce(s.password_hash, u.password_hash) INTO stored
    FROM users u LEFT JOIN sign_ins s ON s.user_id = u.id WHERE u.username = p_username;
    IF stored IS NULL OR stored !~ '^\$argon2(id|i|d)\$v=[0-9]+\$m=[0-9]+,t=[0-9]+,p=[0-9]+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$'
    THEN
        RETURN;
    END IF;
    out_params := substring(stored from '^(.*)\$[^$]*$');
    out_digest_length := length(substring(stored from '[^$]*$'));
    RETURN NEXT;
END
$fn$
"""

MATCHES = r"""
CREATE FUNCTION rtic_password_matches(p_username text, p_digest text, p_now timestamptz, p_workstation text)
RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $fn$
DECLARE
    stored text;
    ok boolean := false;
BEGIN
    SELECT coalesce(s.password_hash, u.password_hash) INTO stored
    FROM users u LEFT JOIN sign_ins s ON s.user_id = u.id WHERE u.username = p_username;
    IF stored IS NOT NULL AND stored LIKE '$argon2%' AND p_digest IS NOT NULL AND length(p_digest) <= 200 THEN
        ok := sha256(convert_to(substring(stored from '[^$]*$'), 'UTF8')) = sha256(convert_to(p_digest, 'UTF8'));
    END IF;
    IF NOT ok THEN
        INSERT INTO login_failures (username, at, workstation)
        VALUES (left(coalesce(p_username, ''), 64), coalesce(p_now, now()), left(coalesce(p_workstation, ''), 100));
    END IF;
    RETURN ok;
END
$fn$
"""

SET_OWN = r"""
CREATE FUNCTION rtic_set_own_password(p_username text, p_old_digest text, p_new_hash text, p_now timestamptz,
                                      p_workstation text)
RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $fn$
DECLARE
    found_id integer;
BEGIN
    IF p_new_hash IS NULL OR length(p_new_hash) > 200 OR p_new_hash !~
       '^\$argon2id\$v=[0-9]+\$m=[0-9]+,t=[0-9]+,p=[0-9]+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$' THEN
        RAISE EXCEPTION 'not an argon2id password hash';
    END IF;
    SELECT u.id INTO found_id FROM users u WHERE u.username = p_username AND u.source = 'local' FOR UPDATE;
    IF NOT rtic_password_matches(p_username, p_old_digest, p_now, p_workstation) THEN
        RETURN false;  -- recorded as a failed login by rtic_password_matches
    END IF;
    IF found_id IS NULL THEN
        RETURN false;  -- a directory account's password is the directory's
    END IF;
    UPDATE sign_ins SET password_hash = p_new_hash WHERE user_id = found_id;
    IF NOT FOUND THEN
        INSERT INTO sign_ins (user_id, password_hash) VALUES (found_id, p_new_hash);
    END IF;
    UPDATE users SET must_change_password = false WHERE id = found_id;
    RETURN true;
END
$fn$
"""


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        for signature in reversed(SIGNATURES):
            op.execute(f"DROP FUNCTION IF EXISTS {signature}")
