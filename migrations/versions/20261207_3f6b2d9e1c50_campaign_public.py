"""the public campaign is chosen

Issue 19, item 2. The front page `/` served the newest campaign whose signup
was open, so creating a second campaign silently moved it. Now an organiser
chooses: campaign.public, with a partial unique index so that at most one
campaign is public. The upgrade marks the campaign `/` served at that
moment (the newest with open signup, else the newest), so the front page of
an installation does not change when it is upgraded.

Revision ID: 3f6b2d9e1c50
Revises: a7e3c1d2b845
Create Date: 2026-12-07 09:00:00
"""

from datetime import UTC, datetime

from alembic import op
import sqlalchemy as sa


revision = '3f6b2d9e1c50'
down_revision = 'a7e3c1d2b845'
branch_labels = None
depends_on = None


def _campaign_served_at(now: datetime) -> int | None:
    """Which campaign the old rule (quiz.signup.participants, before issue 19) served."""
    campaign = sa.table(
        'campaign',
        sa.column('id', sa.Integer()),
        sa.column('signup_opens_at', sa.DateTime(timezone=True)),
        sa.column('signup_closes_at', sa.DateTime(timezone=True)),
        sa.column('created_at', sa.DateTime(timezone=True)),
    )
    rows = op.get_bind().execute(
        sa.select(campaign.c.id, campaign.c.signup_opens_at, campaign.c.signup_closes_at)
        .order_by(campaign.c.created_at.desc(), campaign.c.id.desc())
    ).all()
    for campaign_id, opens, closes in rows:
        opens, closes = _utc(opens), _utc(closes)
        if (opens is None or opens <= now) and (closes is None or now < closes):
            return campaign_id
    return rows[0][0] if rows else None


def _utc(moment: datetime | None) -> datetime | None:
    # SQLite hands back the stored UTC values without a timezone.
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def upgrade() -> None:
    # Plain ADD COLUMN (SQLite allows it with a constant default); no table rebuild needed.
    op.add_column('campaign', sa.Column('public', sa.Boolean(), server_default='0', nullable=False))
    op.create_index(
        'uq_campaign_public',
        'campaign',
        ['public'],
        unique=True,
        sqlite_where=sa.text('public'),
        postgresql_where=sa.text('public'),
    )
    served = _campaign_served_at(datetime.now(UTC))
    if served is not None:
        op.execute(sa.text('UPDATE campaign SET public = :yes WHERE id = :id').bindparams(
            sa.bindparam('yes', True, sa.Boolean()), id=served
        ))


def downgrade() -> None:
    op.drop_index('uq_campaign_public', table_name='campaign')
    with op.batch_alter_table('campaign', schema=None) as batch_op:
        batch_op.drop_column('public')
