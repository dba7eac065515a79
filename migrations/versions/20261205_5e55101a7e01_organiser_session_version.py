"""organiser session version

Logout and a password change end an organiser's sessions on the server side:
the number is copied into the session cookie at login and compared on every
admin request; logout and a password change raise it. Existing rows start
at 0 (the server default); cookies from before carry no number, so the
sessions open at deploy time end once.

Revision ID: 5e55101a7e01
Revises: 5c1d7e2a9b04
Create Date: 2026-12-05 10:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '5e55101a7e01'
down_revision = '5c1d7e2a9b04'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('organiser', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_version', sa.Integer(), server_default='0', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('organiser', schema=None) as batch_op:
        batch_op.drop_column('session_version')
