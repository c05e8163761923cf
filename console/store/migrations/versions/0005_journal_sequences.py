"""The offline journal's last sequence received from each workstation (journal_sequences).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 06:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('journal_sequences',
    sa.Column('workstation', sa.String(length=100), nullable=False),
    sa.Column('last_seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('last_hash', sa.String(length=64), nullable=False),
    sa.Column('reported', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('workstation')
    )


def downgrade() -> None:
    op.drop_table('journal_sequences')
