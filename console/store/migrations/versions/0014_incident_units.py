"""The units CAD names on an incident (EIDO emergencyResourceComponent), as a JSON list of unit ids.

A bulletin can go to them: a saved recipient group named exactly like a unit id holds that unit's addresses.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 15:50:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('incidents') as batch:
        batch.add_column(sa.Column('cad_units', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('incidents') as batch:
        batch.drop_column('cad_units')
