"""Owner alert incidents: a panic-button or app alert opens an incident of type "owner alert" (share_grants.incident_id),
and a dispatcher's acknowledgement of the alert is kept with it (so a restarted console does not ring again).

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-02 14:10:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('share_grants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('incident_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('acknowledged_by', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_share_grants_incident_id'), ['incident_id'], unique=False)
        batch_op.create_foreign_key('fk_share_grants_incident_id', 'incidents', ['incident_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('share_grants', schema=None) as batch_op:
        batch_op.drop_constraint('fk_share_grants_incident_id', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_share_grants_incident_id'))
        batch_op.drop_column('acknowledged_by')
        batch_op.drop_column('acknowledged_at')
        batch_op.drop_column('incident_id')
