"""organiser lockout to rate limits

The lockout after five wrong passwords counted per account, in these two
columns, so five wrong passwords from anywhere locked the real organiser
out, and a locked account answered differently from an unknown one. Wrong
passwords now count per account and client address in the rate limiter
(quiz/ratelimits.py), the same for known and unknown accounts; the
columns go. Downgrade brings them back empty (nobody locked).

Revision ID: 9c3d1f0b7a22
Revises: 5e55101a7e01
Create Date: 2026-12-05 12:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '9c3d1f0b7a22'
down_revision = '5e55101a7e01'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('organiser', schema=None) as batch_op:
        batch_op.drop_column('locked_until')
        batch_op.drop_column('failed_logins')


def downgrade() -> None:
    with op.batch_alter_table('organiser', schema=None) as batch_op:
        batch_op.add_column(sa.Column('failed_logins', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True))
