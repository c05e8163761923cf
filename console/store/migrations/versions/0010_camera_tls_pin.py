"""A camera's pinned TLS certificate fingerprint (cameras.tls_pin_sha256): a self-signed RTSPS/HTTPS camera or
gateway is played only when its certificate's SHA-256 is this one.

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-02 14:20:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('cameras', sa.Column('tls_pin_sha256', sa.String(length=64), nullable=True))


def downgrade() -> None:
    op.drop_column('cameras', 'tls_pin_sha256')
