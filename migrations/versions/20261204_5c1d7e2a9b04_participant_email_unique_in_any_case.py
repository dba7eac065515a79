"""participant email unique in any case

`Case.Test@`, `case.test@` and `CASE.TEST@example.org` were three
participants of one campaign, and each got the quiz. A unique index on
(campaign_id, lower(email)) makes the database refuse a second spelling;
the participant keeps the spelling given first (quiz.signup.participants).

Rows that are one address already (per campaign, equal but for case) are
made one participant before the index is built:
- the row kept is the one that got furthest: active or completed, then
  pending, then bounced, then unsubscribed; the earliest signup among equals.
  It keeps its own spelling: the one that was confirmed.
- if any of the rows unsubscribed, the kept row is unsubscribed too (from
  that moment), its queued mail cancelled: nobody who said stop is mailed.
- the others are erased as quiz.rights.gdpr.erase_where erases: personal fields
  empty, status 'erased', queued mail cancelled, delivery errors (which may
  quote the address) and link-hit fingerprints cleared. Their answers stay,
  counted anonymously.

The unique constraint on (campaign_id, email) stays: the new index implies
it, but dropping a constraint on SQLite means copying the table, and with
foreign keys on (as the app runs) dropping the old copy would delete every
delivery and answer through ON DELETE CASCADE.

Revision ID: 5c1d7e2a9b04
Revises: 62b202ea43ef
Create Date: 2026-12-04 16:00:00
"""

import logging
from collections import defaultdict
from datetime import UTC, datetime

from alembic import op
import sqlalchemy as sa


revision = '5c1d7e2a9b04'
down_revision = '62b202ea43ef'
branch_labels = None
depends_on = None

INDEX = 'uq_participant_campaign_id_lower_email'
# Which row of a group stays: the lowest rank, then the earliest signup.
RANK = {'active': 0, 'completed': 0, 'pending': 1, 'bounced': 2, 'unsubscribed': 3}
PERSONAL_FIELDS = ('email', 'name', 'organisation', 'sector', 'role', 'consent_at', 'consent_version')
MERGED = 'participant merged into the same address in another case'
UNSUBSCRIBED = 'participant unsubscribed'

participant = sa.table(
    'participant',
    *(sa.column(name) for name in ('id', 'campaign_id', 'status', 'created_at')),
    sa.column('status_changed_at', sa.DateTime(timezone=True)),
    *(sa.column(name) for name in PERSONAL_FIELDS),
)
delivery = sa.table(
    'delivery',
    *(sa.column(name) for name in ('participant_id', 'status', 'last_error', 'claimed_by', 'claimed_until')),
)
link_hit = sa.table('link_hit', sa.column('participant_id'), sa.column('client_hash'), sa.column('user_agent'))

log = logging.getLogger('alembic.runtime.migration')


def _chunks(ids: list[int], size: int = 500):
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


def _cancel_queued(conn, ids: list[int], reason: str) -> None:
    for chunk in _chunks(ids):
        conn.execute(
            delivery.update()
            .where(delivery.c.participant_id.in_(chunk), delivery.c.status.in_(('pending', 'deferred')))
            .values(status='cancelled', last_error=reason, claimed_by=None, claimed_until=None)
        )


def _erase(conn, ids: list[int], now: datetime) -> None:
    _cancel_queued(conn, ids, MERGED)
    for chunk in _chunks(ids):
        conn.execute(
            delivery.update()
            .where(delivery.c.participant_id.in_(chunk), delivery.c.last_error.is_not(None))
            .values(last_error=MERGED)
        )
        conn.execute(
            link_hit.update().where(link_hit.c.participant_id.in_(chunk)).values(client_hash=None, user_agent=None)
        )
        conn.execute(
            participant.update()
            .where(participant.c.id.in_(chunk))
            .values(status='erased', status_changed_at=now, **dict.fromkeys(PERSONAL_FIELDS))
        )


def merge_case_duplicates(conn, now: datetime) -> int:
    """Make each group of rows with one address (in any case) one participant;
    returns how many rows were erased."""
    # lower() of the database itself, the function the index will use.
    found = conn.execute(
        sa.select(
            participant.c.id,
            participant.c.campaign_id,
            sa.func.lower(participant.c.email),
            participant.c.status,
            participant.c.status_changed_at,
        )
        .where(participant.c.email.is_not(None))
        .order_by(participant.c.created_at, participant.c.id)
    ).all()
    groups = defaultdict(list)
    for row in found:
        groups[(row.campaign_id, row[2])].append(row)
    erased, unsubscribed = [], []
    for rows in groups.values():
        if len(rows) < 2:
            continue
        # sorted() is stable: among equal ranks the earliest signup comes first.
        keep, *others = sorted(rows, key=lambda row: RANK.get(row.status, len(RANK)))
        erased += [row.id for row in others]
        if keep.status != 'unsubscribed' and any(row.status == 'unsubscribed' for row in rows):
            stops = [row.status_changed_at for row in rows if row.status == 'unsubscribed']
            unsubscribed.append((keep.id, min((s for s in stops if s is not None), default=now)))
    for participant_id, moment in unsubscribed:
        conn.execute(
            participant.update()
            .where(participant.c.id == participant_id)
            .values(status='unsubscribed', status_changed_at=moment)
        )
        _cancel_queued(conn, [participant_id], UNSUBSCRIBED)
    _erase(conn, erased, now)
    return len(erased)


def upgrade() -> None:
    conn = op.get_bind()
    now = datetime.now(UTC)
    if conn.dialect.name == 'sqlite':  # stored as naive UTC there (quiz.db.UTCDateTime)
        now = now.replace(tzinfo=None)
    merged = merge_case_duplicates(conn, now)
    if merged:
        log.info('participant: %d rows with an address already there in another case erased', merged)
    op.create_index(INDEX, 'participant', ['campaign_id', sa.text('lower(email)')], unique=True)


def downgrade() -> None:
    # The merged rows stay merged: the erased ones cannot be given back.
    op.drop_index(INDEX, table_name='participant')
