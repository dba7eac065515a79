"""What the relay's replies do to the outbox, against the real aiosmtpd server:
4xx and connection errors defer and retry, 5xx for a recipient bounces, 5xx
for a message fails it alone, nothing is lost or sent twice."""

from __future__ import annotations

import random
import time
from collections import Counter
from datetime import timedelta
from email.utils import parseaddr

import pytest
from sqlalchemy import select

from quiz.db import utcnow
from quiz.delivery.outbox import backoff, enqueue
from quiz.delivery.sender import send_due
from quiz.models import Delivery, Participant
from tests.conftest import free_port
from tests.factories import make_campaign, make_participant


@pytest.fixture
def make_app(app_config):
    """Another app on the same database with changed settings; disposed afterwards."""
    from quiz import create_app
    from quiz.db import database

    apps = []

    def make(**overrides):  # noqa: ANN003, ANN202
        apps.append(create_app({**app_config, **overrides}))
        return apps[-1]

    yield make
    for a in apps:
        database(a).dispose()


@pytest.fixture
def campaign(session):
    return make_campaign(session, utcnow())


def confirmations(session, campaign, count: int) -> list[Participant]:
    """`count` pending participants, each with a confirmation email queued."""
    now = utcnow()
    people = []
    for i in range(count):
        p = make_participant(
            session, campaign, now, f"p{i}@example.org", name=f"Deelnemer {i}", status="pending"
        )
        enqueue(session, participant_id=p.id, kind="confirm", due_at=now, now=now)
        people.append(p)
    session.commit()
    return people


def statuses(session) -> Counter:
    session.expire_all()
    return Counter(session.scalars(select(Delivery.status)).all())


def run(app, at):  # noqa: ANN001, ANN201
    return send_due(app, lambda: at, "test")


def message_ids(smtp) -> Counter:
    return Counter(m["Message-ID"] for m in smtp.messages)


def test_backoff_doubles_with_jitter_and_a_cap():
    rng = random.Random(1)
    first = [backoff(1, rng) for _ in range(50)]
    assert all(timedelta(seconds=48) <= d <= timedelta(seconds=72) for d in first)
    assert timedelta(minutes=3.2) <= backoff(3, rng) <= timedelta(minutes=4.8)
    assert backoff(40, rng) <= timedelta(hours=2.4)
    assert len(set(first)) > 40  # jittered, not in lockstep


def test_all_sent_with_stable_message_ids(app, session, smtp, campaign):
    confirmations(session, campaign, 5)
    report = run(app, utcnow())
    assert report.sent == 5 and statuses(session) == {"sent": 5}
    stored = set(session.scalars(select(Delivery.message_id)).all())
    assert set(message_ids(smtp)) == stored and len(stored) == 5


def test_smtp_down_then_back_loses_nothing(app, make_app, session, smtp, campaign):
    down = make_app(QUIZ_SMTP_URL=f"smtp://127.0.0.1:{free_port()}?timeout=2")
    confirmations(session, campaign, 6)
    now = utcnow()
    report = send_due(down, lambda: now, "test")
    # one message tried and deferred, the rest handed back untouched
    assert (report.deferred, report.sent, report.released) == (1, 0, 5)
    assert statuses(session) == {"deferred": 1, "pending": 5}
    [deferred] = session.scalars(select(Delivery).where(Delivery.status == "deferred")).all()
    assert "connection" in deferred.last_error and deferred.next_attempt_at > now

    # the relay is back: the pending ones go now, the deferred one after its backoff
    up = app
    assert send_due(up, lambda: now + timedelta(seconds=5), "test").sent == 5
    assert send_due(up, lambda: now + timedelta(minutes=2), "test").sent == 1
    assert statuses(session) == {"sent": 6}
    assert len(message_ids(smtp)) == 6 and max(message_ids(smtp).values()) == 1


def test_451_for_some_recipients_delivers_all_later_none_twice(app, session, smtp, campaign):
    confirmations(session, campaign, 10)
    for i in (1, 4, 7):
        smtp.refuse[f"p{i}@example.org"] = "451 4.7.1 Greylisted, try again later"
    now = utcnow()
    report = run(app, now)
    assert (report.sent, report.deferred) == (7, 3)
    smtp.refuse.clear()
    run(app, now + timedelta(seconds=30))  # too early: nothing is retried
    assert statuses(session) == {"sent": 7, "deferred": 3}
    run(app, now + timedelta(minutes=2))
    assert statuses(session) == {"sent": 10}
    counts = message_ids(smtp)
    assert len(counts) == 10 and set(counts.values()) == {1}
    attempts = session.scalars(select(Delivery.attempts).order_by(Delivery.id)).all()
    assert attempts == [1, 2, 1, 1, 2, 1, 1, 2, 1, 1]


def test_550_bounces_one_recipient_and_cancels_their_later_mail(app, session, smtp, campaign):
    people = confirmations(session, campaign, 4)
    bounced = people[2]
    later = utcnow() + timedelta(days=1)
    enqueue(session, participant_id=bounced.id, kind="question", day=1, due_at=later, now=utcnow())
    session.commit()
    smtp.refuse["p2@example.org"] = "550 5.1.1 No such user"
    report = run(app, utcnow())
    assert (report.sent, report.failed) == (3, 1)
    session.expire_all()
    assert [p.status for p in session.scalars(select(Participant).order_by(Participant.id))] == [
        "pending",
        "pending",
        "bounced",
        "pending",
    ]
    rows = session.scalars(
        select(Delivery).where(Delivery.participant_id == bounced.id).order_by(Delivery.id)
    )
    confirm, question = rows.all()
    assert confirm.status == "failed" and confirm.last_error.startswith("550")
    assert question.status == "cancelled" and question.last_error == "recipient address bounced"
    assert len(smtp.messages) == 3 and not smtp.to("p2@example.org")
    smtp.refuse.clear()
    run(app, later + timedelta(minutes=5))  # no retry of a bounce
    assert len(smtp.messages) == 3


def test_5xx_for_the_message_fails_it_without_bouncing_the_person(app, session, smtp, campaign, monkeypatch):
    confirmations(session, campaign, 2)

    async def refuse_data(server, session_, envelope):  # noqa: ANN001, ANN202
        return "554 5.6.0 Message content rejected"

    monkeypatch.setattr(smtp, "handle_DATA", refuse_data)
    report = run(app, utcnow())
    assert report.failed == 2
    session.expire_all()
    assert set(session.scalars(select(Participant.status))) == {"pending"}
    assert {d.last_error[:3] for d in session.scalars(select(Delivery))} == {"554"}
    assert smtp.messages == []


def test_421_defers_that_message_and_the_rest_go_on_a_new_connection(app, session, smtp, campaign):
    """421: the relay closes the connection (RFC 5321 3.8)."""
    confirmations(session, campaign, 5)
    smtp.refuse["p1@example.org"] = "421 4.3.2 Service shutting down"
    now = utcnow()
    report = run(app, now)
    assert (report.sent, report.deferred) == (4, 1)
    session.expire_all()
    deferred = session.scalar(select(Delivery).where(Delivery.status == "deferred"))
    assert deferred.last_error.startswith("421") and deferred.next_attempt_at > now
    assert not smtp.to("p1@example.org")
    smtp.refuse.clear()
    run(app, now + timedelta(minutes=2))
    assert statuses(session) == {"sent": 5}
    assert len(message_ids(smtp)) == 5 and set(message_ids(smtp).values()) == {1}
    assert set(session.scalars(select(Participant.status))) == {"pending"}  # nobody bounced


def test_connection_dropped_mid_message_is_retried_and_arrives_once(app, session, smtp, campaign):
    confirmations(session, campaign, 4)
    smtp.drop.add("p2@example.org")  # the server hangs up at the end of this message's DATA
    now = utcnow()
    report = run(app, now)
    assert (report.sent, report.deferred) == (3, 1)
    session.expire_all()
    deferred = session.scalar(select(Delivery).where(Delivery.status == "deferred"))
    assert "connection lost" in deferred.last_error
    assert not smtp.to("p2@example.org")
    smtp.drop.clear()
    run(app, now + timedelta(minutes=2))
    assert statuses(session) == {"sent": 4}
    assert len(message_ids(smtp)) == 4 and set(message_ids(smtp).values()) == {1}


def test_a_refused_sender_stops_the_batch_and_loses_nothing(make_app, session, smtp, campaign):
    """MAIL FROM refused, even permanently, is the relay's or our settings' problem, not the
    participants': their mail waits, nobody bounces."""
    confirmations(session, campaign, 3)
    app = make_app()
    smtp.refuse[parseaddr(app.config["QUIZ_MAIL_FROM"])[1]] = "553 5.7.1 Sender not allowed"
    now = utcnow()
    report = run(app, now)
    assert report.sent == 0 and report.deferred == 1
    assert statuses(session) == {"deferred": 1, "pending": 2}
    assert set(session.scalars(select(Participant.status))) == {"pending"}
    smtp.refuse.clear()
    run(app, now + timedelta(minutes=2))
    assert statuses(session) == {"sent": 3} and len(message_ids(smtp)) == 3


def test_deferred_past_the_retry_horizon_fails_with_the_reason(app, session, smtp, campaign):
    [p] = confirmations(session, campaign, 1)
    delivery = session.scalar(select(Delivery))
    delivery.attempts = 11
    session.commit()
    smtp.refuse["p0@example.org"] = "452 4.2.2 Mailbox full"
    run(app, delivery.due_at + timedelta(hours=24))  # QUIZ_OUTBOX_RETRY_HOURS, default 24
    session.expire_all()
    delivery = session.scalar(select(Delivery))
    assert delivery.status == "failed"
    assert delivery.last_error.startswith("gave up after 12 attempts in 24 hours: 452")
    assert session.get(Participant, p.id).status == "pending"  # not bounced: it was temporary


def test_unsubscribed_participants_mail_is_cancelled_with_a_reason(app, session, smtp, campaign):
    [p] = confirmations(session, campaign, 1)
    p.status = "unsubscribed"
    session.commit()
    assert run(app, utcnow()).cancelled == 1
    assert session.scalar(select(Delivery.last_error)) == "participant is unsubscribed"
    assert smtp.messages == []


def test_rate_limit_spaces_messages(make_app, session, smtp, campaign):
    confirmations(session, campaign, 6)
    app = make_app(QUIZ_SMTP_RATE=20)
    started = time.monotonic()
    assert run(app, utcnow()).sent == 6
    assert time.monotonic() - started >= 5 / 20 - 0.01


def test_the_rate_is_shared_by_the_scheduler_processes(make_app, session, smtp, campaign):
    """QUIZ_SMTP_RATE is the relay's limit for all scheduler processes together."""
    confirmations(session, campaign, 4)
    app = make_app(QUIZ_SMTP_RATE=20, QUIZ_SCHEDULER_PROCESSES=2)  # 10 a second for this one
    started = time.monotonic()
    assert run(app, utcnow()).sent == 4
    assert time.monotonic() - started >= 3 / 10 - 0.01


def test_small_batches_send_each_message_once(make_app, session, smtp, campaign):
    confirmations(session, campaign, 30)
    app = make_app(QUIZ_OUTBOX_BATCH_SIZE=3)
    report = run(app, utcnow())
    assert report.sent == 30 and report.claimed == 30
    assert len(message_ids(smtp)) == 30 and set(message_ids(smtp).values()) == {1}
