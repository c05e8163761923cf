"""Incident bulletins: the bulletins sent (text, snapshot, clip, hash), their e-mail outbox, saved recipient groups.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 14:10:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('bulletins',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('sent_by', sa.String(length=64), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('workstation', sa.String(length=100), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('camera_id', sa.Integer(), nullable=True),
    sa.Column('content_sha256', sa.String(length=64), nullable=False),
    sa.Column('image', sa.LargeBinary(), nullable=True),
    sa.Column('image_type', sa.String(length=32), nullable=True),
    sa.Column('clip', sa.LargeBinary(), nullable=True),
    sa.Column('clip_type', sa.String(length=32), nullable=True),
    sa.Column('clip_sha256', sa.String(length=64), nullable=True),
    sa.Column('clip_size', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['camera_id'], ['cameras.id'], ),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_bulletins_incident_id'), 'bulletins', ['incident_id'], unique=False)
    op.create_table('bulletin_recipients',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('bulletin_id', sa.Integer(), nullable=False),
    sa.Column('address', sa.String(length=254), nullable=False),
    sa.Column('group_name', sa.String(length=60), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('claimed_by', sa.String(length=100), nullable=True),
    sa.Column('message_id', sa.String(length=200), nullable=False),
    sa.Column('last_error', sa.String(length=500), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['bulletin_id'], ['bulletins.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('message_id')
    )
    op.create_index(op.f('ix_bulletin_recipients_bulletin_id'), 'bulletin_recipients', ['bulletin_id'], unique=False)
    op.create_index(op.f('ix_bulletin_recipients_state'), 'bulletin_recipients', ['state'], unique=False)
    op.create_table('recipient_groups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('members', sa.Text(), nullable=False),
    sa.Column('updated_by', sa.String(length=64), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )


def downgrade() -> None:
    op.drop_table('recipient_groups')
    op.drop_index(op.f('ix_bulletin_recipients_state'), table_name='bulletin_recipients')
    op.drop_index(op.f('ix_bulletin_recipients_bulletin_id'), table_name='bulletin_recipients')
    op.drop_table('bulletin_recipients')
    op.drop_index(op.f('ix_bulletins_incident_id'), table_name='bulletins')
    op.drop_table('bulletins')
