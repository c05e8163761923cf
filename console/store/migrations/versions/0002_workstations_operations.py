"""Many workstations and registry operations: change feed, registry history, outreach calls, footage requests,
evidence files, feed cursors; CAD status on incidents; portal alert ids on grants.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 09:10:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

_SEQ = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('changes',
    sa.Column('seq', _SEQ, autoincrement=True, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=True),
    sa.Column('workstation', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('seq')
    )
    op.create_table('registry_history',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('entity', sa.String(length=16), nullable=False),
    sa.Column('entity_id', sa.Integer(), nullable=False),
    sa.Column('field', sa.String(length=48), nullable=False),
    sa.Column('old_value', sa.Text(), nullable=True),
    sa.Column('new_value', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_registry_history_entity', 'registry_history', ['entity', 'entity_id'], unique=False)
    op.create_table('outreach_calls',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('business', sa.String(length=200), nullable=False),
    sa.Column('address', sa.String(length=300), nullable=False),
    sa.Column('phone_ciphertext', sa.LargeBinary(), nullable=True),
    sa.Column('phone_digest', sa.String(length=64), nullable=True),
    sa.Column('called_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('staff', sa.String(length=64), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('call_back_on', sa.DateTime(timezone=True), nullable=True),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['owner_id'], ['owners.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_outreach_calls_phone_digest'), 'outreach_calls', ['phone_digest'], unique=False)
    op.create_index(op.f('ix_outreach_calls_call_back_on'), 'outreach_calls', ['call_back_on'], unique=False)
    op.create_table('footage_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('window_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('window_end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], ),
    sa.ForeignKeyConstraint(['owner_id'], ['owners.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_footage_requests_incident_id'), 'footage_requests', ['incident_id'], unique=False)
    op.create_index(op.f('ix_footage_requests_owner_id'), 'footage_requests', ['owner_id'], unique=False)
    op.create_table('footage_request_cameras',
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('camera_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['camera_id'], ['cameras.id'], ),
    sa.ForeignKeyConstraint(['request_id'], ['footage_requests.id'], ),
    sa.PrimaryKeyConstraint('request_id', 'camera_id')
    )
    op.create_table('footage_contacts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['footage_requests.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_footage_contacts_request_id'), 'footage_contacts', ['request_id'], unique=False)
    op.create_table('evidence_files',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('camera_id', sa.Integer(), nullable=True),
    sa.Column('file_name', sa.String(length=300), nullable=False),
    sa.Column('stored_path', sa.String(length=1000), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size_bytes', sa.BigInteger(), nullable=False),
    sa.Column('received_by', sa.String(length=64), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['camera_id'], ['cameras.id'], ),
    sa.ForeignKeyConstraint(['request_id'], ['footage_requests.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_evidence_files_request_id'), 'evidence_files', ['request_id'], unique=False)
    op.create_table('feed_cursors',
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('cursor', sa.String(length=300), nullable=True),
    sa.Column('etag', sa.String(length=300), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_index('ix_sites_lat_lon', 'sites', ['lat', 'lon'], unique=False)
    with op.batch_alter_table('share_grants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('external_id', sa.String(length=100), nullable=True))
        batch_op.create_unique_constraint('uq_share_grants_external_id', ['external_id'])
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cad_status', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.drop_column('updated_at')
        batch_op.drop_column('cad_status')
    with op.batch_alter_table('share_grants', schema=None) as batch_op:
        batch_op.drop_constraint('uq_share_grants_external_id', type_='unique')
        batch_op.drop_column('external_id')
    op.drop_index('ix_sites_lat_lon', table_name='sites')
    for table in ('feed_cursors', 'evidence_files', 'footage_contacts', 'footage_request_cameras',
                  'footage_requests', 'outreach_calls', 'registry_history', 'changes'):
        op.drop_table(table)
