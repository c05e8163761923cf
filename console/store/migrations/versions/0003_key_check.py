"""One contact key per agency: the key check value, and the progress of a key rotation.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 05:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('key_check',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key_id', sa.String(length=16), nullable=False),
    sa.Column('check_value', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('workstation', sa.String(length=100), nullable=False),
    sa.Column('next_key_id', sa.String(length=16), nullable=True),
    sa.Column('next_check_value', sa.String(length=64), nullable=True),
    sa.Column('rotation_started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('rotation_started_by', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('key_rotation',
    sa.Column('table_name', sa.String(length=32), nullable=False),
    sa.Column('last_id', sa.Integer(), nullable=False),
    sa.Column('rows_done', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('table_name')
    )


def downgrade() -> None:
    op.drop_table('key_rotation')
    op.drop_table('key_check')
