"""What signing in writes, in a table of its own (sign_ins) that the consoles' database role may write, so that
role needs no UPDATE on users.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 06:10:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sign_ins',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('locked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('disabled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('totp_last_step', sa.BigInteger(), nullable=True),
    sa.Column('password_hash', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('user_id')
    )
    # Every account gets its row now (new ones get it when they are added), carrying what sign-in wrote so far.
    op.execute("INSERT INTO sign_ins (user_id, last_login_at, totp_last_step) "
               "SELECT id, last_login_at, totp_last_step FROM users")


def downgrade() -> None:
    op.drop_table('sign_ins')
