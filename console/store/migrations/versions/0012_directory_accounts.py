"""Accounts from the agency's directory: where each account comes from (local or directory), its directory DN, and
the local break-glass administrator's mark.

Revision ID: 0012
Revises: 0006
Create Date: 2026-12-02 14:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('source', sa.String(length=16), nullable=False, server_default='local'))
        batch.add_column(sa.Column('directory_dn', sa.String(length=500), nullable=True))
        batch.add_column(sa.Column('break_glass', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('users') as batch:
        batch.drop_column('break_glass')
        batch.drop_column('directory_dn')
        batch.drop_column('source')
