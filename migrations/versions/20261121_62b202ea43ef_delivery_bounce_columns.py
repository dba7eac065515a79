"""delivery bounce columns

Bounces that arrive after the relay accepted a message (delivery status
notifications read by `quiz bounces fetch`): hard or soft, the RFC 3463
status code, and when. Three nullable columns, so existing rows need nothing.

Revision ID: 62b202ea43ef
Revises: 839a84ae904c
Create Date: 2026-11-21 18:47:28.329918
"""

from alembic import op
import sqlalchemy as sa


revision = '62b202ea43ef'
down_revision = '839a84ae904c'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.add_column(sa.Column('bounce_type', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('bounce_status', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('bounced_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.drop_column('bounced_at')
        batch_op.drop_column('bounce_status')
        batch_op.drop_column('bounce_type')
