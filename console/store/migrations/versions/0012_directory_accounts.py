"""Accounts from the agency's directory: where each account comes from (local or directory), its directory DN, and
the local break-glass administrator's mark.

On PostgreSQL the consoles' role may not write `users` (`db grant`), yet a directory sign-in creates or updates the
console's row of a directory account. It does so through one function that runs as the tables' owner and can only
write directory rows (source 'directory', no usable local password, never break-glass, never a local account's row):
rtic_save_directory_user; `db grant` gives the consoles' role EXECUTE on it, and nothing more on `users`.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 14:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('source', sa.String(length=16), nullable=False, server_default='local'))
        batch.add_column(sa.Column('directory_dn', sa.String(length=500), nullable=True))
        batch.add_column(sa.Column('break_glass', sa.Boolean(), nullable=False, server_default=sa.false()))
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(SAVE_DIRECTORY_USER)
        op.execute("REVOKE ALL ON FUNCTION rtic_save_directory_user(text, text, text, text, timestamptz) FROM PUBLIC")


SAVE_DIRECTORY_USER = """
CREATE FUNCTION rtic_save_directory_user(p_username text, p_display text, p_role text, p_dn text, p_now timestamptz)
RETURNS TABLE (out_id integer, out_role text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $fn$
DECLARE
    found_row record;
BEGIN
    IF p_role NOT IN ('dispatcher', 'detective', 'supervisor', 'auditor', 'admin', 'outreach') THEN
        RAISE EXCEPTION 'not a console role: %', p_role;
    END IF;
    IF p_username IS NULL OR length(p_username) = 0 OR length(p_username) > 64 THEN
        RAISE EXCEPTION 'not a user name';
    END IF;
    SELECT u.id, u.role, u.source INTO found_row FROM users u WHERE u.username = p_username FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO users (username, display_name, role, password_hash, must_change_password, created_at, source,
                           directory_dn, break_glass)
        VALUES (p_username, left(p_display, 200), p_role, '!directory', false, p_now, 'directory', left(p_dn, 500),
                false)
        RETURNING id INTO out_id;
        INSERT INTO sign_ins (user_id) VALUES (out_id);
        out_role := NULL;
        RETURN NEXT;
        RETURN;
    END IF;
    IF found_row.source <> 'directory' THEN
        RAISE EXCEPTION 'the account % is a local account, not a directory account', p_username;
    END IF;
    UPDATE users SET role = p_role, display_name = left(p_display, 200), directory_dn = left(p_dn, 500)
    WHERE id = found_row.id;
    out_id := found_row.id;
    out_role := found_row.role;
    RETURN NEXT;
END
$fn$
"""


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP FUNCTION IF EXISTS rtic_save_directory_user(text, text, text, text, timestamptz)")
    with op.batch_alter_table('users') as batch:
        batch.drop_column('break_glass')
        batch.drop_column('directory_dn')
        batch.drop_column('source')
