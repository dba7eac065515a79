"""The outbox: enqueue idempotently, claim with a lease, send, record the outcome.

Every email is a Delivery row first. The unique key (participant, kind, day)
makes enqueueing idempotent; claiming marks rows `sending` with a lease so two
workers never take the same row (FOR UPDATE SKIP LOCKED on PostgreSQL, a
conditional UPDATE on SQLite whose writes are serialised anyway), and a
crashed worker's rows become claimable again when the lease runs out.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import Flask
from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, joinedload

from quiz.db import session_scope
from quiz.mailer import Envelope, SendError, Transport, build_message, mail_domain, render_email
from quiz.models import Delivery, Participant

log = logging.getLogger(__name__)

CLAIMABLE = ("pending", "deferred")
BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_CAP = timedelta(hours=2)
MAX_ATTEMPTS = 12  # with the cap, about a day of retrying before giving up


def enqueue(
    session: Session,
    *,
    participant_id: int,
    kind: str,
    due_at: datetime,
    now: datetime,
    day: int = 0,
    question_id: int | None = None,
) -> bool:
    """Add a delivery unless (participant, kind, day) exists; True if added.

    INSERT … ON CONFLICT DO NOTHING, so two processes enqueueing the same
    delivery at once both succeed and only one row exists.
    """
    insert = postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert
    stmt = (
        insert(Delivery)
        .values(
            participant_id=participant_id,
            kind=kind,
            day=day,
            question_id=question_id,
            due_at=due_at,
            status="pending",
            attempts=0,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["participant_id", "kind", "day"])
    )
    return session.execute(stmt).rowcount == 1


def rearm(session: Session, delivery: Delivery, now: datetime) -> None:
    """Send an already sent delivery once more (a resent confirmation)."""
    delivery.status = "pending"
    delivery.due_at = now
    delivery.attempts = 0
    delivery.next_attempt_at = None
    delivery.last_error = None
    delivery.claimed_by = None
    delivery.claimed_until = None


def backoff(attempts: int, rng: random.Random | None = None) -> timedelta:
    """Delay before retry number `attempts` (1-based): doubling from one minute,
    capped at two hours, with ±20 % jitter so deferred messages do not return
    to the relay in one burst."""
    base = min(BACKOFF_BASE * (2 ** max(attempts - 1, 0)), BACKOFF_CAP)
    factor = (rng or random).uniform(0.8, 1.2)
    return base * factor


def _due(now: datetime):  # noqa: ANN202 - SQL expression
    return and_(
        or_(
            and_(
                Delivery.status.in_(CLAIMABLE),
                Delivery.due_at <= now,
                or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now),
            ),
            # a worker died holding these rows
            and_(Delivery.status == "sending", Delivery.claimed_until < now),
        )
    )


def claim(session: Session, worker: str, now: datetime, limit: int, lease: timedelta) -> list[int]:
    """Claim up to `limit` due deliveries for `worker`; returns their ids, oldest first.

    Commits, so the claim is visible to other workers before any sending.
    """
    candidates = select(Delivery.id).where(_due(now)).order_by(Delivery.due_at, Delivery.id)
    candidates = candidates.limit(limit)
    if session.bind.dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    stmt = (
        update(Delivery)
        .where(Delivery.id.in_(candidates.scalar_subquery()), _due(now))
        .values(status="sending", claimed_by=worker, claimed_until=now + lease)
        .returning(Delivery.id, Delivery.due_at)
        .execution_options(synchronize_session=False)
    )
    rows = session.execute(stmt).all()
    session.commit()
    return [row.id for row in sorted(rows, key=lambda r: (r.due_at, r.id))]


def mark_sent(session: Session, delivery: Delivery, now: datetime) -> None:
    delivery.status = "sent"
    delivery.sent_at = now
    delivery.attempts += 1
    delivery.last_error = None
    delivery.claimed_by = delivery.claimed_until = None


def mark_deferred(
    session: Session, delivery: Delivery, now: datetime, error: str, rng: random.Random | None = None
) -> None:
    delivery.attempts += 1
    delivery.last_error = error[:2000]
    delivery.claimed_by = delivery.claimed_until = None
    if delivery.attempts >= MAX_ATTEMPTS:
        delivery.status = "failed"
        delivery.last_error = f"gave up after {delivery.attempts} attempts: {error}"[:2000]
        return
    delivery.status = "deferred"
    delivery.next_attempt_at = now + backoff(delivery.attempts, rng)


def mark_failed(session: Session, delivery: Delivery, now: datetime, error: str) -> None:
    """A permanent refusal: the delivery failed and the address bounced, so every
    later delivery to this participant is cancelled in the same transaction."""
    delivery.status = "failed"
    delivery.attempts += 1
    delivery.last_error = error[:2000]
    delivery.claimed_by = delivery.claimed_until = None
    participant = delivery.participant
    if participant.status in ("pending", "active"):
        participant.status = "bounced"
        participant.status_changed_at = now
    cancel_pending(session, participant.id, "recipient address bounced")


def cancel_pending(session: Session, participant_id: int, reason: str) -> int:
    """Cancel every delivery of a participant that has not gone out yet."""
    result = session.execute(
        update(Delivery)
        .where(
            Delivery.participant_id == participant_id,
            Delivery.status.in_(("pending", "deferred")),
        )
        .values(status="cancelled", last_error=reason)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


def message_id_for(delivery: Delivery, domain: str) -> str:
    """Stable across retries, so a resent copy is recognisable as the same message."""
    return f"<quiz.{delivery.id}.{delivery.kind}.{delivery.day}@{domain}>"


@dataclass
class DrainReport:
    claimed: int = 0
    sent: int = 0
    deferred: int = 0
    failed: int = 0
    cancelled: int = 0
    errors: list[str] = field(default_factory=list)


def drain(
    app: Flask,
    transport: Transport,
    clock: Callable[[], datetime],
    worker: str,
    stop: threading.Event | None = None,
    limit: int | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> DrainReport:
    """Claim due deliveries and send them, one outcome committed per message.

    Stops between messages when `stop` is set, so SIGTERM never cuts a
    message in half. Committing per message keeps the resend window after a
    crash to the one message in flight.
    """
    from quiz.emails import context_for  # emails imports web-facing url helpers

    cfg = app.config
    batch = cfg["QUIZ_OUTBOX_BATCH_SIZE"] if limit is None else min(limit, cfg["QUIZ_OUTBOX_BATCH_SIZE"])
    lease = timedelta(seconds=cfg["QUIZ_OUTBOX_LEASE_SECONDS"])
    mail_from = cfg["QUIZ_MAIL_FROM"]
    domain = mail_domain(mail_from)
    report = DrainReport()
    with app.app_context(), session_scope(app) as session, transport:
        while not (stop and stop.is_set()):
            ids = claim(session, worker, clock(), batch, lease)
            if not ids:
                break
            report.claimed += len(ids)
            deliveries = _load(session, ids)
            for delivery in deliveries:
                if stop and stop.is_set():
                    _release(session, [d.id for d in deliveries if d.status == "sending"])
                    return report
                _send_one(session, transport, delivery, clock, mail_from, domain, context_for, report)
                if on_progress:
                    on_progress(1)
            if limit is not None and report.claimed >= limit:
                break
    return report


def _load(session: Session, ids: Sequence[int]) -> list[Delivery]:
    rows = session.scalars(
        select(Delivery)
        .where(Delivery.id.in_(ids))
        .options(joinedload(Delivery.participant).joinedload(Participant.campaign))
        .order_by(Delivery.due_at, Delivery.id)
    ).all()
    return list(rows)


def _release(session: Session, ids: Sequence[int]) -> None:
    if ids:
        session.execute(
            update(Delivery)
            .where(Delivery.id.in_(ids), Delivery.status == "sending")
            .values(status="pending", claimed_by=None, claimed_until=None)
            .execution_options(synchronize_session=False)
        )
        session.commit()


def _send_one(session, transport, delivery, clock, mail_from, domain, context_for, report) -> None:  # noqa: ANN001
    participant = delivery.participant
    now = clock()
    if participant.email is None or participant.status in ("unsubscribed", "bounced", "erased"):
        delivery.status = "cancelled"
        delivery.last_error = f"participant is {participant.status}"
        delivery.claimed_by = delivery.claimed_until = None
        session.commit()
        report.cancelled += 1
        return
    try:
        context = context_for(delivery, now)
        rendered = render_email(delivery.kind, context)
        message_id = delivery.message_id or message_id_for(delivery, domain)
        envelope = Envelope(
            to_addr=participant.email,
            to_name=participant.name,
            message_id=message_id,
            extra_headers=context.get("headers", {}),
        )
        data = build_message(rendered, envelope, mail_from, now)
    except Exception as exc:  # a template or data bug must not block the outbox
        log.exception("rendering delivery %s failed", delivery.id)
        delivery.status = "failed"
        delivery.last_error = f"render error: {exc}"[:2000]
        delivery.claimed_by = delivery.claimed_until = None
        session.commit()
        report.failed += 1
        report.errors.append(f"delivery {delivery.id}: render error")
        return
    delivery.message_id = message_id
    try:
        transport.send(_envelope_sender(mail_from), participant.email, data)
    except SendError as exc:
        if exc.permanent:
            mark_failed(session, delivery, now, str(exc))
            report.failed += 1
        else:
            mark_deferred(session, delivery, now, str(exc))
            report.deferred += 1
        report.errors.append(f"delivery {delivery.id}: {exc}")
        session.commit()
        return
    mark_sent(session, delivery, clock())
    session.commit()
    report.sent += 1


def _envelope_sender(mail_from: str) -> str:
    from email.utils import parseaddr

    return parseaddr(mail_from)[1]
