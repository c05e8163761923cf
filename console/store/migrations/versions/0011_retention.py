"""Retention: legal holds, the auditor's signed cuts of the audit trail, and the purge runs' progress.

The audit trail stays append-only, with one narrow door: a row may be deleted only when its sequence number is at or
below a cut stored in audit_cuts (itself append-only). Only the tables' owner or the purge role has DELETE on the
trail (`rtic-console db grant`), never the consoles' role; `audit verify` checks each cut's signature.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 14:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

_SEQ = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
_CUTS_MESSAGE = "audit cuts are append-only: they cannot be changed or removed"
_EVENTS_MESSAGE = "audit events are append-only: they cannot be changed or removed"


def upgrade() -> None:
    op.create_table('legal_holds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('target_kind', sa.String(length=16), nullable=False),
    sa.Column('target_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('held_by', sa.String(length=64), nullable=False),
    sa.Column('held_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('released_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('released_by', sa.String(length=64), nullable=True),
    sa.Column('release_reason', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_legal_holds_target', 'legal_holds', ['target_kind', 'target_id'], unique=False)
    op.create_table('audit_cuts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seq', _SEQ, nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.Column('signed_at', sa.String(length=32), nullable=False),
    sa.Column('key_fingerprint', sa.String(length=64), nullable=False),
    sa.Column('signature', sa.String(length=128), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('retention_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('now', sa.DateTime(timezone=True), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('workstation', sa.String(length=100), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('counts', sa.Text(), nullable=False),
    sa.Column('problems', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER audit_cuts_no_{verb.lower()} BEFORE {verb} ON audit_cuts "
                       f"BEGIN SELECT RAISE(ABORT, '{_CUTS_MESSAGE}'); END")
        op.execute("DROP TRIGGER audit_events_no_delete")
        op.execute("CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events BEGIN "
                   f"SELECT RAISE(ABORT, '{_EVENTS_MESSAGE}') "
                   "WHERE OLD.seq > COALESCE((SELECT MAX(seq) FROM audit_cuts), 0); END")
        return
    op.execute(
        "CREATE FUNCTION audit_cuts_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN RAISE EXCEPTION '{_CUTS_MESSAGE} (% refused)', TG_OP "
        "USING ERRCODE = 'insufficient_privilege'; END $$")
    op.execute("CREATE TRIGGER audit_cuts_no_update_delete BEFORE UPDATE OR DELETE ON audit_cuts "
               "FOR EACH ROW EXECUTE FUNCTION audit_cuts_refuse_change()")
    op.execute("CREATE TRIGGER audit_cuts_no_truncate BEFORE TRUNCATE ON audit_cuts "
               "FOR EACH STATEMENT EXECUTE FUNCTION audit_cuts_refuse_change()")
    # The trail's guard (0001) now lets a DELETE through only at or below a stored cut; UPDATE and TRUNCATE never.
    op.execute(
        "CREATE OR REPLACE FUNCTION audit_events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN IF TG_OP = 'DELETE' THEN "
        "IF OLD.seq <= COALESCE((SELECT max(seq) FROM audit_cuts), 0) THEN RETURN OLD; END IF; END IF; "
        f"RAISE EXCEPTION '{_EVENTS_MESSAGE} (% refused)', TG_OP "
        "USING ERRCODE = 'insufficient_privilege'; END $$")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_delete")
        op.execute("CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events "
                   f"BEGIN SELECT RAISE(ABORT, '{_EVENTS_MESSAGE}'); END")
        for verb in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS audit_cuts_no_{verb}")
    else:
        op.execute(
            "CREATE OR REPLACE FUNCTION audit_events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN RAISE EXCEPTION '{_EVENTS_MESSAGE} (% refused)', TG_OP "
            "USING ERRCODE = 'insufficient_privilege'; END $$")
        op.execute("DROP TRIGGER IF EXISTS audit_cuts_no_update_delete ON audit_cuts")
        op.execute("DROP TRIGGER IF EXISTS audit_cuts_no_truncate ON audit_cuts")
        op.execute("DROP FUNCTION IF EXISTS audit_cuts_refuse_change()")
    op.drop_table('retention_runs')
    op.drop_table('audit_cuts')
    op.drop_index('ix_legal_holds_target', table_name='legal_holds')
    op.drop_table('legal_holds')
