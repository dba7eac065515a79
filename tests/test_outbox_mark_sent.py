"""quiz.delivery.outbox.mark_sent_many records a group of sent messages in one
statement (arrays on PostgreSQL, executemany elsewhere): each row gets its
own send time and Message-ID, and only rows the worker still holds change."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

from sqlalchemy import select

from quiz.db import utcnow
from quiz.delivery.outbox import claim, enqueue, mark_sent_many
from quiz.models import Delivery
from tests.factories import make_campaign, make_participant


def test_each_row_gets_its_own_time_and_message_id_and_only_the_workers_rows_change(session):
    now = utcnow()
    campaign = make_campaign(session, now)
    for i in range(5):
        p = make_participant(session, campaign, now, f"p{i}@example.org")
        enqueue(session, participant_id=p.id, kind="confirm", due_at=now, now=now)
    session.commit()
    mine = claim(session, "a", now, 3, timedelta(minutes=5))
    theirs = claim(session, "b", now, 2, timedelta(minutes=5))
    assert len(mine) == 3 and len(theirs) == 2

    # An empty group, while the worker holds rows: nothing is recorded.
    before = _states(session)
    mark_sent_many(session, "a", [])
    session.commit()
    assert _states(session) == before
    assert {d.status for d in before.values()} == {"sending"}

    rows = [(d, now + timedelta(seconds=i), f"<m{i}@x>") for i, d in enumerate(mine)]
    # one of the other worker's rows in the group: it is theirs, so it stays as it is
    mark_sent_many(session, "a", [*rows[:2], (theirs[0], now, "<stolen@x>"), rows[2]])
    session.commit()
    session.expire_all()

    got = {d.id: d for d in session.scalars(select(Delivery))}
    for delivery_id, sent_at, message_id in rows:
        d = got[delivery_id]
        assert (d.status, d.sent_at, d.message_id, d.attempts) == ("sent", sent_at, message_id, 1)
        assert d.claimed_by is None and d.claimed_until is None and d.last_error is None
    for delivery_id in theirs:
        d = got[delivery_id]
        assert (d.status, d.claimed_by, d.message_id, d.attempts) == ("sending", "b", None, 0)


def _states(session):
    """Every delivery's sending state, read fresh from the database."""
    session.expire_all()
    return {
        d.id: SimpleNamespace(
            status=d.status,
            claimed_by=d.claimed_by,
            claimed_until=d.claimed_until,
            sent_at=d.sent_at,
            message_id=d.message_id,
            attempts=d.attempts,
        )
        for d in session.scalars(select(Delivery))
    }
